/**
 * Round trips: over a network every query is a wait for the server (10-50 ms from a hosted
 * runner to a cloud database), so a phase sends its plan's statements as one query string.
 * A statement that fails is still named: the phase rolls back to a savepoint and runs the
 * statements again one at a time. Counted on the wire, by a proxy in front of the server.
 */
import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { startCountingProxy } from '../harness/counting-proxy.js'
import {
  describeEachServer,
  familyName,
  loginError,
  phase,
  recorder,
  snapshotRoles,
  withAdmin,
} from '../harness/helpers.js'
import { serverLog, type TestServer } from '../harness/servers.js'

/** The plan's statements: what renderStep produces (never the lock, the reads or COMMIT). */
const PLAN_STATEMENT =
  /^(CREATE ROLE|GRANT |COMMENT ON ROLE|ALTER ROLE "[^"]+"( IN DATABASE "[^"]+")? (SET|RESET|CONNECTION|WITH (NO)?LOGIN))/m

const family = (role: string) => [role, `${role}_a`, `${role}_b`]

describeEachServer('the plan in one round trip', (server) => {
  it("setup sends its plan's statements in one query string and the password alone; a drained verify-drain reads the family once", async () => {
    const proxy = await startCountingProxy({ host: server.host, port: server.port })
    try {
      const via: TestServer = {
        ...server,
        port: proxy.port,
        url: server.url.replace(`:${server.port}/`, `:${proxy.port}/`),
      }
      const role = familyName('rt')
      // setup: 8 statements without a secret in one query string, then the password on its own
      // (another statement's failure must not put it in the server log). open: the state
      // comment, then the password.
      for (const [p, sizes] of [
        ['setup', [8, 1]],
        ['open', [1, 1]],
      ] as const) {
        proxy.reset()
        await phase(via, { phase: p, role })
        const carrying = proxy.queries.filter((q) => PLAN_STATEMENT.test(q))
        const statements = carrying.map((q) => q.split(';\n').filter((s) => PLAN_STATEMENT.test(s)))
        expect({ phase: p, sizes: statements.map((x) => x.length) }).toEqual({ phase: p, sizes })
        const withPassword = carrying.filter((q) => /PASSWORD '/.test(q))
        expect(withPassword).toHaveLength(1)
        expect(withPassword[0]).toMatch(/^ALTER ROLE "[^"]+" WITH LOGIN PASSWORD '[^']+'$/)
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
    const logBefore = (await serverLog(server)).length
    // With password-encryption: server the plaintext would be in the statement: it must not
    // reach the server log with the statement that failed (log_min_error_statement).
    const log = recorder()
    await expect(
      phase(server, { 'admin-url': url, phase: 'open', role, 'password-encryption': 'server' }, { reporter: log }),
    ).rejects.toThrow(
      new RegExp(
        `while running: ALTER ROLE "${role}_b" SET "log_min_duration_statement" TO '1s'\\).*Nothing was changed`,
      ),
    )
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    const logged = (await serverLog(server)).slice(logBefore)
    expect(logged).toMatch(/log_min_duration_statement/)
    expect(log.secrets.length).toBeGreaterThan(0)
    for (const secret of log.secrets) expect(logged).not.toContain(secret)
    expect(logged).not.toMatch(/PASSWORD '/)
    expect(await loginError(server, `${role}_b`, 'x'.repeat(16))).not.toBeNull()
  })
})
