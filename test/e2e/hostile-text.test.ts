import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { runAction } from '../../scripts/lib/run-action.mjs'
import { familyName, servers, withAdmin } from '../harness/helpers.js'
import { outsideCodeSpans, runnerCommands, runnerLines, unescaped } from '../harness/markdown.js'

/**
 * Lines the runner would execute as commands (parsed as it parses them: `::` after
 * TrimStart, `##[` anywhere) other than the action's own ::add-mask::, ::warning::, ::notice::,
 * ::error:: and ::debug::, and those of its own that carry a `##[` somewhere.
 */
function foreignCommands(stdout: string): string[] {
  return runnerCommands(stdout).filter(
    (l) => !/^::(add-mask|warning|error|notice|debug)::/.test(l) || l.includes('##['),
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

    it("a login's own application_name setting and a session's application_name holding ##[stop-commands] and ##[error] yield no command anywhere in a line", async () => {
      const role = familyName('hash')
      const base = { 'admin-url': server.url, role }
      const setup = await runAction({ ...base, phase: 'setup' })
      expect(setup.code, setup.stdout).toBe(0)
      const old = { user: setup.outputs.username, password: setup.outputs.password }
      // The outgoing login sets its own default (any role may): open copies it to the incoming login and says so.
      const self = new pg.Client({ host: server.host, port: server.port, database: 'postgres', ...old })
      await self.connect()
      // (SET ROLE NONE first: the login's session runs as the group role.)
      await self.query(`SET ROLE NONE; ALTER ROLE CURRENT_USER SET application_name = 'x ##[stop-commands]hush'`)
      await self.end()
      const open = await runAction({ ...base, phase: 'open' })
      expect(open.code, open.stdout).toBe(0)
      const session = new pg.Client({
        host: server.host,
        port: server.port,
        database: 'postgres',
        ...old,
        application_name: '##[error]forged ::error::x',
      })
      await session.connect()
      try {
        const drain = await runAction({ ...base, phase: 'verify-drain', timeout: '300ms', interval: '100ms' })
        expect(drain.code).toBe(1)
        const status = await runAction({ ...base, phase: 'status' })
        expect(status.code, status.stdout).toBe(0)
        for (const r of [open, drain, status]) expect.soft(foreignCommands(r.stdout)).toEqual([])
        // Shown, not dropped.
        expect(open.stdout).toMatch(/Copied the configuration .*stop-commands\]hush/)
        expect(drain.stdout).toContain('#[error]forged')
        // The action's own commands after that line still reach the runner as commands.
        expect(runnerLines(open.stdout).filter((l) => l.startsWith('::add-mask::')).length).toBeGreaterThan(0)
      } finally {
        await session.end()
      }
    })
  },
)
