/**
 * No foreign role joins the family. A role that exists before setup and that another role
 * controls (holds ADMIN OPTION on, which on PostgreSQL 16+ a CREATEROLE role gets on every
 * role it creates, or is a member of) is refused, never granted the group; status reports
 * every such holder on the family's roles as drift.
 */
import { describe, expect, it } from 'vitest'
import { familyName, loginAs, phase, servers, snapshotRoles, withAdmin } from '../harness/helpers.js'
import { createRoleAdmin, family } from '../harness/roles.js'
import type { TestServer } from '../harness/servers.js'
import { connectClient } from '../../scripts/lib/pg-client.mjs'

/** Runs SQL as a role given by its URL. */
async function as(url: string, sql: string): Promise<void> {
  const c = await connectClient({ connectionString: url })
  try {
    await c.query(sql)
  } finally {
    await c.end()
  }
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: Error) => e.message,
  )

describe.each(servers())('PostgreSQL $major: foreign roles', (server: TestServer) => {
  it.runIf(server.major >= 16)(
    'a CREATEROLE tenant that created app_b before setup holds ADMIN OPTION on it: setup refuses, names it, changes nothing (superuser and CREATEROLE admins)',
    async () => {
      const role = familyName()
      const tenant = await createRoleAdmin(server)
      await as(tenant.url, `CREATE ROLE ${role}_b NOLOGIN`)
      const before = await snapshotRoles(server, family(role))
      const admin = await createRoleAdmin(server)
      for (const adminUrl of [server.url, admin.url]) {
        const err = await failure(phase(server, { 'admin-url': adminUrl, role, phase: 'setup' }))
        expect(err).toMatch(
          new RegExp(
            `Refusing to set up the family: role "${tenant.name}" holds ADMIN OPTION on "${role}_b".*Nothing was changed.*REVOKE "${role}_b" FROM "${tenant.name}";`,
          ),
        )
        expect(await snapshotRoles(server, family(role))).toEqual(before)
      }
      // What setup used to allow: the tenant gives "its" login LOGIN and a password and reads the group's data.
      await as(tenant.url, `ALTER ROLE ${role}_b LOGIN PASSWORD 'tenant-pw'`)
      const c = await loginAs(server, `${role}_b`, 'tenant-pw')
      expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe(`${role}_b`)
      await c.end()
      expect(await snapshotRoles(server, [role])).toEqual({ roles: [], members: [] })
    },
  )

  it.runIf(server.major >= 16)(
    'a CREATEROLE tenant that created the group role itself: setup refuses and names it',
    async () => {
      const role = familyName()
      const tenant = await createRoleAdmin(server)
      await as(tenant.url, `CREATE ROLE ${role} NOLOGIN`)
      const before = await snapshotRoles(server, family(role))
      const err = await failure(phase(server, { role, phase: 'setup' }))
      expect(err).toMatch(new RegExp(`role "${tenant.name}" holds ADMIN OPTION on "${role}"`))
      expect(await snapshotRoles(server, family(role))).toEqual(before)
    },
  )

  it('a login that another role is a member of (it would act as the group): setup refuses and names it', async () => {
    const role = familyName()
    const tenant = await createRoleAdmin(server)
    // On 14 and 15 CREATEROLE may grant itself any role; on 16+ the creator already holds it.
    await as(
      tenant.url,
      server.major >= 16
        ? `CREATE ROLE ${role}_a NOLOGIN`
        : `CREATE ROLE ${role}_a NOLOGIN; GRANT ${role}_a TO ${tenant.name}`,
    )
    const before = await snapshotRoles(server, family(role))
    const err = await failure(phase(server, { role, phase: 'setup' }))
    expect(err).toMatch(new RegExp(`role "${tenant.name}" (is a member of|holds ADMIN OPTION on) "${role}_a"`))
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    // Revoked by a superuser as the message says: setup proceeds.
    await withAdmin(server, (c) => c.query(`REVOKE ${role}_a FROM ${tenant.name}`))
    const s = await phase(server, { role, phase: 'setup' })
    expect(s.outputs.username).toBe(`${role}_a`)
  })

  it.runIf(server.major >= 16)(
    'adopt: true covers the single existing login even when its creator holds ADMIN OPTION on it; status reports that holder as drift',
    async () => {
      const role = familyName()
      const tenant = await createRoleAdmin(server)
      await as(tenant.url, `CREATE ROLE ${role} LOGIN PASSWORD 'app-pw'`)
      const s = await phase(server, { role, phase: 'setup', adopt: 'true' })
      expect(s.outputs.username).toBe(role)
      expect(s.notes.join('\n')).toMatch(new RegExp(`role "${tenant.name}" holds ADMIN OPTION on "${role}"`))
      const st = await phase(server, { role, phase: 'status' })
      expect(st.status!.drift).toContainEqual(expect.objectContaining({ kind: 'foreign-admin', role }))
    },
  )

  it('status reports every other holder of ADMIN OPTION on, and every unexpected member of, the family roles; the admin itself is none', async () => {
    const role = familyName()
    const admin = await createRoleAdmin(server)
    const a = { 'admin-url': admin.url, role }
    await phase(server, { ...a, phase: 'setup' })
    expect((await phase(server, { ...a, phase: 'status' })).status!.drift).toEqual([])
    const other = familyName('other')
    const reader = familyName('reader')
    await withAdmin(server, (c) =>
      c.query(
        `CREATE ROLE ${other} NOLOGIN; CREATE ROLE ${reader} NOLOGIN; GRANT ${role}_b TO ${other} WITH ADMIN OPTION; GRANT ${role} TO ${reader}`,
      ),
    )
    const drift = (await phase(server, { ...a, phase: 'status' })).status!.drift
    expect(drift).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'foreign-admin', role: `${role}_b`, detail: expect.stringContaining(other) }),
        expect.objectContaining({ kind: 'unexpected-member', role, detail: expect.stringContaining(reader) }),
      ]),
    )
    expect(drift).toHaveLength(2)
  })
})
