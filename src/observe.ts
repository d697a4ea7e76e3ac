import type { Client } from './db.js'
import type { Observation, RoleInfo, SessionGroup } from './family.js'
import { SCRAM_DEFAULT_ITERATIONS } from './scram.js'
import { ADMIN_INFO, ADMIN_OPTIONS, READ_MEMBERSHIPS_14, READ_MEMBERSHIPS_16, READ_ROLES, READ_SESSIONS, SERVER_INFO } from './statements.js'
import { readState } from './state.js'

export interface Family {
  group: string
  logins: [string, string]
}

/** Reads the family's roles, memberships, settings, state and sessions. Read-only. */
export async function observe(client: Client, family: Family): Promise<Observation> {
  const info = (await client.query(SERVER_INFO)).rows[0]
  const serverVersion = Number(info.version)
  const names = [family.group, ...family.logins]
  const roles = (await client.query(READ_ROLES, [names])).rows
  const memberships = (await client.query(serverVersion >= 160000 ? READ_MEMBERSHIPS_16 : READ_MEMBERSHIPS_14, [family.group, family.logins])).rows
  // The group role's own sessions count too: after adopt: true it is the outgoing login.
  const sessions = await readSessions(client, names)
  const adminRow = (await client.query(ADMIN_INFO)).rows[0]
  const adminOptions = (await client.query(ADMIN_OPTIONS, [names])).rows

  const roleInfo = (name: string): RoleInfo | null => {
    const r = roles.find((x) => x.name === name)
    if (!r) return null
    const m = memberships.find((x) => x.member === name)
    const setting = ((r.settings as string[] | null) ?? []).find((s) => s.startsWith('role='))
    return {
      name,
      canLogin: r.can_login,
      superuser: r.superuser,
      member: Boolean(m),
      canSet: Boolean(m?.can_set),
      inherits: Boolean(m?.inherits),
      defaultRole: setting === undefined ? null : setting.slice('role='.length),
    }
  }
  const groupRow = roles.find((x) => x.name === family.group)
  return {
    serverVersion,
    // scram_iterations exists from PostgreSQL 16; before, the server always used 4096.
    scramIterations: info.scram_iterations ? Number(info.scram_iterations) : SCRAM_DEFAULT_ITERATIONS,
    admin: {
      name: adminRow.name,
      superuser: adminRow.superuser,
      createrole: adminRow.createrole,
      signalBackend: adminRow.signal_backend,
      adminOption: Object.fromEntries(adminOptions.map((r) => [r.name, r.admin_option])),
    },
    group: roleInfo(family.group),
    logins: Object.fromEntries(family.logins.map((l) => [l, roleInfo(l)])),
    state: readState(groupRow ? groupRow.comment : null),
    sessions,
  }
}

export async function readSessions(client: Client, logins: readonly string[], server = 'primary'): Promise<SessionGroup[]> {
  const rows = (await client.query(READ_SESSIONS, [logins])).rows
  return rows.map((r) => ({
    server,
    login: r.login,
    database: r.database,
    applicationName: r.application_name,
    clientAddr: r.client_addr,
    count: r.count,
  }))
}
