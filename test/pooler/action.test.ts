/**
 * dist/index.js as the runner runs it, with a real PgBouncer: the console URIs
 * and their passwords are masked before anything runs, and verify-drain
 * reports through the outputs and the job summary. (Needs `npm run build`.)
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction } from '../../scripts/lib/run-action.mjs'
import { familyName, servers } from '../harness/helpers.js'
import { pgbouncerMissing, poolerPairs, startPgBouncer, type PgBouncer } from '../harness/pgbouncer.js'

const missing = pgbouncerMissing()
if (missing) {
  console.log(`[pooler] skipped: ${missing}`)
  it.skip(missing, () => {})
}

// The newest server, behind each PgBouncer installed.
describe.skipIf(Boolean(missing)).each(poolerPairs(servers()).filter((p) => p.server === servers().at(-1)))(
  'dist/index.js with pgbouncer-urls (PostgreSQL $server.major, $version)',
  ({ server, bin, version }) => {
    let bouncer: PgBouncer
    beforeAll(async () => {
      bouncer = await startPgBouncer(server, { bin })
    })
    afterAll(async () => {
      await bouncer?.stop()
    })

    it('masks every console URI and password, drains through the pooler, and shows the pooler in the summary', async () => {
      const role = familyName('e2e')
      const base = { 'admin-url': server.url, role }
      const wrong = bouncer.statsUrl.replace(bouncer.statsPassword, 'wrong-console-pw')
      const setup = await runAction({ ...base, phase: 'setup' })
      const open = await runAction({ ...base, phase: 'open' })
      expect(setup.code).toBe(0)
      expect(open.code).toBe(0)
      const pool = new pg.Pool({
        host: bouncer.host,
        port: bouncer.port,
        user: setup.outputs.username,
        password: setup.outputs.password,
        database: 'postgres',
        max: 3,
      })
      await Promise.all([0, 1, 2].map(() => pool.query('SELECT pg_sleep(0.1)')))
      await pool.end()

      const status = await runAction({ ...base, phase: 'status', 'pgbouncer-urls': `${bouncer.statsUrl}, ${wrong}` })
      expect(status.code, status.stdout).toBe(0)
      for (const secret of [bouncer.statsUrl, bouncer.statsPassword, wrong, 'wrong-console-pw'])
        expect(status.masks).toContain(secret)
      const shown = (status.stdout + status.stderr).replace(/^::add-mask::.*$/gm, '')
      expect(shown).not.toContain(bouncer.statsPassword)
      expect(shown).toMatch(
        new RegExp(
          `::warning::pgbouncer-urls: pooler 127\\.0\\.0\\.1:${bouncer.port} \\(entry 2\\) cannot be read: password authentication failed`,
        ),
      )
      expect(JSON.parse(status.outputs.status).poolers[0]).toMatchObject({
        version,
        poolModes: ['transaction'],
      })

      const drain = await runAction({
        ...base,
        phase: 'verify-drain',
        'pgbouncer-urls': bouncer.statsUrl,
        interval: '200ms',
        timeout: '10s',
      })
      expect(drain.code, drain.stdout).toBe(0)
      expect(drain.outputs).toMatchObject({ drained: 'true', 'remaining-connections': '0' })
      expect(drain.summary).toMatch(
        new RegExp(
          `\\| 127\\.0\\.0\\.1:${bouncer.port} \\| ${version.replace(/\./g, '\\.')} \\| ${setup.outputs.username} \\| 0 \\| 3 \\(0\\) \\|`,
        ),
      )
      const close = await runAction({ ...base, phase: 'close', 'pgbouncer-urls': bouncer.statsUrl })
      expect(close.code, close.stdout).toBe(0)
      expect(close.outputs['remaining-connections']).toBe('0')
    })
  },
)
