/**
 * The reproduction, under live load: a single login `app` whose
 * tables live in its own schema and whose queries are unqualified
 * (`SELECT count(*) FROM widgets`), found through `ALTER ROLE app SET
 * search_path`. It is adopted and rotated twice while a 20-connection pool
 * (test/load/app.mjs, connections recycled every 3 s) keeps querying; before
 * settings followed the rotation, most queries failed with "relation widgets
 * does not exist" once the application moved to the new login.
 */
import { expect, it } from 'vitest'
import { startApp } from '../load/app.mjs'
import { describeEachServer, familyName, loginAs, phase, withAdmin } from '../harness/helpers.js'
import { grantCreateOnPostgres } from '../harness/roles.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describeEachServer('adopting a login with settings, two rotations under load', (server) => {
  it('zero failed queries; every session of either login sees the settings the single login had', async () => {
    const role = familyName('shop')
    const password = 'legacy-password-1234'
    const schema = `ms_${role}`
    const other = `other_${role}`
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT 80`)
      await c.query(`CREATE DATABASE ${other}`)
      await c.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`)
      await c.query(`CREATE TABLE ${schema}.widgets (id int)`)
      await c.query(`ALTER TABLE ${schema}.widgets OWNER TO ${role}`)
      await c.query(`INSERT INTO ${schema}.widgets SELECT generate_series(1, 100)`)
      await c.query(`ALTER ROLE ${role} SET search_path = ${schema}, public`)
      await c.query(`ALTER ROLE ${role} SET statement_timeout = '5s'`)
      await c.query(`ALTER ROLE ${role} IN DATABASE ${other} SET work_mem = '8MB'`)
    })
    await grantCreateOnPostgres(server, role)
    const secrets = [password, server.password]
    const app = await startApp({
      port: server.port,
      credentials: { user: role, password },
      group: role,
      schema,
      workers: 20,
      tickMs: 40,
      maxLifetimeSeconds: 3,
      query: 'SELECT count(*) FROM widgets',
      secrets,
    })
    const checked: Record<string, unknown>[] = []
    try {
      await app.warmedUp()
      await phase(server, { phase: 'setup', role, adopt: 'true' })
      for (const n of [1, 2]) {
        const open = await phase(server, { phase: 'open', role })
        const login = open.outputs.username!
        secrets.push(open.outputs.password!)
        await sleep(500)
        const deployed = await app.deploy({ user: login, password: open.outputs.password! })
        const drain = await phase(server, {
          phase: 'verify-drain',
          role,
          'rotation-id': open.outputs.rotationId!,
          interval: '200ms',
          timeout: '30s',
        })
        expect(drain.outputs.drained).toBe(true)
        await deployed.retired
        await phase(server, { phase: 'close', role, 'rotation-id': open.outputs.rotationId! })
        checked.push(await sessionSees(login, open.outputs.password!))
        await sleep(n === 2 ? 3500 : 1500) // the pool recycles every connection on the new login
      }
    } finally {
      await app.stop()
    }
    const stats = app.stats()
    const queries = stats.ok + stats.failed
    console.log(
      `[settings-load] PostgreSQL ${server.major}: ${queries} queries, ${stats.failed} failed, connection attempts failed ${stats.connectFailed}; per login ${JSON.stringify(stats.okBy)}; sessions saw ${JSON.stringify(checked)}; errors: ${stats.errors.slice(0, 3).join(' | ') || 'none'}`,
    )
    for (const login of [`${role}_a`, `${role}_b`])
      expect(checked).toContainEqual({ login, sp: `${schema}, public`, st: '5s', cu: role, wm: '8MB' })
    expect(stats.errors).toEqual([])
    expect(stats.failed).toBe(0)
    expect(stats.connectFailed).toBe(0)
    expect(Object.keys(stats.okBy).sort()).toEqual([role, `${role}_a`, `${role}_b`])
    expect(stats.okBy[`${role}_b`]).toBeGreaterThan(100)
    expect(
      await withAdmin(
        server,
        async (c) =>
          (
            await c.query(`SELECT rolname, rolconnlimit FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1`, [
              [`${role}_a`, `${role}_b`],
            ])
          ).rows,
      ),
    ).toEqual([
      { rolname: `${role}_a`, rolconnlimit: 80 },
      { rolname: `${role}_b`, rolconnlimit: 80 },
    ])

    /** What a fresh session of the login sees, in both databases. */
    async function sessionSees(login: string, pw: string): Promise<Record<string, unknown>> {
      const main = await loginAs(server, login, pw)
      const inOther = await loginAs(server, login, pw, other)
      try {
        const m = (
          await main.query(
            `SELECT current_setting('search_path') AS sp, current_setting('statement_timeout') AS st, current_user AS cu`,
          )
        ).rows[0]
        const o = (await inOther.query(`SELECT current_setting('work_mem') AS wm`)).rows[0]
        return { login, ...m, ...o }
      } finally {
        await main.end()
        await inOther.end()
      }
    }
  }, 120_000)
})
