import type { RoleConfig } from './settings.js'
import { oneLine } from './escape.js'
import type { StateRead } from './state.js'

/** What observe() saw of one role of the family. */
export interface RoleInfo {
  name: string
  canLogin: boolean
  superuser: boolean
  /** For login roles: a direct member of the group role. */
  member: boolean
  /** The membership allows SET ROLE to the group (always true before PostgreSQL 16). */
  canSet: boolean
  inherits: boolean
  /** The role-wide `role` setting (ALTER ROLE ... SET role), or null. */
  defaultRole: string | null
}

/** Sessions of one login grouped by server, database, application and client address. */
export interface SessionGroup {
  /** 'primary' (the admin connection's server) or a replica's host:port. */
  server?: string
  login: string
  database: string | null
  applicationName: string
  clientAddr: string | null
  /** The admin may not see this session's client address (no pg_read_all_stats): clientAddr is null but it is not a local socket. */
  addrHidden?: boolean
  count: number
}

/** Where a session comes from, never invented: a hidden address is not a local socket. */
export function describeAddr(clientAddr: string | null, hidden?: boolean): string {
  if (hidden) return 'address hidden (grant pg_read_all_stats to see it)'
  return clientAddr ?? 'local socket'
}

/** One session of a login, one by one (close and abort read them before and after their commit). */
export interface LoginSession {
  /** 'primary', a replica's host:port, or 'pooler host:port'. */
  where: string
  /** Its identity within one run: where, and the backend pid or the pooler's client id. */
  key: string
  login: string
  database: string | null
  applicationName: string
  clientAddr: string | null
  addrHidden?: boolean
}

/**
 * The backend pid or pooler client id in a LoginSession's key. A backend's key also holds its
 * backend_start (`pid@start`, so a reused pid is a new session), which is not part of its id.
 */
export const idOf = (s: LoginSession): string => {
  const id = s.key.slice(s.key.lastIndexOf('#') + 1)
  return s.where.startsWith('pooler ') ? id : id.split('@')[0]
}

/** "primary pid 4242 (database appdb, application 'api', from 10.0.0.5); pooler 127.0.0.1:6432 client 7 (...)" */
export function describeLoginSessions(sessions: LoginSession[], max = 10): string {
  const shown = sessions.slice(0, max).map((s) => {
    const pooler = s.where.startsWith('pooler ')
    const where = s.where === 'primary' || pooler ? s.where : `replica ${s.where}`
    return `${oneLine(where)} ${pooler ? 'client' : 'pid'} ${oneLine(idOf(s))} (database ${s.database === null ? '(none)' : oneLine(s.database)}, application '${oneLine(s.applicationName)}', from ${oneLine(describeAddr(s.clientAddr, s.addrHidden))})`
  })
  const more = sessions.length > max ? `; and ${sessions.length - max} more` : ''
  return `${shown.join('; ')}${more}`
}

/** What the admin role may do. */
export interface AdminInfo {
  name: string
  superuser: boolean
  createrole: boolean
  /** Member of pg_signal_backend (may terminate other roles' sessions). */
  signalBackend: boolean
  /** ADMIN OPTION on each existing family role (what PostgreSQL 16+ requires to alter it). */
  adminOption: Record<string, boolean>
}

/** A direct membership in a family role: `member` is a member of `role`. */
export interface RoleGrantee {
  role: string
  member: string
  /** The membership carries ADMIN OPTION: the member may grant the role, and on 16+ alter it (password, LOGIN). */
  adminOption: boolean
  /** The member is a superuser (who may do everything anyway). */
  superuser: boolean
}

/** A role outside the family that holds ADMIN OPTION on, or is an unexpected member of, a family role. */
export interface ForeignGrantee {
  role: string
  member: string
  kind: 'foreign-admin' | 'unexpected-member'
}

/**
 * Who, besides the family and the admin, controls a family role: every other
 * holder of ADMIN OPTION on it, and every member of it other than the logins of
 * the group (members of a login would act as the group once it joins). The
 * admin that observes (session_user) and superusers are expected. `roles`
 * narrows the family roles looked at.
 */
export function foreignGrantees(
  obs: Observation,
  group: string,
  logins: readonly string[],
  roles: readonly string[] = [group, ...logins],
): ForeignGrantee[] {
  const out: ForeignGrantee[] = []
  for (const g of obs.grantees ?? []) {
    if (!roles.includes(g.role) || g.superuser || g.member === obs.admin.name) continue
    if (g.adminOption) out.push({ role: g.role, member: g.member, kind: 'foreign-admin' })
    else if (!(g.role === group && logins.includes(g.member)))
      out.push({ role: g.role, member: g.member, kind: 'unexpected-member' })
  }
  return out
}

/** "role "tenant" holds ADMIN OPTION on "app_b"" / "role "x" is a member of "app"" (names on one line). */
export function describeForeignGrantee(f: ForeignGrantee): string {
  return f.kind === 'foreign-admin'
    ? `role "${oneLine(f.member)}" holds ADMIN OPTION on "${oneLine(f.role)}"`
    : `role "${oneLine(f.member)}" is a member of "${oneLine(f.role)}"`
}

/** Everything a phase decides on, read inside the phase's transaction. */
export interface Observation {
  serverVersion: number
  scramIterations: number
  admin: AdminInfo
  group: RoleInfo | null
  /** Keyed by login role name; null when the role does not exist. */
  logins: Record<string, RoleInfo | null>
  /** Raw comment of the group role (the state lives there). */
  state: StateRead
  sessions: SessionGroup[]
  /**
   * Settings, connection limit and VALID UNTIL of each existing family role
   * (group and logins), keyed by name. observe() always reads it; optional so
   * that observations built by hand may leave it out (then nothing is copied).
   */
  configs?: Record<string, RoleConfig>
  /** Direct memberships in the family's roles (who else holds them); observe() always reads it. */
  grantees?: RoleGrantee[]
}

export function sessionCount(sessions: SessionGroup[], login: string): number {
  return sessions.filter((s) => s.login === login).reduce((n, s) => n + s.count, 0)
}

/** "3 (appdb: 2, other: 1)"; database names on one line (see oneLine). */
export function describeSessions(sessions: SessionGroup[], login: string): string {
  const mine = sessions.filter((s) => s.login === login)
  const total = sessionCount(sessions, login)
  if (total === 0) return '0'
  const byDb = new Map<string, number>()
  for (const s of mine) {
    const where = `${s.database === null ? '(none)' : oneLine(s.database)}${s.server && s.server !== 'primary' ? `@${oneLine(s.server)}` : ''}`
    byDb.set(where, (byDb.get(where) ?? 0) + s.count)
  }
  return `${total} (${[...byDb].map(([db, n]) => `${db}: ${n}`).join(', ')})`
}
