import type { Client } from './db.js'
import type { Observation, RoleInfo, SessionGroup } from '../domain/family.js'
import { SCRAM_DEFAULT_ITERATIONS } from '../crypto/scram.js'
import { parseSetconfig, type RoleConfig, type RoleSetting } from '../domain/settings.js'
import type { DirectGrant, DirectMembership } from '../domain/config-drift.js'
import {
  BACKEND_LISTED,
  CLEAR_STATS_SNAPSHOT,
  OBSERVE_EVERYTHING,
  READ_DIRECT_GRANTS,
  READ_LOGIN_MEMBERSHIPS,
  READ_SESSIONS,
} from './statements.js'
import { readState } from '../domain/state.js'

export interface Family {
  group: string
  logins: [string, string]
}

interface RoleRow {
  name: string
  can_login: boolean
  superuser: boolean
  comment: string | null
  settings: string[] | null
  admin_option: boolean
  /** null when the role is not a member of the group. */
  can_set: boolean | null
  inherits: boolean | null
}

/** Reads the family's roles, memberships, settings, state and sessions (two queries). Read-only. */
export async function observe(client: Client, family: Family): Promise<Observation> {
  const names = [family.group, ...family.logins]
  // The group role's own sessions count too: after adopt: true it is the outgoing login.
  const info = (await client.query(OBSERVE_EVERYTHING, [names])).rows[0]
  const sessions = toSessionGroups(info.sessions, 'primary')
  const roles = info.roles as RoleRow[]

  const roleInfo = (name: string, isGroup: boolean): RoleInfo | null => {
    const r = roles.find((x) => x.name === name)
    if (!r) return null
    const setting = (r.settings ?? []).find((s) => s.startsWith('role='))
    const member = !isGroup && r.can_set !== null
    return {
      name,
      canLogin: r.can_login,
      superuser: r.superuser,
      member,
      canSet: member && Boolean(r.can_set),
      inherits: member && Boolean(r.inherits),
      defaultRole: setting === undefined ? null : setting.slice('role='.length),
    }
  }
  const groupRow = roles.find((x) => x.name === family.group)
  return {
    serverVersion: Number(info.version),
    // scram_iterations exists from PostgreSQL 16; before, the server always used 4096.
    scramIterations: info.scram_iterations ? Number(info.scram_iterations) : SCRAM_DEFAULT_ITERATIONS,
    admin: {
      name: info.admin,
      superuser: info.admin_superuser,
      createrole: info.admin_createrole,
      signalBackend: info.admin_signal_backend,
      adminOption: Object.fromEntries(roles.map((r) => [r.name, r.admin_option])),
    },
    group: roleInfo(family.group, true),
    logins: Object.fromEntries(family.logins.map((l) => [l, roleInfo(l, false)])),
    state: readState(groupRow ? groupRow.comment : null, family.group),
    sessions,
    configs: toRoleConfigs(info.configs),
    grantees: (info.grantees as GranteeRow[]).map((g) => ({
      role: g.role,
      member: g.member,
      adminOption: g.admin_option,
      superuser: g.superuser,
    })),
  }
}

interface GranteeRow {
  role: string
  member: string
  admin_option: boolean
  superuser: boolean
}

interface RoleConfigRow {
  role: string
  connection_limit: number
  valid_until: string | null
  settings: { database: string | null; entry: string }[]
}

/** Settings, connection limit and VALID UNTIL of the roles that exist (READ_ROLE_CONFIG rows), keyed by name. */
function toRoleConfigs(rows: RoleConfigRow[]): Record<string, RoleConfig> {
  return Object.fromEntries(
    rows.map((r) => [
      r.role,
      {
        connectionLimit: Number(r.connection_limit),
        validUntil: r.valid_until,
        settings: r.settings
          .map((s) => parseSetconfig(s.entry, s.database))
          .filter((s): s is RoleSetting => s !== null),
      },
    ]),
  )
}

interface SessionRow {
  login: string
  database: string | null
  application_name: string
  client_addr: string | null
  addr_hidden?: boolean
  count: number
}

function toSessionGroups(rows: SessionRow[], server: string): SessionGroup[] {
  return rows.map((r) => ({
    server,
    login: r.login,
    database: r.database,
    applicationName: r.application_name,
    clientAddr: r.client_addr,
    ...(r.addr_hidden === true ? { addrHidden: true } : {}),
    count: r.count,
  }))
}

export async function readSessions(
  client: Client,
  logins: readonly string[],
  server = 'primary',
): Promise<SessionGroup[]> {
  return toSessionGroups((await client.query(READ_SESSIONS, [logins])).rows, server)
}

/** Privileges and memberships granted to the logins directly instead of to the group (current database, plus shared objects). */
export async function readDirectGrants(
  client: Client,
  group: string,
  logins: readonly string[],
): Promise<{ grants: DirectGrant[]; memberships: DirectMembership[] }> {
  const grants = (await client.query(READ_DIRECT_GRANTS, [logins])).rows as DirectGrant[]
  const memberships = (await client.query(READ_LOGIN_MEMBERSHIPS, [logins, group])).rows as DirectMembership[]
  return { grants, memberships }
}

/**
 * Waits, on `c`, until the backend `pid` of the same server has left pg_stat_activity (a backend
 * exits asynchronously after its client disconnected), or `limitMs` passed.
 */
export async function waitBackendGone(c: Client, pid: number, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs
  for (;;) {
    await c.query(CLEAR_STATS_SNAPSHOT)
    if (!(await c.query(BACKEND_LISTED, [pid])).rows[0].listed || Date.now() >= end) return
    await new Promise((r) => setTimeout(r, 10))
  }
}
