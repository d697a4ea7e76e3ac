import { escapeIdentifier as q, escapeLiteral as lit } from 'pg'
import type { FamilyState } from '../domain/state.js'
import { oneLine } from '../domain/escape.js'
import { serializeState } from '../domain/state.js'

/**
 * Every statement the action sends to PostgreSQL, in one place.
 * Identifiers are always quoted with escapeIdentifier; values that cannot be
 * bound parameters (passwords, comments, setting values) with escapeLiteral.
 */

// ---- reads (bound parameters) ------------------------------------------------

/**
 * The first statement on every connection the action opens, as pg_dump does:
 * catalog names resolve from pg_catalog, never from a schema another role can
 * write to (CVE-2018-1058), and pg_temp comes last. Fully qualified, so it
 * cannot itself be hijacked. A statement rather than a startup option: poolers
 * reject or silently drop `options`.
 */
export const PIN_SEARCH_PATH = "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)"

/**
 * The first statement on every admin connection: PIN_SEARCH_PATH, after making
 * the session run as the role that logged in. A database- or role-level setting
 * (`ALTER DATABASE appdb SET role = 'app_a'`, which the database's owner may run)
 * would otherwise make the admin act as another role. Order matters: SET SESSION
 * AUTHORIZATION DEFAULT (allowed to any role: it returns to the authenticated
 * user) re-applies the connection-time `role`, and RESET ROLE would too; only
 * SET ROLE NONE, last, returns current_user to session_user.
 */
