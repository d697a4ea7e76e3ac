import { beforeAll, describe, expect, it } from 'vitest'
import {
  clientAddrOf,
  familyName,
  literally,
  loginAs,
  loginError,
  ownerOf,
  phase,
  servers,
  snapshotRoles,
  withAdmin,
} from '../harness/helpers.js'
import { createRoleAdmin, family } from '../harness/roles.js'

describe.each(servers())('PostgreSQL $major: a CREATEROLE admin (not a superuser)', (server) => {
  let admin: { name: string; url: string }
  beforeAll(async () => {
    admin = await createRoleAdmin(server)
    await withAdmin(server, (c) => c.query(`GRANT pg_signal_backend TO ${admin.name}`))
  })

  it('runs setup, two full rotations (with terminate), abort and status', async () => {
    const role = familyName()
    const a = { 'admin-url': admin.url, role }
    const s = await phase(server, { ...a, phase: 'setup' })
    await withAdmin(server, (c) => c.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`))
    let current = { user: s.outputs.username!, password: s.outputs.password! }
    for (let round = 0; round < 2; round++) {
      const o = await phase(server, { ...a, phase: 'open' })
      const app = await loginAs(server, o.outputs.username!, o.outputs.password!)
      await app.query(`CREATE TABLE ${role}.t${round} (id int)`)
      await app.end()
      const straggler = await loginAs(server, current.user, current.password)
      straggler.on('error', () => {})
      const d = await phase(server, { ...a, phase: 'verify-drain', 'terminate-after': '200ms', timeout: '5s' })
      expect(d.outputs.drained).toBe(true)
      await straggler.end().catch(() => {})
      const c = await phase(server, { ...a, phase: 'close', 'rotation-id': o.outputs.rotationId! })
      expect(c.outputs.state).toBe('idle')
      expect(await loginError(server, current.user, current.password)).not.toBeNull()
      current = { user: o.outputs.username!, password: o.outputs.password! }
    }
    expect(await ownerOf(server, 't0')).toBe(role)
    expect(await ownerOf(server, 't1')).toBe(role)
    await phase(server, { ...a, phase: 'open' })
    const ab = await phase(server, { ...a, phase: 'abort', terminate: 'true' })
    expect(ab.outputs.state).toBe('idle')
    const st = await phase(server, { ...a, phase: 'status' })
    expect(st.status).toMatchObject({ state: 'idle', active: current.user, drift: [] })
  })

  it('without pg_read_all_stats, a session whose address the admin cannot see is "address hidden", never a local socket', async () => {
    const blind = await createRoleAdmin(server)
    const role = familyName()
    const a = { 'admin-url': blind.url, role }
    const s = await phase(server, { ...a, phase: 'setup' })
    await phase(server, { ...a, phase: 'open' })
    const old = s.outputs.username!
    // Two idle TCP sessions of the old login from one host: the admin sees neither address nor state.
    const apps = [await loginAs(server, old, s.outputs.password!), await loginAs(server, old, s.outputs.password!)]
    try {
      const d = await phase(server, { ...a, phase: 'verify-drain', timeout: '300ms' })
      expect(d.outputs.drained).toBe(false)
      const log = d.log.lines.join('\n')
      expect(log).toMatch(
        new RegExp(
          `remaining: 2 session\\(s\\) of "${old}" .* from address hidden \\(grant pg_read_all_stats to see it\\)`,
        ),
      )
      expect(log).not.toMatch(/local socket/)
      expect(d.failure).not.toMatch(/all from/)
      expect(d.sessions.filter((g) => g.login === old)).toEqual([
        expect.objectContaining({ clientAddr: null, addrHidden: true, count: 2 }),
      ])
      // With pg_read_all_stats the address is shown, and nothing is called hidden.
      await withAdmin(server, (c) => c.query(`GRANT pg_read_all_stats TO ${blind.name}`))
      const seen = await phase(server, { ...a, phase: 'verify-drain', timeout: '300ms' })
      // 127.0.0.1 on the embedded driver; a container sees its bridge's gateway.
      const from = literally(await clientAddrOf(apps[0]))
      expect(seen.log.lines.join('\n')).toMatch(new RegExp(`remaining: 2 session\\(s\\) of "${old}" .* from ${from}`))
      expect(seen.log.lines.join('\n')).not.toMatch(/hidden/)
    } finally {
      for (const c of apps) await c.end()
      await phase(server, { ...a, phase: 'abort' }).catch(() => {})
    }
  })

  it('without CREATEROLE the admin is told which privilege is missing and how to grant it, before anything changes', async () => {
    const weak = await createRoleAdmin(server)
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${weak.name} NOCREATEROLE`))
    const role = familyName()
    await expect(phase(server, { 'admin-url': weak.url, role, phase: 'setup' })).rejects.toThrow(
      new RegExp(`lacks CREATEROLE.*ALTER ROLE "${weak.name}" CREATEROLE`),
    )
    expect(await snapshotRoles(server, family(role))).toEqual({ roles: [], members: [] })
  })

  it('terminate-after without pg_signal_backend fails up front and names the grant', async () => {
    const noSignal = await createRoleAdmin(server)
    const role = familyName()
    await phase(server, { 'admin-url': noSignal.url, role, phase: 'setup' })
    await phase(server, { 'admin-url': noSignal.url, role, phase: 'open' })
    await expect(
      phase(server, { 'admin-url': noSignal.url, role, phase: 'verify-drain', 'terminate-after': '1s' }),
    ).rejects.toThrow(new RegExp(`lacks pg_signal_backend.*GRANT pg_signal_backend TO "${noSignal.name}"`))
  })

  it.runIf(server.major >= 16)(
    'on PostgreSQL 16+, terminate-after without ADMIN OPTION on the family fails up front (it ends sessions under the family lock), naming the grant',
    async () => {
      const role = familyName()
      const s = await phase(server, { role, phase: 'setup' }) // by the superuser
      await phase(server, { role, phase: 'open' })
      const other = await createRoleAdmin(server)
      await withAdmin(server, (c) => c.query(`GRANT pg_signal_backend TO ${other.name}`))
      // A session of the outgoing login, so that terminate-after would be due.
      const straggler = await loginAs(server, s.outputs.username!, s.outputs.password!)
      straggler.on('error', () => {})
      let due = false
      try {
        await expect(
          phase(
            server,
            { 'admin-url': other.url, role, phase: 'verify-drain', 'terminate-after': '100ms', timeout: '3s' },
            { beforeTerminating: async () => void (due = true) },
          ),
        ).rejects.toThrow(
          new RegExp(`lacks ADMIN OPTION on roles "${role}", "${role}_a" and "${role}_b".*which terminate-after needs`),
        )
        expect(due).toBe(false)
        expect((await straggler.query('SELECT 1 AS ok')).rows[0].ok).toBe(1)
      } finally {
        await straggler.end().catch(() => {})
      }
    },
  )

  it.runIf(server.major >= 16)(
    'on PostgreSQL 16+, a family it did not create needs ADMIN OPTION on all three roles: one error names them all and the least-privilege GRANT, nothing changes, and after the grant it works',
    async () => {
      const role = familyName()
      await phase(server, { role, phase: 'setup' }) // by the superuser
      const other = await createRoleAdmin(server)
      const before = await snapshotRoles(server, family(role))
      await expect(phase(server, { 'admin-url': other.url, role, phase: 'open' })).rejects.toThrow(
        new RegExp(
          `lacks ADMIN OPTION on roles "${role}", "${role}_a" and "${role}_b".*GRANT "${role}", "${role}_a", "${role}_b" TO "${other.name}" WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;`,
        ),
      )
      expect(await snapshotRoles(server, family(role))).toEqual(before)
      await withAdmin(server, (c) => c.query(`GRANT ${role} TO ${other.name} WITH ADMIN OPTION`))
      await expect(phase(server, { 'admin-url': other.url, role, phase: 'open' })).rejects.toThrow(
        new RegExp(
          `lacks ADMIN OPTION on roles "${role}_a" and "${role}_b".*GRANT "${role}_a", "${role}_b" TO "${other.name}" WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;`,
        ),
      )
      expect(await snapshotRoles(server, family(role))).toEqual(before)
      await withAdmin(server, (c) => c.query(`GRANT ${role}_a, ${role}_b TO ${other.name} WITH ADMIN OPTION`))
      const o = await phase(server, { 'admin-url': other.url, role, phase: 'open' })
      expect(await loginError(server, `${role}_b`, o.outputs.password!)).toBeNull()
    },
  )

  it('an admin missing every privilege gets all of them in one message, as one block of statements that, run as shown, makes the next run work', async () => {
    const role = familyName()
    await phase(server, { role, phase: 'setup' }) // by the superuser
    const o = await phase(server, { role, phase: 'open' })
    const weak = await createRoleAdmin(server)
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${weak.name} NOCREATEROLE`))
    const before = await snapshotRoles(server, family(role))
    const close = {
      'admin-url': weak.url,
      role,
      phase: 'close',
      terminate: 'true',
      'rotation-id': o.outputs.rotationId!,
    }
    const err = await phase(server, close).then(
      () => null,
      (e: Error) => e.message,
    )
    const admin = `"${weak.name}"`
    const grants =
      server.major >= 16
        ? `ALTER ROLE ${admin} CREATEROLE; GRANT "${role}", "${role}_a", "${role}_b" TO ${admin} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE; GRANT pg_signal_backend TO ${admin};`
        : `ALTER ROLE ${admin} CREATEROLE; GRANT pg_signal_backend TO ${admin};`
    expect(err).toContain(grants)
    expect(err).toMatch(
      server.major >= 16
        ? /lacks CREATEROLE and ADMIN OPTION on roles .* and pg_signal_backend/
        : /lacks CREATEROLE and pg_signal_backend/,
    )
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    // The block, run verbatim by the superuser, is all the admin needs.
    await withAdmin(server, (c) => c.query(grants))
    const c = await phase(server, close)
    expect(c.outputs.state).toBe('idle')
    if (server.major >= 16) {
      // Authority over the roles, not their privileges.
      const m = await withAdmin(server, (c) =>
        c.query(
          `SELECT bool_and(admin_option) AS a, bool_or(inherit_option) AS i, bool_or(set_option) AS s
             FROM pg_auth_members WHERE member = $1::regrole AND roleid IN ($2::regrole, $3::regrole, $4::regrole)`,
          [weak.name, role, `${role}_a`, `${role}_b`],
        ),
      )
      expect(m.rows[0]).toEqual({ a: true, i: false, s: false })
    }
  })
})
