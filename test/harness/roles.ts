/** Role families and admins the PostgreSQL tests create. */
import { randomBytes } from 'node:crypto'
import { familyName, phase, withAdmin } from './helpers.js'
import type { TestServer } from './servers.js'

/** The group role and its two default logins (<role>_a, <role>_b). */
export const family = (role: string) => [role, `${role}_a`, `${role}_b`]

/** A non-superuser admin with CREATEROLE (as managed services give), without pg_signal_backend. */
export async function createRoleAdmin(server: TestServer): Promise<{ name: string; url: string }> {
  const name = familyName('rotator')
  const password = randomBytes(12).toString('hex')
  await withAdmin(server, (c) => c.query(`CREATE ROLE ${name} LOGIN CREATEROLE PASSWORD '${password}'`))
  return { name, url: `postgresql://${name}:${password}@${server.host}:${server.port}/postgres` }
}

/** A new family after setup and open: the outgoing (old) and incoming (next) credentials and the rotation id. */
export async function openedFamily(server: TestServer, prefix?: string) {
  const role = familyName(prefix)
  const s = await phase(server, { phase: 'setup', role })
  const o = await phase(server, { phase: 'open', role })
  return {
    role,
    old: { user: s.outputs.username!, password: s.outputs.password! },
    next: { user: o.outputs.username!, password: o.outputs.password! },
    rotationId: o.outputs.rotationId!,
  }
}