export const RUN_AS_SESSION_USER = `SET SESSION AUTHORIZATION DEFAULT; SET ROLE NONE; ${PIN_SEARCH_PATH}`

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
       pg_catalog.pg_has_role(session_user, 'pg_signal_backend', 'USAGE') AS admin_signal_backend,
       (SELECT coalesce(json_agg(json_build_object(
                 'name', r.rolname,
                 'can_login', r.rolcanlogin,
                 'superuser', r.rolsuper,
                 'comment', pg_catalog.shobj_description(r.oid, 'pg_authid'),
                 'settings', (SELECT array_agg(c ORDER BY c)
                                FROM pg_db_role_setting s, unnest(s.setconfig) AS c
                               WHERE s.setrole = r.oid AND s.setdatabase = 0),
                 'admin_option', pg_has_role(session_user, r.oid, 'MEMBER WITH ADMIN OPTION'),
                 'can_set', (SELECT bool_or(coalesce((to_jsonb(m) ->> 'set_option')::boolean, true))
                               FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                              WHERE m.member = r.oid AND g.rolname = ($1::text[])[1]),
                 'inherits', (SELECT bool_or(coalesce((to_jsonb(m) ->> 'inherit_option')::boolean, r.rolinherit))
                                FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                               WHERE m.member = r.oid AND g.rolname = ($1::text[])[1]))), '[]')
          FROM pg_roles r
         WHERE r.rolname = ANY($1::text[])) AS roles
  FROM pg_roles a
 WHERE a.rolname = session_user`

/**
 * Whether pg_stat_activity hides a session's client address from the admin:
 * without pg_read_all_stats (or the privileges of the session's role) the
 * address is NULL, as for a local socket, and must not be called one.
 */
const ADDR_HIDDEN = `NOT (pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') OR pg_catalog.pg_has_role(current_user, usesysid, 'USAGE'))`

/** Sessions of the given logins in every database, except the action's own. */
export const READ_SESSIONS = `
SELECT usename AS login,
       datname AS database,
       coalesce(application_name, '') AS application_name,
       host(client_addr) AS client_addr,
       ${ADDR_HIDDEN} AS addr_hidden,
       count(*)::int AS count
  FROM pg_stat_activity
 WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid()
 GROUP BY 1, 2, 3, 4, 5
 ORDER BY 1, 2, 3, 4, 5`

/** Backends of the given logins one by one (pid, state), to match them with poolers' server connections. */
export const READ_BACKENDS = `
SELECT pid, usename AS login, datname AS database, state,
       coalesce(application_name, '') AS application_name,
       host(client_addr) AS client_addr,
       pg_catalog.to_json(backend_start) #>> '{}' AS backend_start,
       ${ADDR_HIDDEN} AS addr_hidden
  FROM pg_stat_activity
 WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid()
 ORDER BY pid`

/** Ends the given backends of one login (a pooler's idle server connections); returns how many were signalled. */
export const TERMINATE_BACKENDS = `
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS terminated
  FROM pg_stat_activity
 WHERE usename = $1 AND pid = ANY($2::int[]) AND pid <> pg_backend_pid()`

/** pg_stat_activity is a snapshot frozen for the transaction; clear it before each poll. */
export const CLEAR_STATS_SNAPSHOT = 'SELECT pg_stat_clear_snapshot()'

/** Ends every session of one login (except the action's own); returns how many were signalled. */
export const TERMINATE_SESSIONS = `
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS terminated
  FROM pg_stat_activity
 WHERE usename = $1 AND pid <> pg_backend_pid()`

/**
 * Phases serialize on the group role's catalog row: each rewrites it first (with
 * the INHERIT attribute it already has; the action never changes it), cluster-wide
 * and whatever database the phase is connected to. A concurrent phase waits on
 * that row, then fails with "tuple concurrently updated" and is retried, or, if it
 * comes later, observes the committed state. Only a role that may alter the group
 * (a superuser, the admin, a holder of ADMIN OPTION on it, or before PostgreSQL 16
 * any CREATEROLE role) or the group itself (a login's session runs as the group, and a
 * role may change its own password) can hold that row: unlike an advisory lock, whose
 * key anyone can take, a role with no grants cannot block a rotation. (A family that does not
 * exist yet serializes on CREATE ROLE: the second setup waits on the unique index,
 * then retries and sees the first one's roles.)
 */
export const GROUP_INHERITS = `
SELECT g.rolinherit AS inherit,
       pg_has_role(session_user, g.oid, 'MEMBER WITH ADMIN OPTION') AS admin_option,
       (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS superuser,
       (SELECT rolcreaterole FROM pg_roles WHERE rolname = session_user) AS createrole,
       current_setting('server_version_num')::int AS version,
       session_user AS admin
  FROM pg_roles g
 WHERE g.rolname = $1`
export function serializeOnGroup(group: string, inherit: boolean): string {
  return `ALTER ROLE ${q(group)} WITH ${inherit ? 'INHERIT' : 'NOINHERIT'}`
}

/**
 * Who holds what a phase may wait for, when its lock_timeout passed: sessions with a
 * write lock on a role catalog (a row of pg_authid, pg_auth_members, role settings or
 * comments changed in a transaction still open) or a lock on one of the family's roles
 * ($1). pg_locks is readable by every role; `since` (the transaction's start, else
 * the backend's) is null where pg_stat_activity hides it (pg_read_all_stats).
 */
export const READ_ROLE_LOCK_HOLDERS = `
SELECT a.pid, a.usename AS role, COALESCE(a.application_name, '') AS application_name,
       pg_catalog.to_json(COALESCE(a.xact_start, a.backend_start)) #>> '{}' AS since,
       pg_catalog.string_agg(DISTINCT l.mode, ', ' ORDER BY l.mode) AS modes
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid
 WHERE l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
   AND ((l.locktype OPERATOR(pg_catalog.=) 'relation' AND l.database OPERATOR(pg_catalog.=) 0
         AND l.mode OPERATOR(pg_catalog.<>) 'AccessShareLock'
         AND l.relation OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.pg_authid'::pg_catalog.regclass,
               'pg_catalog.pg_auth_members'::pg_catalog.regclass, 'pg_catalog.pg_db_role_setting'::pg_catalog.regclass,
               'pg_catalog.pg_shdescription'::pg_catalog.regclass]::pg_catalog.oid[]))
     OR (l.locktype OPERATOR(pg_catalog.=) 'object' AND l.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass
         AND l.objid OPERATOR(pg_catalog.=) ANY (SELECT r.oid FROM pg_catalog.pg_roles r
                                                  WHERE r.rolname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]))))
 GROUP BY 1, 2, 3, 4
 ORDER BY 1
 LIMIT 6`

/**
 * Starts a phase's transaction, bounding how long its statements may wait for locks or run, and
 * how long it may sit idle holding the family's locks (one round trip). The idle limit ends a
 * transaction whose runner stalled or vanished; it is well above the longest wait the action
 * itself makes inside it (close's GitHub write-back: 10 s per request, one retry, per secret).
 */
export const BEGIN_PHASE = `BEGIN; SET LOCAL lock_timeout = '30s'; SET LOCAL statement_timeout = '120s'; SET LOCAL idle_in_transaction_session_timeout = '5min'`
/** BEGIN_PHASE's lock_timeout, for a caller that must wait less (setLockTimeout). */
export const PHASE_LOCK_TIMEOUT_MS = 30_000

/** Ends a phase's transaction: its changes stand, or none of them do. */
export const COMMIT = 'COMMIT'
export const ROLLBACK = 'ROLLBACK'

/**
 * A plan's statements go to the server as one query string, after this savepoint: when one
 * of them fails, the phase rolls back to it and runs them again one at a time, so that the
 * error names the statement (see runPlanStatements in apply.ts).
 */
export const PLAN_SAVEPOINT = 'SAVEPOINT pg_credential_rotation_plan'
export const ROLLBACK_TO_PLAN_SAVEPOINT = 'ROLLBACK TO SAVEPOINT pg_credential_rotation_plan'

/**
 * The query string that runs a plan's statements in one round trip. Every statement is
 * one complete statement rendered by renderStep (identifiers and literals quoted), so
 * joining them with `;` changes nothing about any of them. Never a statement that carries
 * a secret (see Statement.secret).
 */
export function planBatch(statements: readonly Statement[]): string {
  return [PLAN_SAVEPOINT, ...statements.map((s) => s.sql)].join(';\n')
}

/** The database a connection is in (fix-ownership visits the others on connections of their own). */
export const CURRENT_DATABASE = 'SELECT pg_catalog.current_database() AS db'

/** A shorter idle_in_transaction_session_timeout for the phase's transaction (tests). */
export function setIdleInTransactionTimeout(ms: number): string {
  return `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1, Math.floor(ms))}`
}

/** A shorter lock_timeout for the phase's transaction (tests make a blocked statement fail fast). */
export function setLockTimeout(ms: number): string {
  return `SET LOCAL lock_timeout = ${Math.max(1, Math.floor(ms))}`
}

/**
 * The write-back record (see src/postgres/writeback-record.ts) runs on a second, autocommit
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

/** Whether the admin may read pg_authid (superusers only, unless granted): pgbouncer-userlist reads verifiers there. */
export const CAN_READ_AUTHID = `SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS readable`

/** The stored password (a SCRAM verifier, an md5 hash, or null) of the given roles; needs CAN_READ_AUTHID. */
export const READ_VERIFIERS = `SELECT rolname AS name, rolpassword AS secret FROM pg_catalog.pg_authid WHERE rolname = ANY($1::text[])`

/**
 * What the group role ($1) still lacks in the admin's database for an application
 * to use it (step 5 of the prerequisites in docs/managed-services.md): CONNECT on
 * the database, USAGE and CREATE on schema public (when it exists), and who owns
 * them (pg_database_owner, the owner of public since PostgreSQL 15, resolved to the
 * database's owner). Run after setup's commit, when the group exists.
 */
export const READ_GROUP_GRANTS = `
SELECT pg_catalog.current_database() AS database,
       pg_catalog.pg_get_userbyid(d.datdba) AS database_owner,
       pg_catalog.has_database_privilege($1::pg_catalog.name, d.oid, 'CONNECT') AS can_connect,
       n.oid IS NOT NULL AS has_public,
       CASE WHEN o.rolname OPERATOR(pg_catalog.=) 'pg_database_owner' THEN pg_catalog.pg_get_userbyid(d.datdba)
            ELSE o.rolname END AS schema_owner,
       pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'USAGE') AS schema_usage,
       pg_catalog.has_schema_privilege($1::pg_catalog.name, n.oid, 'CREATE') AS schema_create
  FROM pg_catalog.pg_database d
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) 'public'
  LEFT JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) n.nspowner
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()`

/** Run by the incoming login right after open, to prove its credentials and SET role default. */
export const WHO_AM_I =
  'SELECT current_user AS current_user, session_user AS session_user, pg_catalog.pg_backend_pid() AS pid'

/** After the login check disconnected: is its backend still listed (it exits asynchronously)? Run after CLEAR_STATS_SNAPSHOT. */
export const BACKEND_LISTED = 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1) AS listed'

