/**
 * Zero downtime behind PgBouncer (transaction pooling): the stand-in
 * application (50 connections to PgBouncer, recycled every 3 s, a query and a
 * write per worker every 40 ms) rotates its credentials twice while the
 * action watches PgBouncer's console through pgbouncer-urls. Not one query or
 * connection attempt may fail; each verify-drain must see the drain at its
 * first poll after the old deployment's last disconnect, although PgBouncer
 * keeps the old login's idle server connections; close must leave no server
 * session of the old login. (How long that takes in wall-clock time is a
 * benchmark figure, `npm run bench`, not asserted here: on a shared machine
 * the scheduler decides it.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type App } from '../load/app.mjs'
import { stopAndRequireNoFailure } from '../load/support.js'
import { familyName, phase, recorder, servers, withAdmin } from '../harness/helpers.js'
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
/**
 * Time PgBouncer may take to drop a client from SHOW CLIENTS after the client's
 * socket closed. A poll that starts later than this after the last disconnect
 * must see the drain.
 */
const POOLER_SETTLE_MS = INTERVAL_MS

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

      it('zero failed queries and connects; the first poll after the last disconnect sees the drain; no old server session after close', async () => {
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
        /** Per rotation, the polls that still saw the old login although they began after it was gone. */
        const latePolls: string[][] = []
        let current = setup.outputs.username!
        for (let n = 1; n <= ROTATIONS; n++) {
          const open = await phase(server, { phase: 'open', role })
          secrets.push(open.outputs.password!)
          await sleep(500)
          const deployed = await app.deploy({ user: open.outputs.username!, password: open.outputs.password! })
          // Each poll's line, with the time it was reported (the poll's read was done by then).
          const polls: { at: number; line: string }[] = []
          const reporter = { ...recorder(), progress: (line: string) => polls.push({ at: Date.now(), line }) }
          const drain = await phase(
            server,
            {
              phase: 'verify-drain',
              role,
              'pgbouncer-urls': urls,
              interval: `${INTERVAL_MS}ms`,
              timeout: '30s',
              'min-new-connections': '10',
            },
            { reporter },
          )
          const drainedAt = Date.now()
          expect(drain.outputs, drain.failure).toMatchObject({ drained: true, remainingConnections: 0 })
          await deployed.retired
          const lastDisconnect = app.stats().deploys.at(-1)!.oldEndedAt!
          // Every poll but the last saw something left. At most one of them (the one in flight when the
          // old deployment's last connection closed) may be reported after lastDisconnect + settle:
          // the next one began after that report, so it began after the old login was gone everywhere.
          const waiting = polls.slice(0, -1).filter((p) => p.at > lastDisconnect + POOLER_SETTLE_MS)
          latePolls.push(waiting.slice(1).map((p) => `${p.at - lastDisconnect} ms after: ${p.line}`))
          // And it stops at the first poll at which the pooler lists no client of the old login (the
          // application reaches the database only through it; the new login has its 10 sessions by then).
          const clientsOfOld = polls.map((p) => {
            const m = new RegExp(`"${current}" (\\d+) client\\(s\\)`).exec(p.line)
            expect(m, `poll line names the old login's pooler clients: ${p.line}`).not.toBeNull()
            return Number(m![1])
          })
          expect(clientsOfOld.indexOf(0), polls.map((p) => p.line).join('\n')).toBe(polls.length - 1)
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
            `  rotation ${n}: drained ${drainedAt - lastDisconnect} ms after the old deployment's last disconnect, at poll ${polls.length} (${pooledBefore} idle pooled server connections of ${current} left; close ended them: ${left} remain)`,
          )
          current = open.outputs.username!
          await sleep(1000)
        }
        const done = app
        app = null
        await stopAndRequireNoFailure(
          done,
          `[pooler load] PostgreSQL ${server.major} via ${bouncer.version}, ${ROTATIONS} rotations`,
          lines,
          [`${role}_a`, `${role}_b`],
        )
        // The first poll that began after the last disconnect saw the drain, in every rotation.
        expect(latePolls).toEqual(Array.from({ length: ROTATIONS }, () => []))
      }, 120_000)
    })
  },
)
