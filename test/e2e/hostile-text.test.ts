import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { runAction } from '../../scripts/lib/run-action.mjs'
import { familyName, servers, withAdmin } from '../harness/helpers.js'
import { outsideCodeSpans, runnerLines, unescaped } from '../harness/markdown.js'

/** Lines the runner would execute as commands that the action did not issue itself. */
function foreignCommands(stdout: string): string[] {
  return runnerLines(stdout).filter(
    (l) => /^\s*(::|##\[)/.test(l) && !/^::(add-mask|warning|notice|error|debug)::/.test(l),
  )
}

describe.each(servers())(
  'PostgreSQL $major: server text is data in the log and the job summary (dist/index.js)',
  (server) => {
    it('a database named with a line break and ::warning, and a Markdown application_name, run no command and render no link, image or tag', async () => {
      const role = familyName('esc')
      const db = `hj${randomBytes(3).toString('hex')}\n::warning title=x::pwned`
      const app = '[x](https://evil.example/p) ![i](https://e.ex/i) <img src=x>'
      await withAdmin(server, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(db)}`))
      const base = { 'admin-url': server.url, role }
      const setup = await runAction({ ...base, phase: 'setup' })
      expect(setup.code, setup.stdout).toBe(0)
      await runAction({ ...base, phase: 'open' })
      const session = new pg.Client({
        host: server.host,
        port: server.port,
        user: setup.outputs.username,
        password: setup.outputs.password,
        database: db,
        application_name: app,
      })
      await session.connect()
      try {
        const drain = await runAction({ ...base, phase: 'verify-drain', timeout: '500ms', interval: '100ms' })
        expect(drain.code).toBe(1)
        const status = await runAction({ ...base, phase: 'status' })
        expect(status.code, status.stdout).toBe(0)
        for (const r of [drain, status]) {
          expect.soft(foreignCommands(r.stdout)).toEqual([])
          expect(runnerLines(r.stdout).some((l) => l.trimStart().startsWith('::warning title=x'))).toBe(false)
          const markup = outsideCodeSpans(r.summary)
          expect.soft(unescaped(markup, '[]<>!')).toEqual([])
          expect.soft(markup).not.toMatch(/(?<!\\):\/\//)
        }
        // Shown, not dropped: the name and the application are in the log and the summary, escaped.
        expect(drain.stdout).toContain('::warning title=x::pwned')
        expect(status.summary).toContain('evil.example')
        expect(status.summary).toContain('pwned')
      } finally {
        await session.end()
        await withAdmin(server, (c) => c.query(`DROP DATABASE ${pg.escapeIdentifier(db)} WITH (FORCE)`))
      }
    })
  },
)
