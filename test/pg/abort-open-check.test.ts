/**
 * abort right after open (or at the same moment, as test/pg/invariants' invariant 3 runs them)
 * may find open's own login check still connected as the incoming login: the check's session
 * ("pg-credential-rotation/open-check") ends within moments, and open waits for it, but a
 * parallel abort can read pg_stat_activity before it is gone, and refused ("a deploy already
 * uses the new credentials"). abort now waits for such a session (at most 2 s) before judging;
 * one that stays is judged like any other session, so a deploy that happens to use that
 * application_name still stops the abort.
 *
 * The window is held with the phase's clock: the stand-in check session ends in abort's first
 * wait, so abort has seen it before it goes.
 */
import { describe, expect, it } from 'vitest'
import { phase, servers, withAdmin } from '../harness/helpers.js'
import { connectTo } from '../harness/clients.js'
import { openedFamily } from '../harness/roles.js'
import { systemClock, type Clock } from '../../src/domain/clock.js'

const CHECK_APP = 'pg-credential-rotation/open-check'

describe.each(servers())("PostgreSQL $major: abort and open's login check", (server) => {
  const urlAs = (user: string, password: string) => {
    const u = new URL(server.url)
    u.username = user
    u.password = password
    return u.toString()
  }
  const sessionsOf = (login: string) =>
    withAdmin(
      server,
      async (c) =>
        (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [login])).rows[0]
          .n as number,
    )

  it('a login-check session that ends while abort looks: abort waits for it, then aborts', async () => {
    const f = await openedFamily(server, 'check')
    // A stand-in for open's login check, still connected as the incoming login.
    const check = await connectTo(urlAs(f.next.user, f.next.password), CHECK_APP)
    check.on('error', () => {})
    let sleeps = 0
    const clock: Clock = {
      now: () => systemClock.now(),
      sleep: async (ms) => {
        if (++sleeps === 1) {
          await check.end()
          for (let i = 0; i < 200 && (await sessionsOf(f.next.user)) > 0; i++) await systemClock.sleep(10)
        }
        return systemClock.sleep(ms)
      },
    }
    const a = await phase(server, { phase: 'abort', role: f.role }, { clock })
    expect(a.outputs).toMatchObject({ state: 'idle', username: f.old.user })
    expect(sleeps).toBeGreaterThan(0)
  })

  it('a session named like the login check that stays: abort still refuses (after at most 2 s), naming it', async () => {
    const f = await openedFamily(server, 'check')
    const stays = await connectTo(urlAs(f.next.user, f.next.password), CHECK_APP)
    stays.on('error', () => {})
    try {
      const err = await phase(server, { phase: 'abort', role: f.role }).then(
        () => null,
        (e: Error) => e.message,
      )
      expect(err).toMatch(
        new RegExp(`The incoming login "${f.next.user}" has 1 session\\(s\\): .*application '${CHECK_APP}'`),
      )
      expect(err).toMatch(/A deploy already uses the new credentials/)
    } finally {
      await stays.end().catch(() => {})
    }
  })
})