// ---- replicas (replica-urls) ------------------------------------------------

/** On a replica, before any change: it must be a standby (a primary never replays the phase's commit). */
export const IS_STANDBY = 'SELECT pg_catalog.pg_is_in_recovery() AS standby'

/**
 * The cluster's system identifier (pg_control_system(), executable by every role): a standby
 * has its primary's. A standby of another cluster has WAL positions that mean nothing for
 * this primary's commits, so waiting on its replay could report success it never had.
 */
export const SYSTEM_IDENTIFIER = 'SELECT system_identifier::text AS system FROM pg_catalog.pg_control_system()'

/**
 * On the primary, right after a COMMIT on the same connection: a WAL position at
 * or past the end of that commit record (the insert position: with
 * synchronous_commit off the write position may still be before it), and the
 * page size, to see a replay that stopped at the page boundary just before it.
 */
export const WAL_POSITION = `
SELECT pg_catalog.pg_current_wal_insert_lsn()::text AS lsn,
       pg_catalog.current_setting('wal_block_size')::int AS block_size`

/** On a replica: how far it has received and replayed WAL, and why it may lag ($1: the commit's position). */
export const REPLAY_POSITION = `
SELECT pg_catalog.pg_last_wal_replay_lsn()::text AS replayed,
       pg_catalog.pg_last_wal_receive_lsn()::text AS received,
       pg_catalog.pg_wal_lsn_diff($1::text::pg_catalog.pg_lsn, pg_catalog.pg_last_wal_replay_lsn())::bigint::text AS behind,
       round(extract(epoch FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp()))::int AS replay_age_s,
       pg_catalog.current_setting('recovery_min_apply_delay') AS apply_delay`

