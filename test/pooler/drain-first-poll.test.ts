/**
 * verify-drain with pgbouncer-urls sees a drain at the first poll after it
 * happened, held deterministically: the phase's clock (its sleep between polls)
 * lets the second poll start only after the old login's last client has ended
 * and PgBouncer's own console no longer lists it. A verify-drain that judged a
 * poll by an earlier poll's pooler reading, or wanted two drained polls in a
 * row, would stop at poll 3 or later. (rotation-under-load.test.ts shows the
 * same under live load, statistically; this file is the exact bound.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { phase, recorder, servers } from '../harness/helpers.js'
import { openedFamily } from '../harness/roles.js'
import { pgbouncerMissing, poolerPairs, startPgBouncer, type PgBouncer } from '../harness/pgbouncer.js'
import { systemClock, type Clock } from '../../src/domain/clock.js'

const missing = pgbouncerMissing()
if (missing) {
  console.log(`[pooler] skipped: ${missing}`)
  it.skip(missing, () => {})
}

/**
 * The system clock, except that its first sleep (the wait after poll 1) first runs `meanwhile`;
 * only when that has finished does the sleep begin, so poll 2 starts after it.
 */
function holdingFirstSleep(meanwhile: () => Promise<void>): Clock & { sleeps: number } {
  const clock = {
    sleeps: 0,
    now: () => systemClock.now(),
    sleep: async (ms: number) => {
      if (++clock.sleeps === 1) await meanwhile()
      return systemClock.sleep(ms)
    },
  }
  return clock
}

// One suite per (server, PgBouncer) pair, side by side: each pair has its own PgBouncer and family.
describe.skipIf(Boolean(missing)).concurrent.each(poolerPairs(servers()))(
  'PostgreSQL $server.major behind $version',
  ({ server, bin }) => {
    describe.sequential('a drain is seen at the first poll after it', () => {
      let bouncer: PgBouncer
      beforeAll(async () => {
        bouncer = await startPgBouncer(server, { bin })
      })
      afterAll(async () => {
        await bouncer?.stop()
      })

      it('the old login leaves the pooler between poll 1 and poll 2: drained at poll 2', async () => {
        const f = await openedFamily(server, 'first')
        // The application, through PgBouncer: the old deployment's client, and the new one's.
        const old = await bouncer.connect(f.old.user, f.old.password, 'old-deploy')
        const fresh = await bouncer.connect(f.next.user, f.next.password, 'new-deploy')
        try {
          await old.query('SELECT 1')
          await fresh.query('SELECT 1')
          /** The old login's clients as PgBouncer itself lists them (SHOW CLIENTS, simple query protocol). */
          const oldClients = async () =>
            (await bouncer.console('SHOW CLIENTS')).filter((c) => c.user === f.old.user).length
          expect(await oldClients()).toBe(1)

          let gone = false
          const clock = holdingFirstSleep(async () => {
            await old.end()
            // Until PgBouncer no longer lists the old login's client: from here on every read of
            // its console shows the drain.
            for (let i = 0; (await oldClients()) > 0; i++) {
              if (i >= 200) throw new Error(`PgBouncer still lists a client of ${f.old.user} after 10 s`)
              await systemClock.sleep(50)
            }
            gone = true
          })
          const polls: string[] = []
          const reporter = { ...recorder(), progress: (line: string) => polls.push(line) }
          const d = await phase(
            server,
            {
              phase: 'verify-drain',
              role: f.role,
              'pgbouncer-urls': bouncer.statsUrl,
              'min-new-connections': '1',
              interval: '100ms',
              timeout: '20s',
            },
            { reporter, clock },
          )
          expect(gone).toBe(true)
          expect(d.outputs, d.failure).toMatchObject({ drained: true, remainingConnections: 0, state: 'open' })
          // Poll 1 saw the old client; poll 2, the first that began after it was gone, saw the drain.
          expect(polls, polls.join('\n')).toHaveLength(2)
          expect(polls[0]).toMatch(new RegExp(`^poll 1 .*"${f.old.user}" 1 client\\(s\\)`))
          expect(polls[1]).toMatch(new RegExp(`^poll 2 .*"${f.old.user}" 0 client\\(s\\)`))
          expect(d.notes.join(' ')).toMatch(/Drained after \S+ \(2 polls\)\./)
          expect(clock.sleeps).toBe(1)
        } finally {
          await old.end().catch(() => {})
          await fresh.end().catch(() => {})
        }
      })
    })
  },
)
