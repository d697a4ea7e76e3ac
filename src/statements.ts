import { escapeIdentifier as q, escapeLiteral as lit } from 'pg'
import type { FamilyState } from './state.js'
import { serializeState } from './state.js'

/**
 * Every statement the action sends to PostgreSQL, in one place.
 * Identifiers are always quoted with escapeIdentifier; values that cannot be
 * bound parameters (passwords, comments, setting values) with escapeLiteral.
 */

// ---- reads (bound parameters) ------------------------------------------------

export const SERVER_INFO = `
SELECT current_setting('server_version_num')::int AS version,
       current_setting('scram_iterations', true) AS scram_iterations,
       current_user AS admin,
       pg_backend_pid() AS pid`

/** The family's roles, with their role-wide (all databases) settings and comment. */
export const READ_ROLES = `
SELECT r.rolname AS name,
       r.rolcanlogin AS can_login,
       r.rolsuper AS superuser,
       shobj_description(r.oid, 'pg_authid') AS comment,
       (SELECT array_agg(c ORDER BY c)
          FROM pg_db_role_setting s, unnest(s.setconfig) AS c
         WHERE s.setrole = r.oid AND s.setdatabase = 0) AS settings
  FROM pg_roles r
 WHERE r.rolname = ANY($1::text[])`

/** Direct memberships of the login roles in the group role (PostgreSQL 16+: with SET and INHERIT options). */
export const READ_MEMBERSHIPS_16 = `
SELECT m.rolname AS member, bool_or(a.set_option) AS can_set, bool_or(a.inherit_option) AS inherits
  FROM pg_auth_members a
  JOIN pg_roles m ON m.oid = a.member
  JOIN pg_roles g ON g.oid = a.roleid
 WHERE g.rolname = $1 AND m.rolname = ANY($2::text[])
 GROUP BY m.rolname`

/** Before PostgreSQL 16 every membership allows SET ROLE; inheritance is a property of the member. */
export const READ_MEMBERSHIPS_14 = `
SELECT m.rolname AS member, true AS can_set, bool_or(m.rolinherit) AS inherits
  FROM pg_auth_members a
  JOIN pg_roles m ON m.oid = a.member
  JOIN pg_roles g ON g.oid = a.roleid
 WHERE g.rolname = $1 AND m.rolname = ANY($2::text[])
 GROUP BY m.rolname`

/** Sessions of the given logins in every database, except the action's own. */
export const READ_SESSIONS = `
SELECT usename AS login,
       datname AS database,
       coalesce(application_name, '') AS application_name,
       host(client_addr) AS client_addr,
       count(*)::int AS count
  FROM pg_stat_activity
 WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid()
 GROUP BY 1, 2, 3, 4
 ORDER BY 1, 2, 3, 4`

/** pg_stat_activity is a snapshot frozen for the transaction; clear it before each poll. */
export const CLEAR_STATS_SNAPSHOT = 'SELECT pg_stat_clear_snapshot()'

/** Ends every session of one login (except the action's own); returns how many were signalled. */
export const TERMINATE_SESSIONS = `
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS terminated
  FROM pg_stat_activity
 WHERE usename = $1 AND pid <> pg_backend_pid()`

/** Serializes phases on one family: held until the transaction ends. */
export const LOCK_FAMILY = 'SELECT pg_advisory_xact_lock($1::bigint)'

/**
 * Advisory locks are per database, so two phases connected to different
 * databases would both get one. Rewriting the group role's catalog row (with
 * the INHERIT attribute it already has; the action never changes it) serializes
 * them cluster-wide: a concurrent phase waits on that row, then fails with
 * "tuple concurrently updated" and is retried, or, if it comes later, observes
 * the committed state.
 */
export const GROUP_INHERITS = `
SELECT g.rolinherit AS inherit,
       pg_has_role(current_user, g.oid, 'MEMBER WITH ADMIN OPTION') AS admin_option,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       current_setting('server_version_num')::int AS version,
       current_user AS admin
  FROM pg_roles g
 WHERE g.rolname = $1`