// ---- changes (rendered from plan steps) ---------------------------------------

export type Step =
  | { kind: 'create-role'; role: string }
  | { kind: 'grant-membership'; login: string; group: string }
  | { kind: 'set-default-role'; login: string; group: string }
  | { kind: 'enable-login'; role: string }
  | { kind: 'disable-login'; role: string }
  | { kind: 'write-state'; group: string; state: FamilyState }
  | { kind: 'set-setting'; role: string; database: string | null; name: string; value: string }
  | { kind: 'reset-setting'; role: string; database: string | null; name: string }
  | { kind: 'set-connection-limit'; role: string; limit: number }

export interface Statement {
  sql: string
  /** The same statement with any password or verifier replaced by '***', for logs and summaries. */
  display: string
  /**
   * It carries a password or verifier: it goes to the server alone, never in a query string
   * with others, so that another statement's failure cannot put it in the server log
   * (log_min_error_statement logs the whole query string of a failed statement).
   */
  secret?: true
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
    case 'set-setting':
      // Values and names are server text (a login may set its own settings): the display stays on one line.
      return oneLineDisplay(
        `ALTER ROLE ${q(step.role)}${inDatabase(step.database)} SET ${q(step.name)} TO ${settingValueSql(step.name, step.value)}`,
      )
    case 'reset-setting':
      return oneLineDisplay(`ALTER ROLE ${q(step.role)}${inDatabase(step.database)} RESET ${q(step.name)}`)
    case 'set-connection-limit':
      return plain(`ALTER ROLE ${q(step.role)} CONNECTION LIMIT ${Math.trunc(step.limit)}`)
  }
}

function plain(sql: string): Statement {
  return { sql, display: sql }
}

function withSecret(prefix: string, secret: string): Statement {
  return { sql: `${prefix} ${lit(secret)}`, display: `${prefix} '***'`, secret: true }
}

function requireSecret(step: Step, secret: string | undefined): string {
  if (!secret) throw new Error(`internal: ${step.kind} needs a password`)
  return secret
}

// ---- role configuration (settings, connection limit) --------------------------

/**
 * Each role's configuration a session depends on ($1: role names): connection
 * limit, VALID UNTIL (ISO text whatever the session's DateStyle) and every
 * setting, role-wide (database null) and IN DATABASE, as stored ("name=value").
 * Schema-qualified: it does not depend on the admin's search_path.
 */
export const READ_ROLE_CONFIG = `
SELECT r.rolname AS role,
       r.rolconnlimit AS connection_limit,
       pg_catalog.to_json(r.rolvaliduntil) #>> '{}' AS valid_until,
       (SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object('database', d.datname, 'entry', u.c)
                 ORDER BY d.datname NULLS FIRST, u.o), '[]'::pg_catalog.json)
          FROM pg_catalog.pg_db_role_setting s
          LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
          CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) WITH ORDINALITY AS u(c, o)
         WHERE s.setrole = r.oid AND (s.setdatabase = 0 OR d.oid IS NOT NULL)) AS settings
  FROM pg_catalog.pg_roles r
 WHERE r.rolname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])`

