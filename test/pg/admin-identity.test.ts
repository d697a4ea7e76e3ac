/**
 * The admin runs as itself: a role or database setting (`ALTER DATABASE ... SET role`,
 * which the database's owner, the family's group role, may run) must not change who the
 * admin's session acts as, and privilege hints name the admin that logged in (session_user).
 */
import { describe, expect, it } from 'vitest'
import { familyName, loginAs, phase, servers, withAdmin } from '../harness/helpers.js'
import { createRoleAdmin } from '../harness/roles.js'
import type { TestServer } from '../harness/servers.js'

/** The same URL in another database. */
const inDatabase = (url: string, db: string) => url.replace(/\/[^/?]+(\?|$)/, `/${db}$1`)

/** A family set up by the superuser, and a database its group owns, where the application (as the group) sets role = <group>_a. */
async function ownedDatabaseSettingRole(server: TestServer): Promise<{ role: string; db: string }> {
  const role = familyName()
  const db = `${role}_db`
  const s = await phase(server, { role, phase: 'setup' })
  await withAdmin(server, (c) => c.query(`CREATE DATABASE ${db} OWNER ${role}`))
  // The application's own session (current_user = the group, the database's owner) plants it.
  const app = await loginAs(server, s.outputs.username!, s.outputs.password!, db)
  await app.query(`ALTER DATABASE ${db} SET role = '${role}_a'`)
  await app.end()
  return { role, db }
}

describe.each(servers())('PostgreSQL $major: the admin runs as itself', (server) => {
  it('ALTER DATABASE ... SET role by the group (the database owner) does not make the superuser admin run as the login: open and close succeed', async () => {
    const { role, db } = await ownedDatabaseSettingRole(server)
    const url = inDatabase(server.url, db)
    const o = await phase(server, { 'admin-url': url, role, phase: 'open' })
    expect(o.outputs).toMatchObject({ state: 'open', username: `${role}_b` })
    const c = await phase(server, { 'admin-url': url, role, phase: 'close', 'rotation-id': o.outputs.rotationId! })
    expect(c.outputs.state).toBe('idle')
    const text = [...o.log.lines, ...c.log.lines].join('\n')
    expect(text).not.toMatch(/TO "[^"]*_a" WITH/)
  })

  it('a missing privilege is reported for the admin that logged in (session_user), never for the role a setting names', async () => {
    const { role, db } = await ownedDatabaseSettingRole(server)
    const admin = await createRoleAdmin(server)
    // The admin may SET ROLE to the login (so the database's setting applies to its sessions),
    // but lacks pg_signal_backend (and, on 16+, ADMIN OPTION on the family it did not create).
    await withAdmin(server, (c) =>
      c.query(
        server.major >= 16 ? `GRANT ${role}_a TO ${admin.name} WITH SET TRUE` : `GRANT ${role}_a TO ${admin.name}`,
      ),
    )
    const o = await phase(server, { role, phase: 'open' })
    const url = inDatabase(admin.url, db)
    const close = { 'admin-url': url, role, phase: 'close', terminate: 'true', 'rotation-id': o.outputs.rotationId! }
    const err = await phase(server, close).then(
      () => null,
      (e: Error) => `${e.message}\n${(e as { hint?: string }).hint ?? ''}`,
    )
    expect(err).not.toBeNull()
    expect(err).toContain(`"${admin.name}"`)
    expect(err).not.toContain(`"${role}_a" WITH`)
    expect(err).not.toContain(`TO "${role}_a"`)
  })
})
