/**
 * Zero downtime, proved under load: an application with a pool of 50
 * connections, recycled every 3 s, runs a query and a write per worker every
 * 40 ms while the action (dist/index.js, as the runner runs it) rotates its
 * credentials three times in a row: open -> deploy swap -> verify-drain -> close.
 * Not one query may fail, not one connection attempt may fail, and everything
 * the application created (with either login) is owned by the group role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { runAction, type ActionRun } from '../../scripts/lib/run-action.mjs'
import { startApp, type App } from './app.mjs'
import { describeRun, loadMajors, sleep, withClient } from './support.js'

const MAJORS = loadMajors()
const ROTATIONS = 3
const GROUP = 'app'
const SCHEMA = 'shop'

if (MAJORS.length === 0) it.skip('PostgreSQL 14 and 18 binaries are not installed (or excluded by PG_MAJORS)', () => {})

// One suite per major, side by side (each has its own server), its tests in order.
describe.concurrent.each(MAJORS)('PostgreSQL %i', (major) => {
  describe.sequential('three rotations under live load', () => {
    let server: EmbeddedServer
    let app: App | null = null
    beforeAll(async () => {
      server = await startEmbedded(major, { max_connections: '300' })
    })
    afterAll(async () => {
      await app?.stop().catch(() => {})
      await server?.stop()
    })

    it('zero failed queries, zero failed connection attempts after each swap, every object owned by the group', async () => {
      const base = { 'admin-url': server.url, role: GROUP }
      const secrets: string[] = [server.password]
      const run = async (inputs: Record<string, string>): Promise<ActionRun> => {
        const r = await runAction({ ...base, ...inputs })
        secrets.push(...r.masks)
        expect(r.code, describeRun(r)).toBe(0)
        return r
      }

      const setup = await run({ phase: 'setup' })
      // The application creates its own schema: let the group create one in this database.
      await withClient(server.url, (c) => c.query(`GRANT CREATE ON DATABASE postgres TO ${GROUP}`))
      app = await startApp({
        port: server.port,
        credentials: { url: setup.outputs['database-url'] },
        group: GROUP,
        schema: SCHEMA,
        workers: 50,
        tickMs: 40,
        maxLifetimeSeconds: 3,
        secrets,
      })
      await sleep(2000)

      const timeline: string[] = []
      const t0 = Date.now()
      const mark = (what: string) => {
        const s = app!.stats()
        timeline.push(
          `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s  ${what.padEnd(64)} ok ${s.ok}, failed ${s.failed}, connect failures ${s.connectFailed}`,
        )
      }
      mark(`setup: ${setup.outputs.username} active, app on ${app.user} (${app.stats().pools.total} connections)`)
      const swaps: { at: number; user: string }[] = []
      let current = setup.outputs.username
      for (let n = 1; n <= ROTATIONS; n++) {
        const open = await run({ phase: 'open' })
        expect(open.outputs).toMatchObject({ 'previous-username': current, state: 'open' })
        const id = open.outputs['rotation-id']
        mark(`${n} open (${Math.round(open.ms)} ms): ${open.outputs.username} may log in`)
        await sleep(1000) // both logins work; the app still runs on the old one

        const deployed = await app.deploy({ url: open.outputs['database-url'] })
        swaps.push({ at: Date.now(), user: deployed.user })
        mark(`${n} deploy: traffic on ${deployed.user} (release ${deployed.version})`)

        const drain = await run({
          phase: 'verify-drain',
          'rotation-id': id,
          interval: '200ms',
          timeout: '30s',
          'min-new-connections': '10',
        })
        expect(drain.outputs).toMatchObject({ drained: 'true', 'remaining-connections': '0' })
        const polls = /Drained after [^(]*\((\d+) polls?\)/.exec(drain.summary)?.[1]
        mark(`${n} verify-drain (${Math.round(drain.ms)} ms): drained after ${polls} polls`)
        await deployed.retired

        const close = await run({ phase: 'close', 'rotation-id': id })
        expect(close.outputs).toMatchObject({
          username: open.outputs.username,
          'previous-username': current,
          state: 'idle',
          'remaining-connections': '0',
        })
        mark(`${n} close (${Math.round(close.ms)} ms): ${current} NOLOGIN`)
        current = open.outputs.username
        await sleep(1500) // the app keeps recycling connections on the new login
      }
      await app.stop()
      const stats = app.stats()
      app = null

      // Full seconds of load only: the first and last buckets are partial.
      const seconds = stats.perSecond.slice(1, -1)
      const okPerSecond = seconds.map((b) => b.ok)
      console.log(
        [
          `[load] PostgreSQL ${major}: ${ROTATIONS} rotations under load, ${stats.perSecond.length - 1} s`,
          ...timeline,
          `  queries ok ${stats.ok}, failed ${stats.failed}; connection attempts failed ${stats.connectFailed}; idle-connection errors ${stats.idleErrors}`,
          `  connections opened per login: ${JSON.stringify(stats.connects)}; queries per login: ${JSON.stringify(stats.okBy)}`,
          `  ok per second: min ${Math.min(...okPerSecond)}, max ${Math.max(...okPerSecond)}; errors: ${stats.errors.join(' | ') || 'none'}`,
        ].join('\n'),
      )

      expect(stats.errors).toEqual([])
      expect(stats.failed).toBe(0)
      expect(stats.idleErrors).toBe(0)
      for (const swap of swaps) expect(stats.connectFailures.filter((f) => f.at >= swap.at)).toEqual([])
      expect(stats.connectFailed).toBe(0)
      // No second without service.
      expect(Math.min(...okPerSecond)).toBeGreaterThan(0)
      // Traffic really moved: both logins served queries, and connections were recycled on each.
      expect(Object.keys(stats.okBy).sort()).toEqual([`${GROUP}_a`, `${GROUP}_b`])
      for (const login of [`${GROUP}_a`, `${GROUP}_b`]) expect(stats.connects[login]).toBeGreaterThan(50)

      await withClient(server.url, async (c) => {
        const objects = (
          await c.query(
            `SELECT 'schema' AS kind, nspname AS name, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1
           UNION ALL
           SELECT 'relation ' || relkind::text, relname, pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = $1::regnamespace
           UNION ALL
           SELECT 'function', proname, pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = $1::regnamespace
           UNION ALL
           SELECT 'type', typname, pg_get_userbyid(typowner) FROM pg_type WHERE typnamespace = $1::regnamespace
           ORDER BY 1, 2`,
            [SCHEMA],
          )
        ).rows as { kind: string; name: string; owner: string }[]
        // schema, events (+ its sequence and index), and per release (0 and one per deploy): table, its sequence, index, pkey, view, sequence, type, function.
        expect(objects.filter((o) => o.kind.startsWith('relation') && o.name.startsWith('release_')).length).toBe(
          (ROTATIONS + 1) * 6,
        )
        expect(objects.filter((o) => o.owner !== GROUP)).toEqual([])
        const writers = (await c.query(`SELECT login, count(*)::int AS n FROM ${SCHEMA}.events GROUP BY 1 ORDER BY 1`))
          .rows
        expect(writers.map((w) => w.login)).toEqual([`${GROUP}_a`, `${GROUP}_b`])
        const deployers = (
          await c.query(
            `SELECT deployed_by FROM ${SCHEMA}.release_0 UNION ALL SELECT deployed_by FROM ${SCHEMA}.release_${ROTATIONS}`,
          )
        ).rows
        expect(deployers.length).toBe(2)
        console.log(
          `  objects created by the application: ${objects.length}, all owned by ${GROUP}; events written per login: ${writers.map((w) => `${w.login}=${w.n}`).join(' ')}`,
        )
      })
    }, 120_000)
  })
})