/**
 * Who else holds a family role ($1): every direct membership in it, with whether
 * it carries ADMIN OPTION (on PostgreSQL 16+ one row per grantor: any of them) and
 * whether the member is a superuser. The planner and drift decide which are expected.
 */
export const READ_FAMILY_GRANTEES = `
SELECT g.rolname AS role, m.rolname AS member, pg_catalog.bool_or(am.admin_option) AS admin_option,
       m.rolsuper AS superuser
  FROM pg_catalog.pg_auth_members am
  JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) am.roleid
  JOIN pg_catalog.pg_roles m ON m.oid OPERATOR(pg_catalog.=) am.member
 WHERE g.rolname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])
 GROUP BY 1, 2, 4
 ORDER BY 1, 2`

/**
 * What observe() reads, in one round trip: OBSERVE_FAMILY, plus each role's
 * configuration (READ_ROLE_CONFIG), the sessions of every role of the family
 * (READ_SESSIONS) and the memberships in its roles (READ_FAMILY_GRANTEES), as JSON arrays. $1: the group first, then the logins.
 */
export const OBSERVE_EVERYTHING = `
SELECT f.*,
       (SELECT COALESCE(pg_catalog.json_agg(c), '[]'::pg_catalog.json) FROM (${READ_ROLE_CONFIG}) c) AS configs,
       (SELECT COALESCE(pg_catalog.json_agg(s), '[]'::pg_catalog.json) FROM (${READ_SESSIONS}) s) AS sessions,
       (SELECT COALESCE(pg_catalog.json_agg(m), '[]'::pg_catalog.json) FROM (${READ_FAMILY_GRANTEES}) m) AS grantees
  FROM (${OBSERVE_FAMILY}) f`

function oneLineDisplay(sql: string): Statement {
  return { sql, display: oneLine(sql) }
}

function inDatabase(database: string | null): string {
  return database === null ? '' : ` IN DATABASE ${q(database)}`
}

/**
 * Settings PostgreSQL marks GUC_LIST_QUOTE: pg_db_role_setting stores their
 * value as a list whose elements are already double-quoted where needed
 * (`myschema, "My Schema", public`). The list pg_dump keeps
 * (variable_is_guc_list_quote), since the server cannot be asked.
 */
export const LIST_QUOTE_SETTINGS: ReadonlySet<string> = new Set([
  'local_preload_libraries',
  'search_path',
  'session_preload_libraries',
  'shared_preload_libraries',
  'temp_tablespaces',
  'unix_socket_directories',
])

/**
 * The SQL for a stored setting value in `SET name TO ...`. A plain value is one
 * literal. A list setting is split into its elements, each one literal
 * (`'myschema', 'My Schema', 'public'`), as pg_dump's makeAlterConfigCommand
 * does: `'myschema, public'` as one literal would be a single schema named
 * "myschema, public".
 */
export function settingValueSql(name: string, stored: string): string {
  if (!LIST_QUOTE_SETTINGS.has(name.toLowerCase())) return lit(stored)
  const elements = splitGucList(stored)
  if (elements === null || elements.length === 0) return lit(stored)
  return elements.map((e) => lit(e)).join(', ')
}

/**
 * Splits a stored list value like PostgreSQL's SplitGUCList: elements are
 * separated by commas, whitespace around them is dropped, a double-quoted
 * element keeps everything inside (a doubled quote is one quote). Unquoted
 * elements keep their case. Returns null on a syntax error.
 */
export function splitGucList(raw: string): string[] | null {
  const out: string[] = []
  let i = 0
  const ws = (c: string | undefined) => c !== undefined && /^[ \t\n\v\f\r]$/.test(c)
  while (ws(raw[i])) i++
  if (i === raw.length) return out
  for (;;) {
    let element = ''
    if (raw[i] === '"') {
      i++
      for (;;) {
        const end = raw.indexOf('"', i)
        if (end < 0) return null
        element += raw.slice(i, end)
        if (raw[end + 1] === '"') {
          element += '"'
          i = end + 2
          continue
        }
        i = end + 1
        break
      }
    } else {
      const start = i
      while (i < raw.length && raw[i] !== ',' && !ws(raw[i])) i++
      if (i === start) return null
      element = raw.slice(start, i)
    }
    while (ws(raw[i])) i++
    out.push(element)
    if (i === raw.length) return out
    if (raw[i] !== ',') return null
    i++
    while (ws(raw[i])) i++
  }
}