export function serializeOnGroup(group: string, inherit: boolean): string {
  return `ALTER ROLE ${q(group)} WITH ${inherit ? 'INHERIT' : 'NOINHERIT'}`
}

/** Bounds on how long a phase's statements may wait for locks or run. */
export const PHASE_TIMEOUTS = [`SET LOCAL lock_timeout = '30s'`, `SET LOCAL statement_timeout = '120s'`]

/** What the admin role may do (the least-privilege checks before any change). */
export const ADMIN_INFO = `
SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal_backend
  FROM pg_roles r
 WHERE r.rolname = current_user`

/** ADMIN OPTION of the admin on each existing family role (needed on PostgreSQL 16+). */
export const ADMIN_OPTIONS = `
SELECT r.rolname AS name, pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION') AS admin_option
  FROM pg_roles r
 WHERE r.rolname = ANY($1::text[])`

/** Objects owned by the given roles, per database (pg_shdepend; dbid 0 = shared objects). */
export const READ_OWNERSHIP = `
SELECT r.rolname AS role, coalesce(d.datname, '') AS database, count(*)::int AS objects
  FROM pg_shdepend s
  JOIN pg_roles r ON r.oid = s.refobjid
  LEFT JOIN pg_database d ON d.oid = s.dbid
 WHERE s.refclassid = 'pg_authid'::regclass AND s.deptype = 'o' AND r.rolname = ANY($1::text[])
 GROUP BY 1, 2
 ORDER BY 1, 2`

/** Moves what the login roles own in the current database (and shared objects) to the group role. */
export function reassignOwned(logins: readonly string[], group: string): string {
  return `REASSIGN OWNED BY ${logins.map((l) => q(l)).join(', ')} TO ${q(group)}`
}

/** Run by the incoming login right after open, to prove its credentials and SET role default. */
export const WHO_AM_I = 'SELECT current_user AS current_user, session_user AS session_user'

// ---- changes (rendered from plan steps) ---------------------------------------

export type Step =
  | { kind: 'create-role'; role: string }
  | { kind: 'grant-membership'; login: string; group: string }
  | { kind: 'set-default-role'; login: string; group: string }
  | { kind: 'enable-login'; role: string }
  | { kind: 'disable-login'; role: string }
  | { kind: 'write-state'; group: string; state: FamilyState }

export interface Statement {
  sql: string
  /** The same statement with any password or verifier replaced by '***', for logs and summaries. */
  display: string
}

/**
 * Renders a step. `secret` is the password literal (a SCRAM verifier, or the
 * plaintext with password-encryption: server) for enable-login/disable-login.
 */
export function renderStep(step: Step, serverVersion: number, secret?: string): Statement {
  switch (step.kind) {
    case 'create-role':
      return plain(`CREATE ROLE ${q(step.role)} NOLOGIN`)
    case 'grant-membership':
      return plain(
        serverVersion >= 160000
          ? `GRANT ${q(step.group)} TO ${q(step.login)} WITH INHERIT TRUE, SET TRUE`
          : `GRANT ${q(step.group)} TO ${q(step.login)}`,
      )
    case 'set-default-role':
      return plain(`ALTER ROLE ${q(step.login)} SET role = ${lit(step.group)}`)
    case 'enable-login':
      return withSecret(`ALTER ROLE ${q(step.role)} WITH LOGIN PASSWORD`, requireSecret(step, secret))
    case 'disable-login':
      return withSecret(`ALTER ROLE ${q(step.role)} WITH NOLOGIN PASSWORD`, requireSecret(step, secret))
    case 'write-state':
      return plain(`COMMENT ON ROLE ${q(step.group)} IS ${lit(serializeState(step.state))}`)
  }
}

function plain(sql: string): Statement {
  return { sql, display: sql }
}

function withSecret(prefix: string, secret: string): Statement {
  return { sql: `${prefix} ${lit(secret)}`, display: `${prefix} '***'` }
}

function requireSecret(step: Step, secret: string | undefined): string {
  if (!secret) throw new Error(`internal: ${step.kind} needs a password`)
  return secret
}
