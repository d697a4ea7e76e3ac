import { describe, expect, it } from 'vitest'
import { familyName, loginAs, loginError, phase, servers, snapshotRoles, withAdmin } from '../harness/helpers.js'
import { family } from '../harness/roles.js'

describe.each(servers())('PostgreSQL $major: open', (server) => {
  it('open before setup fails, says to run setup, and changes nothing', async () => {
    const role = familyName()
    await expect(phase(server, { phase: 'open', role })).rejects.toThrow(
      /does not exist.*not set up.*Run the setup phase first/,
    )
    expect(await snapshotRoles(server, family(role))).toEqual({ roles: [], members: [] })
  })

  it('the new login runs as the group role and its password works; the active login keeps working', async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    const o = await phase(server, { phase: 'open', role })
    expect(o.outputs.username).toBe(`${role}_b`)
    expect(o.outputs.previousUsername).toBe(`${role}_a`)
    expect(o.outputs.databaseUrl).toContain(`${role}_b:${o.outputs.password}@`)
    expect(o.log.secrets).toEqual(expect.arrayContaining([o.outputs.password, o.outputs.databaseUrl]))
    expect(o.log.lines.join('\n')).not.toContain(o.outputs.password!)
    const c = await loginAs(server, `${role}_b`, o.outputs.password!)
    expect((await c.query('SELECT current_user')).rows[0].current_user).toBe(role)
    await c.end()
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
  })

  it("open returns only once its login check's session is gone: the incoming login has no session, so an abort right after it is not refused", async () => {
    for (let i = 0; i < 5; i++) {
      const role = familyName()
      await phase(server, { phase: 'setup', role })
      const o = await phase(server, { phase: 'open', role })
      const n = await withAdmin(
        server,
        async (c) =>
          (await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [o.outputs.username]))
            .rows[0].n,
      )
      expect(n).toBe(0)
      await phase(server, { phase: 'abort', role })
    }
  })

  it('open refuses when a rotation opened by another workflow run is open, and changes nothing', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const first = await phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '1' } })
    const before = await snapshotRoles(server, family(role))
    await expect(phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '2' } })).rejects.toThrow(
      /already open.*Finish it with verify-drain and close/,
    )
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    expect(await loginError(server, `${role}_b`, first.outputs.password!)).toBeNull()
  })

  it('a re-run of open from the same workflow run issues a fresh password only with force: true when the incoming login has no sessions', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const first = await phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '77' } })
    const again = await phase(server, { phase: 'open', role, force: 'true' }, { env: { GITHUB_RUN_ID: '77' } })
    expect(again.outputs.rotationId).toBe(first.outputs.rotationId)
    expect(again.outputs.username).toBe(first.outputs.username)
    expect(again.outputs.password).not.toBe(first.outputs.password)
    expect(await loginError(server, `${role}_b`, first.outputs.password!)).toBe('28P01')
    expect(await loginError(server, `${role}_b`, again.outputs.password!)).toBeNull()
  })

  it('a re-run of open from the same workflow run refuses once the incoming login has sessions', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const first = await phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '78' } })
    const app = await loginAs(server, `${role}_b`, first.outputs.password!)
    try {
      await expect(phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '78' } })).rejects.toThrow(
        /already has 1 \(postgres: 1\) sessions/,
      )
      expect(await loginError(server, `${role}_b`, first.outputs.password!)).toBeNull()
    } finally {
      await app.end()
    }
  })

  it('when the new login does not run as the group role, open undoes itself and fails', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    // A per-database setting overrides the role-wide SET role default.
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${role}_b IN DATABASE postgres SET role = ${role}_b`))
    const before = (await snapshotRoles(server, family(role))) as { roles: { rolname: string; rolpassword: string }[] }
    await expect(phase(server, { phase: 'open', role })).rejects.toThrow(
      /current_user is "[^"]+_b", not "[^"]+".*undone/,
    )
    const after = (await snapshotRoles(server, family(role))) as typeof before
    const withoutPassword = (s: typeof before, name: string) =>
      s.roles.map((r) => (r.rolname === name ? { ...r, rolpassword: null } : r))
    expect(withoutPassword(after, `${role}_b`)).toEqual(withoutPassword(before, `${role}_b`))
  })

  it('a current_user holding a line break is escaped in the message, not written as a new line', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const hostile = `${role}_x\n##[error]forged`
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE "${hostile}" NOLOGIN`)
      await c.query(`GRANT "${hostile}" TO ${role}_b`)
      await c.query(`ALTER ROLE ${role}_b IN DATABASE postgres SET role = "${hostile}"`)
    })
    try {
      const e = await phase(server, { phase: 'open', role }).then(
        () => null,
        (err: Error) => err,
      )
      expect(e?.message).toContain(`current_user is "${role}_x\\n\\x23#[error]forged"`)
      expect(e?.message).not.toContain('\n##[')
    } finally {
      await withAdmin(server, async (c) => {
        await c.query(`ALTER ROLE ${role}_b IN DATABASE postgres RESET role`)
        await c.query(`DROP ROLE "${hostile}"`)
      })
    }
  })

  it('two opens started at the same moment: one opens, the other fails cleanly', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const results = await Promise.allSettled([
      phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '501' } }),
      phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '502' } }),
    ])
    const ok = results.filter((r) => r.status === 'fulfilled')
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(ok).toHaveLength(1)
    expect(failed).toHaveLength(1)
    expect(String(failed[0].reason)).toMatch(/already open/)
    const winner = (ok[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof phase>>>).value
    expect(await loginError(server, `${role}_b`, winner.outputs.password!)).toBeNull()
  })

  it('two opens through different databases at the same moment: still only one opens', async () => {
    const role = familyName()
    const db = `db_${role}`
    await phase(server, { phase: 'setup', role })
    await withAdmin(server, (c) => c.query(`CREATE DATABASE ${db}`))
    const otherUrl = server.url.replace(/\/postgres$/, `/${db}`)
    const results = await Promise.allSettled([
      phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '601' } }),
      phase(server, { phase: 'open', role, 'admin-url': otherUrl }, { env: { GITHUB_RUN_ID: '602' } }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const state = await withAdmin(server, async (c) =>
      JSON.parse(
        (await c.query(`SELECT shobj_description(oid, 'pg_authid') AS s FROM pg_roles WHERE rolname = $1`, [role]))
          .rows[0].s,
      ),
    )
    expect(state.rotation.incoming).toBe(`${role}_b`)
  })
})