/** A catalog whose ACL column READ_DIRECT_GRANTS explodes: what kind of object, from where, its name, any extra condition. */
interface AclSource {
  kind: string
  from: string
  name: string
  acl: string
  where?: string
}

const quoted = (...parts: string[]): string => parts.map((p) => `pg_catalog.quote_ident(${p})`).join(` || '.' || `)
const NAMESPACE_OF = (alias: string, column: string): string =>
  `JOIN pg_catalog.pg_namespace n ON n.oid = ${alias}.${column}`

const ACL_SOURCES: readonly AclSource[] = [
  {
    kind: 'table',
    from: `pg_catalog.pg_class c ${NAMESPACE_OF('c', 'relnamespace')}`,
    name: quoted('n.nspname', 'c.relname'),
    acl: 'c.relacl',
  },
  {
    kind: 'column',
    from: `pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid = t.attrelid ${NAMESPACE_OF('c', 'relnamespace')}`,
    name: quoted('n.nspname', 'c.relname', 't.attname'),
    acl: 't.attacl',
    where: 'NOT t.attisdropped',
  },
  { kind: 'schema', from: 'pg_catalog.pg_namespace n', name: quoted('n.nspname'), acl: 'n.nspacl' },
  {
    kind: 'function',
    from: `pg_catalog.pg_proc p ${NAMESPACE_OF('p', 'pronamespace')}`,
    name: `${quoted('n.nspname', 'p.proname')} || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'`,
    acl: 'p.proacl',
  },
  {
    kind: 'type',
    from: `pg_catalog.pg_type t ${NAMESPACE_OF('t', 'typnamespace')}`,
    name: quoted('n.nspname', 't.typname'),
    acl: 't.typacl',
  },
  { kind: 'database', from: 'pg_catalog.pg_database d', name: quoted('d.datname'), acl: 'd.datacl' },
  { kind: 'tablespace', from: 'pg_catalog.pg_tablespace s', name: quoted('s.spcname'), acl: 's.spcacl' },
  { kind: 'language', from: 'pg_catalog.pg_language l', name: quoted('l.lanname'), acl: 'l.lanacl' },
  { kind: 'foreign server', from: 'pg_catalog.pg_foreign_server f', name: quoted('f.srvname'), acl: 'f.srvacl' },
  {
    kind: 'foreign-data wrapper',
    from: 'pg_catalog.pg_foreign_data_wrapper w',
    name: quoted('w.fdwname'),
    acl: 'w.fdwacl',
  },
  {
    kind: 'default privilege',
    from: 'pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace',
    name: `'for role ' || ${quoted('pg_catalog.pg_get_userbyid(d.defaclrole)')} || ' on objects of type ' || d.defaclobjtype::pg_catalog.text || CASE WHEN d.defaclnamespace = 0 THEN '' ELSE ' in schema ' || ${quoted('n.nspname')} END`,
    acl: 'd.defaclacl',
  },
]

function aclBranch(src: AclSource): string {
  const where = [`${src.acl} IS NOT NULL`, ...(src.where ? [src.where] : [])].join(' AND ')
  return `  SELECT ${lit(src.kind)} AS kind, ${src.name} AS object, a.grantee, a.grantor
    FROM ${src.from}, pg_catalog.aclexplode(${src.acl}) a
   WHERE ${where}`
}

/**
 * Privileges granted directly to the logins ($1) in the current database
 * (relations, columns, schemas, functions, types, languages, foreign servers
 * and wrappers, default privileges) and cluster-wide (databases, tablespaces):
 * per login and kind, how many objects and the first three. An owner's own
 * entry (grantor = grantee) is left out: ownership is reported on its own.
 */
