/**
 * Zero downtime behind PgBouncer (transaction pooling): the stand-in
 * application (50 connections to PgBouncer, recycled every 3 s, a query and a
 * write per worker every 40 ms) rotates its credentials twice while the
 * action watches PgBouncer's console through pgbouncer-urls. Not one query or
 * connection attempt may fail; each verify-drain must finish within about one
 * interval of the old deployment's last disconnect, although PgBouncer keeps
 * the old login's idle server connections; close must leave no server
 * session of the old login.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type App } from '../load/app.mjs'
import { familyName, phase, servers, withAdmin } from '../harness/helpers.js'
import { pgbouncerMissing, poolerPairs, startPgBouncer, type PgBouncer } from '../harness/pgbouncer.js'
import { grantCreateOnPostgres } from '../harness/roles.js'

const missing = pgbouncerMissing()
if (missing) {
  console.log(`[pooler] skipped: ${missing}`)
  it.skip(missing, () => {})
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ROTATIONS = 2
const INTERVAL_MS = 200

// One suite per (server, PgBouncer) pair, side by side: each pair has its own PgBouncer, family and application.
describe.skipIf(Boolean(missing)).concurrent.each(poolerPairs(servers()))(
  'PostgreSQL $server.major behind $version',
  ({ server, bin }) => {
    describe.sequential('rotations under live load', () => {
      let bouncer: PgBouncer
      let app: App | null = null
      beforeAll(async () => {
        bouncer = await startPgBouncer(server, { bin })
      })
      afterAll(async () => {
        await app?.stop().catch(() => {})
        await bouncer?.stop()
      })

      it('zero failed queries and connects; drained within about one interval of the last disconnect; no old server session after close', async () => {
        const role = familyName('load')
        const schema = `shop_${role}`
        const urls = bouncer.statsUrl
        const setup = await phase(server, { phase: 'setup', role })
        await grantCreateOnPostgres(server, role)
        const secrets = [server.password, setup.outputs.password!]
        app = await startApp({
          host: bouncer.host,
          port: bouncer.port,
          credentials: { user: setup.outputs.username!, password: setup.outputs.password! },
          group: role,
          schema,
          workers: 50,
          tickMs: 40,
          maxLifetimeSeconds: 3,
          secrets,
        })
        await app.warmedUp()
        const lines: string[] = []
        const latencies: number[] = []
        let current = setup.outputs.username!
        for (let n = 1; n <= ROTATIONS; n++) {
          const open = await phase(server, { phase: 'open', role })
          secrets.push(open.outputs.password!)
          await sleep(500)
          const deployed = await app.deploy({ user: open.outputs.username!, password: open.outputs.password! })
          const drain = await phase(server, {
            phase: 'verify-drain',
            role,
            'pgbouncer-urls': urls,
            interval: `${INTERVAL_MS}ms`,
            timeout: '30s',
            'min-new-connections': '10',
          })
          const drainedAt = Date.now()
          expect(drain.outputs, drain.failure).toMatchObject({ drained: true, remainingConnections: 0 })
          await deployed.retired
          const lastDisconnect = app.stats().deploys.at(-1)!.oldEndedAt!
          latencies.push(drainedAt - lastDisconnect)
          const pooledBefore = await withAdmin(
            server,
            async (c) =>
              (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [current])).rows[0]
                .n,
          )
          const close = await phase(server, { phase: 'close', role, 'pgbouncer-urls': urls })
          expect(close.outputs).toMatchObject({ state: 'idle', remainingConnections: 0 })
          const left = await withAdmin(
            server,
            async (c) =>
              (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [current])).rows[0]
                .n,
          )
          expect(left).toBe(0)
          lines.push(
            `  rotation ${n}: drained ${drainedAt - lastDisconnect} ms after the old deployment's last disconnect (${pooledBefore} idle pooled server connections of ${current} left; close ended them: ${left} remain)`,
          )
          current = open.outputs.username!
          await sleep(1000)
        }
        await app.stop()
        const stats = app.stats()
        app = null
        console.log(
          [
            `[pooler load] PostgreSQL ${server.major} via ${bouncer.version}, ${ROTATIONS} rotations, ${stats.perSecond.length - 1} s`,
            ...lines,
            `  queries ok ${stats.ok}, failed ${stats.failed}; connects failed ${stats.connectFailed}; idle errors ${stats.idleErrors}; errors: ${stats.errors.join(' | ') || 'none'}`,
          ].join('\n'),
        )
        expect(stats.errors).toEqual([])
        expect(stats.failed).toBe(0)
        expect(stats.connectFailed).toBe(0)
        expect(stats.idleErrors).toBe(0)
        expect(Object.keys(stats.okBy).sort()).toEqual([`${role}_a`, `${role}_b`])
        // Within about one interval of the last disconnect (plus scheduling slack on a busy machine).
        for (const ms of latencies) expect(ms).toBeLessThan(INTERVAL_MS * 2 + 1000)
      }, 120_000)
    })
  },
)
