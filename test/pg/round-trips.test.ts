/**
 * Round trips: over a network every query is a wait for the server (10-50 ms from a hosted
 * runner to a cloud database), so a phase sends its plan's statements as one query string.
 * A statement that fails is still named: the phase rolls back to a savepoint and runs the
 * statements again one at a time. Counted on the wire, by a proxy in front of the server.
 */
import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { startCountingProxy } from '../harness/counting-proxy.js'
import { describeEachServer, familyName, loginError, phase, snapshotRoles, withAdmin } from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

/** The plan's statements: what renderStep produces (never the lock, the reads or COMMIT). */
const PLAN_STATEMENT =
  /^(CREATE ROLE|GRANT |COMMENT ON ROLE|ALTER ROLE "[^"]+"( IN DATABASE "[^"]+")? (SET|RESET|CONNECTION|WITH (NO)?LOGIN))/m

const family = (role: string) => [role, `${role}_a`, `${role}_b`]

describeEachServer('the plan in one round trip', (server) => {
  it("setup and open send their plan's statements as one query string; a drained verify-drain reads the family once", async () => {
    const proxy = await startCountingProxy({ host: server.host, port: server.port })
    try {
      const via: TestServer = {
        ...server,
        port: proxy.port,
        url: server.url.replace(`:${server.port}/`, `:${proxy.port}/`),
      }
      const role = familyName('rt')
      for (const [p, statements] of [
        ['setup', 9],
        ['open', 2],
      ] as const) {
        proxy.reset()
        await phase(via, { phase: p, role })
        const carrying = proxy.queries.filter((q) => PLAN_STATEMENT.test(q))
        expect({ phase: p, queries: carrying.length }).toEqual({ phase: p, queries: 1 })
        expect(carrying[0].split(';\n').filter((s) => PLAN_STATEMENT.test(s))).toHaveLength(statements)
      }
      // verify-drain with nothing left to drain: its first poll is the read it began with, and
      // the result shows what that poll saw: the session's set-up and one read of the family.
      proxy.reset()
      const v = await phase(via, { phase: 'verify-drain', role })
      expect(v.outputs.drained).toBe(true)
      expect(v.log.lines.join('\n')).toMatch(/poll 1 at/)
      expect(proxy.queries.filter((q) => /pg_stat_activity/.test(q))).toEqual([])
      expect(proxy.roundTrips).toBe(2)
    } finally {
      await proxy.close()
    }
  })

  it('a statement that fails in the middle of the plan is named, and nothing of the plan stays', async () => {
    const role = familyName('rt')
    const adminName = `rotator_${randomBytes(3).toString('hex')}`
    const adminPassword = randomBytes(12).toString('hex')
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${adminName} LOGIN CREATEROLE PASSWORD '${adminPassword}'`)
    })
    const url = `postgresql://${adminName}:${adminPassword}@${server.host}:${server.port}/postgres`
    await phase(server, { 'admin-url': url, phase: 'setup', role })
    // A superuser-only setting on the active login: open copies settings first, then enables the
    // incoming login and writes the state; this admin may not copy it.
    await withAdmin(server, async (c) => {
      await c.query(`ALTER ROLE ${role}_a SET log_min_duration_statement = '1s'`)
      await c.query(`ALTER ROLE ${role}_a SET work_mem = '5MB'`)
    })
    const before = await snapshotRoles(server, family(role))
    await expect(phase(server, { 'admin-url': url, phase: 'open', role })).rejects.toThrow(
      new RegExp(
        `while running: ALTER ROLE "${role}_b" SET "log_min_duration_statement" TO '1s'\\).*Nothing was changed`,
      ),
    )
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    expect(await loginError(server, `${role}_b`, 'x'.repeat(16))).not.toBeNull()
  })
})