export const READ_DIRECT_GRANTS = `
WITH logins AS (SELECT oid, rolname FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])),
acl AS (
${ACL_SOURCES.map(aclBranch).join('\n  UNION ALL\n')}
)
SELECT l.rolname AS login, acl.kind, pg_catalog.current_database() AS database,
       pg_catalog.count(DISTINCT acl.object)::pg_catalog.int4 AS objects,
       (pg_catalog.array_agg(DISTINCT acl.object ORDER BY acl.object))[1:3] AS examples
  FROM acl JOIN logins l ON l.oid = acl.grantee
 WHERE acl.grantee OPERATOR(pg_catalog.<>) acl.grantor
 GROUP BY 1, 2
 ORDER BY 1, 2`

/** Roles other than the group ($2) that the logins ($1) are direct members of. */
export const READ_LOGIN_MEMBERSHIPS = `
SELECT DISTINCT m.rolname AS login, g.rolname AS role
  FROM pg_catalog.pg_auth_members am
  JOIN pg_catalog.pg_roles m ON m.oid = am.member
  JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
 WHERE m.rolname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[]) AND g.rolname OPERATOR(pg_catalog.<>) $2
 ORDER BY 1, 2`

// ---- adoption checks (read-only, after setup with adopt: true) ------------------

/** The adopted role's attributes a login role does not inherit, and whether the admin may read pg_hba_file_rules. */
export const READ_ADOPTION_ROLE = `
SELECT r.rolreplication AS replication,
       pg_catalog.current_database() AS database,
       pg_catalog.has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT')
         AND pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') AS can_read_hba,
       (SELECT pg_catalog.count(*)::pg_catalog.int4 FROM pg_catalog.pg_default_acl d WHERE d.defaclrole = r.oid) AS default_acls
  FROM pg_catalog.pg_roles r
 WHERE r.rolname OPERATOR(pg_catalog.=) $1`

/** pg_hba.conf rules (as on disk) whose user field names the role $1 itself (not +role, which its members match). */
export const READ_HBA_RULES_FOR_ROLE = `
SELECT line_number, type, pg_catalog.array_to_string(database, ',') AS database, address, auth_method
  FROM pg_catalog.pg_hba_file_rules
 WHERE $1::pg_catalog.text OPERATOR(pg_catalog.=) ANY(user_name)
 ORDER BY line_number`

/**
 * Objects in the current database whose definition mentions session_user,
 * which becomes the login's name once sessions log in as the logins (best
 * effort: row-level security policies, functions, column defaults, views),
 * among those owned by the adopted role ($1) or naming it.
 */
export const READ_SESSION_USER_MENTIONS = `
SELECT kind, name FROM (
  SELECT 'policy' AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || ' policy ' || pg_catalog.quote_ident(p.polname) AS name,
         COALESCE(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' ' || COALESCE(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '') AS def, c.relowner AS owner
    FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'function', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', p.prosrc, p.proowner
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'column default', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || '.' || pg_catalog.quote_ident(a.attname), pg_catalog.pg_get_expr(d.adbin, d.adrelid), c.relowner
    FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_class c ON c.oid = d.adrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'view', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), pg_catalog.pg_get_viewdef(c.oid), c.relowner
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
) x
 WHERE def OPERATOR(pg_catalog.~*) '\\msession_user\\M'
   AND (pg_catalog.pg_get_userbyid(owner) OPERATOR(pg_catalog.=) $1::pg_catalog.text
        OR pg_catalog.strpos(pg_catalog.lower(def), pg_catalog.lower($1::pg_catalog.text)) > 0)
 ORDER BY 1, 2
 LIMIT 21`

// ---- pooler admin consoles (PgBouncer; simple query protocol, no parameters) --

/** What the console is asked on each poll: its version, who is logged in, which server connections it holds, its pools, its database entries. */
export const CONSOLE = {
  version: 'SHOW VERSION',
  clients: 'SHOW CLIENTS',
  servers: 'SHOW SERVERS',
  pools: 'SHOW POOLS',
  databases: 'SHOW DATABASES',
  /**
   * A harmless probe of admin rights (PgBouncer 1.24+): client ids start at 1, so an admin
   * console answers "client not found" and a stats_users console "admin access needed".
   */
  killRightsProbe: 'KILL_CLIENT 0',
} as const

/** Ends one pooler client (PgBouncer 1.24+); `id` is the numeric id SHOW CLIENTS gave. */
export function killClient(id: string): string {
  if (!/^\d+$/.test(id)) throw new Error(`internal: KILL_CLIENT needs a numeric client id`)
  return `KILL_CLIENT ${id}`
}
