import { escapeIdentifier as q, escapeLiteral as lit } from 'pg'
import type { FamilyState } from './state.js'
import { serializeState } from './state.js'

/**
 * Every statement the action sends to PostgreSQL, in one place.
 * Identifiers are always quoted with escapeIdentifier; values that cannot be
 * bound parameters (passwords, comments, setting values) with escapeLiteral.
 */

// ---- reads (bound parameters) ------------------------------------------------

/**
 * Everything a phase decides on, in one round trip: the server, the admin's
 * privileges, and for each family role ($1: group first, then the logins) its
 * attributes, role-wide settings, comment (the state), the admin's ADMIN
 * OPTION on it and its membership in the group (SET and INHERIT options on
 * PostgreSQL 16+; before 16 every membership allows SET ROLE and inheritance
 * is the member's rolinherit). Sessions are read by READ_SESSIONS.
 */
export const OBSERVE_FAMILY = `
SELECT current_setting('server_version_num')::int AS version,
       current_setting('scram_iterations', true) AS scram_iterations,
       a.rolname AS admin,
       a.rolsuper AS admin_superuser,
       a.rolcreaterole AS admin_createrole,
       pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS admin_signal_backend,
       (SELECT coalesce(json_agg(json_build_object(
                 'name', r.rolname,
                 'can_login', r.rolcanlogin,
                 'superuser', r.rolsuper,
                 'comment', shobj_description(r.oid, 'pg_authid'),
                 'settings', (SELECT array_agg(c ORDER BY c)
                                FROM pg_db_role_setting s, unnest(s.setconfig) AS c
                               WHERE s.setrole = r.oid AND s.setdatabase = 0),
                 'admin_option', pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION'),
                 'can_set', (SELECT bool_or(coalesce((to_jsonb(m) ->> 'set_option')::boolean, true))
                               FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                              WHERE m.member = r.oid AND g.rolname = ($1::text[])[1]),
                 'inherits', (SELECT bool_or(coalesce((to_jsonb(m) ->> 'inherit_option')::boolean, r.rolinherit))
                                FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                               WHERE m.member = r.oid AND g.rolname = ($1::text[])[1]))), '[]')
          FROM pg_roles r
         WHERE r.rolname = ANY($1::text[])) AS roles
  FROM pg_roles a
 WHERE a.rolname = current_user`

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

/** Starts a phase's transaction, bounding how long its statements may wait for locks or run (one round trip). */
export const BEGIN_PHASE = `BEGIN; SET LOCAL lock_timeout = '30s'; SET LOCAL statement_timeout = '120s'`

/** A shorter lock_timeout for the phase's transaction (tests make a blocked statement fail fast). */
export function setLockTimeout(ms: number): string {
  return `SET LOCAL lock_timeout = ${Math.max(1, Math.floor(ms))}`
}

/**
 * The write-back record (see src/writeback-record.ts) runs on a second, autocommit
 * connection while the phase's transaction holds the family lock: it must never
 * wait long on that transaction.
 */
export const RECORD_TIMEOUTS = `SET lock_timeout = '5s'; SET statement_timeout = '10s'`

/** The group role's comment (the state), read outside the phase's transaction by the write-back record. */
export const READ_STATE_COMMENT = `SELECT pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment FROM pg_catalog.pg_roles r WHERE r.rolname = $1`

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
