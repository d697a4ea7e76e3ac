"use strict";
exports.id = 918;
exports.ids = [918];
exports.modules = {

/***/ 6774:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   m: () => (/* binding */ systemClock)
/* harmony export */ });
/** Wall-clock time and real timers. */
const systemClock = {
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};


/***/ }),

/***/ 9231:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   P: () => (/* binding */ silentReporter),
/* harmony export */   w: () => (/* binding */ reportProgress)
/* harmony export */ });
/** Reports a status line through the front end's progress, or as an info line when it has none. */
function reportProgress(reporter, message) {
    if (reporter.progress)
        reporter.progress(message);
    else
        reporter.info(message);
}
const silentReporter = { info() { }, warning() { }, debug() { }, secret() { } };


/***/ }),

/***/ 6906:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Z: () => (/* binding */ retryWithBackoff)
/* harmony export */ });
/* harmony import */ var _clock_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6774);

/**
 * Runs fn until it succeeds, waiting between attempts with exponential backoff
 * (initialMs, doubling up to maxMs) or the fixed delaysMs. Rethrows the last
 * failure as is when it is not retryable, when the budget would be exceeded by
 * the next wait, or when delaysMs is used up.
 */
async function retryWithBackoff(fn, opts = {}) {
    const clock = opts.clock ?? _clock_js__WEBPACK_IMPORTED_MODULE_0__/* .systemClock */ .m;
    const deadline = opts.budgetMs === undefined ? undefined : clock.now().getTime() + opts.budgetMs;
    const retryable = opts.isRetryable ?? (() => true);
    let backoff = opts.initialMs ?? 200;
    let previousError = undefined;
    for (let number = 1;; number++) {
        try {
            return await fn({ number, previousError, deadline });
        }
        catch (error) {
            const delayMs = opts.delaysMs ? opts.delaysMs[number - 1] : backoff;
            if (delayMs === undefined || !retryable(error))
                throw error;
            if (deadline !== undefined && clock.now().getTime() + delayMs > deadline)
                throw error;
            opts.onRetry?.({ error, attempt: number, delayMs });
            await clock.sleep(delayMs);
            backoff = Math.min(backoff * 2, opts.maxMs ?? 5000);
            previousError = error;
        }
    }
}


/***/ }),

/***/ 1918:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runPhase: () => (/* binding */ runPhase)
});

// EXTERNAL MODULE: ./node_modules/pg/esm/index.mjs
var esm = __webpack_require__(3849);
// EXTERNAL MODULE: ./src/domain/errors.ts
var errors = __webpack_require__(241);
// EXTERNAL MODULE: ./src/domain/escape.ts
var domain_escape = __webpack_require__(9757);
// EXTERNAL MODULE: ./src/domain/state.ts
var domain_state = __webpack_require__(781);
;// CONCATENATED MODULE: ./src/postgres/statements.ts



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
const PIN_SEARCH_PATH = "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)";
/**
 * The first statement on every admin connection: PIN_SEARCH_PATH, after making
 * the session run as the role that logged in. A database- or role-level setting
 * (`ALTER DATABASE appdb SET role = 'app_a'`, which the database's owner may run)
 * would otherwise make the admin act as another role. Order matters: SET SESSION
 * AUTHORIZATION DEFAULT (allowed to any role: it returns to the authenticated
 * user) re-applies the connection-time `role`, and RESET ROLE would too; only
 * SET ROLE NONE, last, returns current_user to session_user.
 */
const RUN_AS_SESSION_USER = `SET SESSION AUTHORIZATION DEFAULT; SET ROLE NONE; ${PIN_SEARCH_PATH}`;
/**
 * Everything a phase decides on, in one round trip: the server, the admin's
 * privileges, and for each family role ($1: group first, then the logins) its
 * attributes, role-wide settings, comment (the state), the admin's ADMIN
 * OPTION on it and its membership in the group (SET and INHERIT options on
 * PostgreSQL 16+; before 16 every membership allows SET ROLE and inheritance
 * is the member's rolinherit). Sessions are read by READ_SESSIONS.
 */
const OBSERVE_FAMILY = `
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
 WHERE a.rolname = session_user`;
/**
 * Whether pg_stat_activity hides a session's client address from the admin:
 * without pg_read_all_stats (or the privileges of the session's role) the
 * address is NULL, as for a local socket, and must not be called one.
 */
const ADDR_HIDDEN = `NOT (pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') OR pg_catalog.pg_has_role(current_user, usesysid, 'USAGE'))`;
/** Sessions of the given logins in every database, except the action's own. */
const READ_SESSIONS = `
SELECT usename AS login,
       datname AS database,
       coalesce(application_name, '') AS application_name,
       host(client_addr) AS client_addr,
       ${ADDR_HIDDEN} AS addr_hidden,
       count(*)::int AS count
  FROM pg_stat_activity
 WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid()
 GROUP BY 1, 2, 3, 4, 5
 ORDER BY 1, 2, 3, 4, 5`;
/** Backends of the given logins one by one (pid, state), to match them with poolers' server connections. */
const READ_BACKENDS = `
SELECT pid, usename AS login, datname AS database, state,
       coalesce(application_name, '') AS application_name,
       host(client_addr) AS client_addr,
       pg_catalog.to_json(backend_start) #>> '{}' AS backend_start,
       ${ADDR_HIDDEN} AS addr_hidden
  FROM pg_stat_activity
 WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid()
 ORDER BY pid`;
/** Ends the given backends of one login (a pooler's idle server connections); returns how many were signalled. */
const TERMINATE_BACKENDS = `
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS terminated
  FROM pg_stat_activity
 WHERE usename = $1 AND pid = ANY($2::int[]) AND pid <> pg_backend_pid()`;
/** pg_stat_activity is a snapshot frozen for the transaction; clear it before each poll. */
const CLEAR_STATS_SNAPSHOT = 'SELECT pg_stat_clear_snapshot()';
/** Ends every session of one login (except the action's own); returns how many were signalled. */
const TERMINATE_SESSIONS = `
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS terminated
  FROM pg_stat_activity
 WHERE usename = $1 AND pid <> pg_backend_pid()`;
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
const GROUP_INHERITS = `
SELECT g.rolinherit AS inherit,
       pg_has_role(session_user, g.oid, 'MEMBER WITH ADMIN OPTION') AS admin_option,
       (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS superuser,
       (SELECT rolcreaterole FROM pg_roles WHERE rolname = session_user) AS createrole,
       current_setting('server_version_num')::int AS version,
       session_user AS admin
  FROM pg_roles g
 WHERE g.rolname = $1`;
function serializeOnGroup(group, inherit) {
    return `ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(group)} WITH ${inherit ? 'INHERIT' : 'NOINHERIT'}`;
}
/**
 * Who holds what a phase may wait for, when its lock_timeout passed: sessions with a
 * write lock on a role catalog (a row of pg_authid, pg_auth_members, role settings or
 * comments changed in a transaction still open) or a lock on one of the family's roles
 * ($1). pg_locks is readable by every role; `since` (the transaction's start, else
 * the backend's) is null where pg_stat_activity hides it (pg_read_all_stats).
 */
const READ_ROLE_LOCK_HOLDERS = `
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
 LIMIT 6`;
/**
 * Starts a phase's transaction, bounding how long its statements may wait for locks or run, and
 * how long it may sit idle holding the family's locks (one round trip). The idle limit ends a
 * transaction whose runner stalled or vanished; it is well above the longest wait the action
 * itself makes inside it (close's GitHub write-back: 10 s per request, one retry, per secret).
 */
const BEGIN_PHASE = `BEGIN; SET LOCAL lock_timeout = '30s'; SET LOCAL statement_timeout = '120s'; SET LOCAL idle_in_transaction_session_timeout = '5min'`;
/** BEGIN_PHASE's lock_timeout, for a caller that must wait less (setLockTimeout). */
const PHASE_LOCK_TIMEOUT_MS = 30_000;
/** Ends a phase's transaction: its changes stand, or none of them do. */
const COMMIT = 'COMMIT';
const ROLLBACK = 'ROLLBACK';
/**
 * A plan's statements go to the server as one query string, after this savepoint: when one
 * of them fails, the phase rolls back to it and runs them again one at a time, so that the
 * error names the statement (see runPlanStatements in apply.ts).
 */
const PLAN_SAVEPOINT = 'SAVEPOINT pg_credential_rotation_plan';
const ROLLBACK_TO_PLAN_SAVEPOINT = 'ROLLBACK TO SAVEPOINT pg_credential_rotation_plan';
/**
 * The query string that runs a plan's statements in one round trip. Every statement is
 * one complete statement rendered by renderStep (identifiers and literals quoted), so
 * joining them with `;` changes nothing about any of them. Never a statement that carries
 * a secret (see Statement.secret).
 */
function planBatch(statements) {
    return [PLAN_SAVEPOINT, ...statements.map((s) => s.sql)].join(';\n');
}
/** The database a connection is in (fix-ownership visits the others on connections of their own). */
const CURRENT_DATABASE = 'SELECT pg_catalog.current_database() AS db';
/** A shorter idle_in_transaction_session_timeout for the phase's transaction (tests). */
function setIdleInTransactionTimeout(ms) {
    return `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1, Math.floor(ms))}`;
}
/** A shorter lock_timeout for the phase's transaction (tests make a blocked statement fail fast). */
function setLockTimeout(ms) {
    return `SET LOCAL lock_timeout = ${Math.max(1, Math.floor(ms))}`;
}
/**
 * The write-back record (see src/postgres/writeback-record.ts) runs on a second, autocommit
 * connection while the phase's transaction holds the family lock: it must never
 * wait long on that transaction.
 */
const RECORD_TIMEOUTS = `SET lock_timeout = '5s'; SET statement_timeout = '10s'`;
/** The group role's comment (the state), read outside the phase's transaction by the write-back record. */
const READ_STATE_COMMENT = `SELECT pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment FROM pg_catalog.pg_roles r WHERE r.rolname = $1`;
/** Objects owned by the given roles, per database (pg_shdepend; dbid 0 = shared objects). */
const READ_OWNERSHIP = `
SELECT r.rolname AS role, coalesce(d.datname, '') AS database, count(*)::int AS objects
  FROM pg_shdepend s
  JOIN pg_roles r ON r.oid = s.refobjid
  LEFT JOIN pg_database d ON d.oid = s.dbid
 WHERE s.refclassid = 'pg_authid'::regclass AND s.deptype = 'o' AND r.rolname = ANY($1::text[])
 GROUP BY 1, 2
 ORDER BY 1, 2`;
/** Moves what the login roles own in the current database (and shared objects) to the group role. */
function reassignOwned(logins, group) {
    return `REASSIGN OWNED BY ${logins.map((l) => (0,esm/* escapeIdentifier */.F)(l)).join(', ')} TO ${(0,esm/* escapeIdentifier */.F)(group)}`;
}
/** Whether the admin may read pg_authid (superusers only, unless granted): pgbouncer-userlist reads verifiers there. */
const CAN_READ_AUTHID = `SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS readable`;
/** The stored password (a SCRAM verifier, an md5 hash, or null) of the given roles; needs CAN_READ_AUTHID. */
const READ_VERIFIERS = `SELECT rolname AS name, rolpassword AS secret FROM pg_catalog.pg_authid WHERE rolname = ANY($1::text[])`;
/**
 * What the group role ($1) still lacks in the admin's database for an application
 * to use it (step 5 of the prerequisites in docs/managed-services.md): CONNECT on
 * the database, USAGE and CREATE on schema public (when it exists), and who owns
 * them (pg_database_owner, the owner of public since PostgreSQL 15, resolved to the
 * database's owner). Run after setup's commit, when the group exists.
 */
const READ_GROUP_GRANTS = `
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
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()`;
/** Run by the incoming login right after open, to prove its credentials and SET role default. */
const WHO_AM_I = 'SELECT current_user AS current_user, session_user AS session_user, pg_catalog.pg_backend_pid() AS pid';
/** After the login check disconnected: is its backend still listed (it exits asynchronously)? Run after CLEAR_STATS_SNAPSHOT. */
const BACKEND_LISTED = 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1) AS listed';
// ---- replicas (replica-urls) ------------------------------------------------
/** On a replica, before any change: it must be a standby (a primary never replays the phase's commit). */
const IS_STANDBY = 'SELECT pg_catalog.pg_is_in_recovery() AS standby';
/**
 * The cluster's system identifier (pg_control_system(), executable by every role): a standby
 * has its primary's. A standby of another cluster has WAL positions that mean nothing for
 * this primary's commits, so waiting on its replay could report success it never had.
 */
const SYSTEM_IDENTIFIER = 'SELECT system_identifier::text AS system FROM pg_catalog.pg_control_system()';
/**
 * On the primary, right after a COMMIT on the same connection: a WAL position at
 * or past the end of that commit record (the insert position: with
 * synchronous_commit off the write position may still be before it), and the
 * page size, to see a replay that stopped at the page boundary just before it.
 */
const WAL_POSITION = `
SELECT pg_catalog.pg_current_wal_insert_lsn()::text AS lsn,
       pg_catalog.current_setting('wal_block_size')::int AS block_size`;
/** On a replica: how far it has received and replayed WAL, and why it may lag ($1: the commit's position). */
const REPLAY_POSITION = `
SELECT pg_catalog.pg_last_wal_replay_lsn()::text AS replayed,
       pg_catalog.pg_last_wal_receive_lsn()::text AS received,
       pg_catalog.pg_wal_lsn_diff($1::text::pg_catalog.pg_lsn, pg_catalog.pg_last_wal_replay_lsn())::bigint::text AS behind,
       round(extract(epoch FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp()))::int AS replay_age_s,
       pg_catalog.current_setting('recovery_min_apply_delay') AS apply_delay`;
/**
 * Renders a step. `secret` is the password literal (a SCRAM verifier, or the
 * plaintext with password-encryption: server) for enable-login/disable-login.
 */
function renderStep(step, serverVersion, secret) {
    switch (step.kind) {
        case 'create-role':
            return plain(`CREATE ROLE ${(0,esm/* escapeIdentifier */.F)(step.role)} NOLOGIN`);
        case 'grant-membership':
            return plain(serverVersion >= 160000
                ? `GRANT ${(0,esm/* escapeIdentifier */.F)(step.group)} TO ${(0,esm/* escapeIdentifier */.F)(step.login)} WITH INHERIT TRUE, SET TRUE`
                : `GRANT ${(0,esm/* escapeIdentifier */.F)(step.group)} TO ${(0,esm/* escapeIdentifier */.F)(step.login)}`);
        case 'set-default-role':
            return plain(`ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(step.login)} SET role = ${(0,esm/* escapeLiteral */.NO)(step.group)}`);
        case 'enable-login':
            return withSecret(`ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(step.role)} WITH LOGIN PASSWORD`, requireSecret(step, secret));
        case 'disable-login':
            return withSecret(`ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(step.role)} WITH NOLOGIN PASSWORD`, requireSecret(step, secret));
        case 'write-state':
            return plain(`COMMENT ON ROLE ${(0,esm/* escapeIdentifier */.F)(step.group)} IS ${(0,esm/* escapeLiteral */.NO)((0,domain_state/* serializeState */.sU)(step.state))}`);
        case 'set-setting':
            // Values and names are server text (a login may set its own settings): the display stays on one line.
            return oneLineDisplay(`ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(step.role)}${inDatabase(step.database)} SET ${(0,esm/* escapeIdentifier */.F)(step.name)} TO ${settingValueSql(step.name, step.value)}`);
        case 'reset-setting':
            return oneLineDisplay(`ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(step.role)}${inDatabase(step.database)} RESET ${(0,esm/* escapeIdentifier */.F)(step.name)}`);
        case 'set-connection-limit':
            return plain(`ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(step.role)} CONNECTION LIMIT ${Math.trunc(step.limit)}`);
    }
}
function plain(sql) {
    return { sql, display: sql };
}
function withSecret(prefix, secret) {
    return { sql: `${prefix} ${(0,esm/* escapeLiteral */.NO)(secret)}`, display: `${prefix} '***'`, secret: true };
}
function requireSecret(step, secret) {
    if (!secret)
        throw new Error(`internal: ${step.kind} needs a password`);
    return secret;
}
// ---- role configuration (settings, connection limit) --------------------------
/**
 * Each role's configuration a session depends on ($1: role names): connection
 * limit, VALID UNTIL (ISO text whatever the session's DateStyle) and every
 * setting, role-wide (database null) and IN DATABASE, as stored ("name=value").
 * Schema-qualified: it does not depend on the admin's search_path.
 */
const READ_ROLE_CONFIG = `
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
 WHERE r.rolname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])`;
/**
 * Who else holds a family role ($1): every direct membership in it, with whether
 * it carries ADMIN OPTION (on PostgreSQL 16+ one row per grantor: any of them) and
 * whether the member is a superuser. The planner and drift decide which are expected.
 */
const READ_FAMILY_GRANTEES = `
SELECT g.rolname AS role, m.rolname AS member, pg_catalog.bool_or(am.admin_option) AS admin_option,
       m.rolsuper AS superuser
  FROM pg_catalog.pg_auth_members am
  JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) am.roleid
  JOIN pg_catalog.pg_roles m ON m.oid OPERATOR(pg_catalog.=) am.member
 WHERE g.rolname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[])
 GROUP BY 1, 2, 4
 ORDER BY 1, 2`;
/**
 * What observe() reads, in one round trip: OBSERVE_FAMILY, plus each role's
 * configuration (READ_ROLE_CONFIG), the sessions of every role of the family
 * (READ_SESSIONS) and the memberships in its roles (READ_FAMILY_GRANTEES), as JSON arrays. $1: the group first, then the logins.
 */
const OBSERVE_EVERYTHING = `
SELECT f.*,
       (SELECT COALESCE(pg_catalog.json_agg(c), '[]'::pg_catalog.json) FROM (${READ_ROLE_CONFIG}) c) AS configs,
       (SELECT COALESCE(pg_catalog.json_agg(s), '[]'::pg_catalog.json) FROM (${READ_SESSIONS}) s) AS sessions,
       (SELECT COALESCE(pg_catalog.json_agg(m), '[]'::pg_catalog.json) FROM (${READ_FAMILY_GRANTEES}) m) AS grantees
  FROM (${OBSERVE_FAMILY}) f`;
function oneLineDisplay(sql) {
    return { sql, display: (0,domain_escape/* oneLine */.TN)(sql) };
}
function inDatabase(database) {
    return database === null ? '' : ` IN DATABASE ${(0,esm/* escapeIdentifier */.F)(database)}`;
}
/**
 * Settings PostgreSQL marks GUC_LIST_QUOTE: pg_db_role_setting stores their
 * value as a list whose elements are already double-quoted where needed
 * (`myschema, "My Schema", public`). The list pg_dump keeps
 * (variable_is_guc_list_quote), since the server cannot be asked.
 */
const LIST_QUOTE_SETTINGS = new Set([
    'local_preload_libraries',
    'search_path',
    'session_preload_libraries',
    'shared_preload_libraries',
    'temp_tablespaces',
    'unix_socket_directories',
]);
/**
 * The SQL for a stored setting value in `SET name TO ...`. A plain value is one
 * literal. A list setting is split into its elements, each one literal
 * (`'myschema', 'My Schema', 'public'`), as pg_dump's makeAlterConfigCommand
 * does: `'myschema, public'` as one literal would be a single schema named
 * "myschema, public".
 */
function settingValueSql(name, stored) {
    if (!LIST_QUOTE_SETTINGS.has(name.toLowerCase()))
        return (0,esm/* escapeLiteral */.NO)(stored);
    const elements = splitGucList(stored);
    if (elements === null || elements.length === 0)
        return (0,esm/* escapeLiteral */.NO)(stored);
    return elements.map((e) => (0,esm/* escapeLiteral */.NO)(e)).join(', ');
}
/**
 * Splits a stored list value like PostgreSQL's SplitGUCList: elements are
 * separated by commas, whitespace around them is dropped, a double-quoted
 * element keeps everything inside (a doubled quote is one quote). Unquoted
 * elements keep their case. Returns null on a syntax error.
 */
function splitGucList(raw) {
    const out = [];
    let i = 0;
    const ws = (c) => c !== undefined && /^[ \t\n\v\f\r]$/.test(c);
    while (ws(raw[i]))
        i++;
    if (i === raw.length)
        return out;
    for (;;) {
        let element = '';
        if (raw[i] === '"') {
            i++;
            for (;;) {
                const end = raw.indexOf('"', i);
                if (end < 0)
                    return null;
                element += raw.slice(i, end);
                if (raw[end + 1] === '"') {
                    element += '"';
                    i = end + 2;
                    continue;
                }
                i = end + 1;
                break;
            }
        }
        else {
            const start = i;
            while (i < raw.length && raw[i] !== ',' && !ws(raw[i]))
                i++;
            if (i === start)
                return null;
            element = raw.slice(start, i);
        }
        while (ws(raw[i]))
            i++;
        out.push(element);
        if (i === raw.length)
            return out;
        if (raw[i] !== ',')
            return null;
        i++;
        while (ws(raw[i]))
            i++;
    }
}
const quoted = (...parts) => parts.map((p) => `pg_catalog.quote_ident(${p})`).join(` || '.' || `);
const NAMESPACE_OF = (alias, column) => `JOIN pg_catalog.pg_namespace n ON n.oid = ${alias}.${column}`;
const ACL_SOURCES = [
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
];
function aclBranch(src) {
    const where = [`${src.acl} IS NOT NULL`, ...(src.where ? [src.where] : [])].join(' AND ');
    return `  SELECT ${(0,esm/* escapeLiteral */.NO)(src.kind)} AS kind, ${src.name} AS object, a.grantee, a.grantor
    FROM ${src.from}, pg_catalog.aclexplode(${src.acl}) a
   WHERE ${where}`;
}
/**
 * Privileges granted directly to the logins ($1) in the current database
 * (relations, columns, schemas, functions, types, languages, foreign servers
 * and wrappers, default privileges) and cluster-wide (databases, tablespaces):
 * per login and kind, how many objects and the first three. An owner's own
 * entry (grantor = grantee) is left out: ownership is reported on its own.
 */
const READ_DIRECT_GRANTS = `
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
 ORDER BY 1, 2`;
/** Roles other than the group ($2) that the logins ($1) are direct members of. */
const READ_LOGIN_MEMBERSHIPS = `
SELECT DISTINCT m.rolname AS login, g.rolname AS role
  FROM pg_catalog.pg_auth_members am
  JOIN pg_catalog.pg_roles m ON m.oid = am.member
  JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
 WHERE m.rolname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.text[]) AND g.rolname OPERATOR(pg_catalog.<>) $2
 ORDER BY 1, 2`;
// ---- adoption checks (read-only, after setup with adopt: true) ------------------
/** The adopted role's attributes a login role does not inherit, and whether the admin may read pg_hba_file_rules. */
const READ_ADOPTION_ROLE = `
SELECT r.rolreplication AS replication,
       pg_catalog.current_database() AS database,
       pg_catalog.has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT')
         AND pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') AS can_read_hba,
       (SELECT pg_catalog.count(*)::pg_catalog.int4 FROM pg_catalog.pg_default_acl d WHERE d.defaclrole = r.oid) AS default_acls
  FROM pg_catalog.pg_roles r
 WHERE r.rolname OPERATOR(pg_catalog.=) $1`;
/** pg_hba.conf rules (as on disk) whose user field names the role $1 itself (not +role, which its members match). */
const READ_HBA_RULES_FOR_ROLE = `
SELECT line_number, type, pg_catalog.array_to_string(database, ',') AS database, address, auth_method
  FROM pg_catalog.pg_hba_file_rules
 WHERE $1::pg_catalog.text OPERATOR(pg_catalog.=) ANY(user_name)
 ORDER BY line_number`;
/**
 * Objects in the current database whose definition mentions session_user,
 * which becomes the login's name once sessions log in as the logins (best
 * effort: row-level security policies, functions, column defaults, views),
 * among those owned by the adopted role ($1) or naming it.
 */
const READ_SESSION_USER_MENTIONS = `
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
 LIMIT 21`;
// ---- pooler admin consoles (PgBouncer; simple query protocol, no parameters) --
/** What the console is asked on each poll: its version, who is logged in, which server connections it holds, its pools, its database entries. */
const CONSOLE = {
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
};
/** Ends one pooler client (PgBouncer 1.24+); `id` is the numeric id SHOW CLIENTS gave. */
function killClient(id) {
    if (!/^\d+$/.test(id))
        throw new Error(`internal: KILL_CLIENT needs a numeric client id`);
    return `KILL_CLIENT ${id}`;
}

// EXTERNAL MODULE: external "node:module"
var external_node_module_ = __webpack_require__(1376);
// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(7030);
var external_node_net_default = /*#__PURE__*/__webpack_require__.n(external_node_net_);
;// CONCATENATED MODULE: ./src/postgres/negotiate.ts


// node:tls is loaded when a server answers 'S', not before: a few ms a plaintext connection does not pay.
const lazyRequire = (0,external_node_module_.createRequire)(require("url").pathToFileURL(__filename).href);
const loadTls = () => lazyRequire('node:tls');
// Int32 length 8, then the SSLRequest code 1234.5679.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
/** Connects and negotiates TLS within `timeoutMs`; the stream is handed to pg as a connected socket. */
function openStream(plan, timeoutMs) {
    return new Promise((resolve, reject) => {
        let current;
        let settled = false;
        const fail = (e) => {
            if (settled)
                return;
            settled = true;
            clearTimeout(timer);
            current.destroy();
            reject(e);
        };
        const done = (stream, encrypted) => {
            if (settled)
                return;
            settled = true;
            clearTimeout(timer);
            // `fail` stays attached (a no-op now): an error before pg attaches its own listener must not crash.
            resolve({ stream: handOver(stream, paused), encrypted });
        };
        let paused = false;
        const timer = setTimeout(() => fail(new Error('timeout expired')), timeoutMs > 0 ? timeoutMs : 2 ** 31 - 1);
        timer.unref?.();
        const socket = plan.host.startsWith('/')
            ? external_node_net_default().connect({ path: `${plan.host}/.s.PGSQL.${plan.port}` })
            : external_node_net_default().connect({ host: plan.host, port: plan.port });
        current = socket;
        socket.setNoDelay(true);
        if (plan.keepAliveMs !== undefined)
            socket.setKeepAlive(true, plan.keepAliveMs);
        socket.on('error', fail);
        const upgrade = () => {
            const options = { socket, host: plan.host, ...(plan.ssl === true ? {} : plan.ssl) };
            // SNI must not be an IP address (RFC 6066, section 3); pg does the same.
            if (external_node_net_default().isIP(plan.host) === 0 && !plan.host.startsWith('/'))
                options.servername = plan.host;
            if (plan.direct)
                options.ALPNProtocols = ['postgresql'];
            const secure = loadTls().connect(options);
            current = secure;
            secure.on('error', fail);
            secure.once('secureConnect', () => secured(secure, plan.direct, fail, done));
        };
        socket.once('connect', () => {
            if (!plan.ssl)
                return done(socket, false);
            if (plan.direct)
                return upgrade();
            socket.write(SSL_REQUEST);
            socket.once('data', (chunk) => {
                socket.pause();
                paused = true;
                // More than the one-byte answer: data a man in the middle injected (CVE-2021-23222).
                if (chunk.length !== 1)
                    return fail(new Error('received unexpected data after the answer to the SSL request'));
                const answer = String.fromCharCode(chunk[0]);
                if (answer === 'S') {
                    paused = false;
                    return upgrade();
                }
                if (answer === 'N') {
                    if (plan.optional)
                        return done(socket, false);
                    return fail(new Error('The server does not support SSL connections'));
                }
                return fail(new Error('There was an error establishing an SSL connection'));
            });
        });
    });
}
/**
 * As libpq: a direct TLS connection counts only when the server selected ALPN "postgresql";
 * without it the peer may be another TLS service with a valid certificate for the host (ALPACA).
 */
function secured(secure, direct, fail, done) {
    if (!direct || secure.alpnProtocol === 'postgresql')
        return done(secure, true);
    fail(new Error('sslnegotiation=direct: the server did not select the ALPN protocol "postgresql" (PostgreSQL 17 or later does; a TLS service that is not PostgreSQL does not), so nothing was sent'));
}
/**
 * pg calls connect() on the stream it is given and waits for 'connect'; this
 * socket is connected already, so connect() only announces it (after pg has
 * attached its parser, which the same tick does) and resumes reading.
 */
function handOver(stream, paused) {
    stream.connect = (() => {
        process.nextTick(() => {
            if (paused)
                stream.resume();
            stream.emit('connect');
        });
        return stream;
    });
    return stream;
}
/** Why the connection refused to authenticate: the password was not sent. */
class AuthRefused extends Error {
    constructor(message) {
        super(message);
        this.name = 'AuthRefused';
    }
}
const ASKED = {
    password: 'a cleartext password',
    md5: 'an MD5-hashed password',
    'scram-sha-256': 'SCRAM-SHA-256 authentication',
    gss: 'GSSAPI authentication',
    sspi: 'SSPI authentication',
    none: 'no authentication',
};
/**
 * Watches node-postgres's connection for the server's authentication request
 * and releases the password only when the policy allows that method. Attach it
 * before client.connect(): its listeners then run before pg's own.
 */
class AuthGuard {
    policy;
    encrypted;
    secret;
    #method = null;
    #saslMechanism = null;
    #saslFinal = false;
    #refused = null;
    constructor(policy, encrypted, secret) {
        this.policy = policy;
        this.encrypted = encrypted;
        this.secret = secret;
    }
    /** Channel binding is used whenever TLS is, unless channel_binding=disable (libpq's prefer). */
    get bind() {
        return this.encrypted && this.policy.channelBinding !== 'disable';
    }
    attach(connection) {
        const check = (method, extra) => {
            this.#method = method;
            const problem = this.#problem(method) ?? extra?.() ?? null;
            if (problem)
                this.#refuse(connection, problem);
        };
        connection.on('authenticationCleartextPassword', () => check('password'));
        connection.on('authenticationMD5Password', () => check('md5'));
        connection.on('authenticationSASL', (msg) => check('scram-sha-256', () => {
            this.#saslMechanism = this.bind && msg.mechanisms.includes('SCRAM-SHA-256-PLUS') ? 'SCRAM-SHA-256-PLUS' : null;
            if (this.policy.channelBinding === 'require' && !this.#saslMechanism)
                return this.encrypted
                    ? 'channel_binding=require, but the server did not offer SCRAM-SHA-256-PLUS (authentication with channel binding)'
                    : 'channel_binding=require, but the connection is not encrypted (channel binding needs TLS)';
            return null;
        }));
        connection.on('authenticationSASLFinal', () => {
            this.#saslFinal = true;
        });
        connection.on('authenticationOk', () => {
            if (this.#method === null)
                return check('none');
            if (this.#method === 'scram-sha-256' && !this.#saslFinal)
                return this.#refuse(connection, 'the server ended SCRAM authentication without proving that it knows the password');
        });
    }
    /** pg's password: the secret, once the server's request passed the policy. */
    password = async () => {
        if (this.#refused)
            throw this.#refused;
        if (this.#method === null)
            throw new AuthRefused('internal: the password was asked for before the server asked');
        return this.secret();
    };
    #problem(method) {
        const { allowed, requireAuth, channelBinding } = this.policy;
        if (allowed && !allowed.has(method))
            return `require_auth=${requireAuth}, but the server asked for ${ASKED[method]}`;
        if (channelBinding === 'require' && method !== 'scram-sha-256')
            return `channel_binding=require, but the server asked for ${ASKED[method]}, which has no channel binding`;
        return null;
    }
    #refuse(connection, problem) {
        if (this.#refused)
            return;
        this.#refused = new AuthRefused(`${problem}; the password was not sent`);
        connection.emit('error', this.#refused);
        connection.stream?.destroy();
    }
}

// EXTERNAL MODULE: ./node_modules/pg-connection-string/esm/index.mjs
var pg_connection_string_esm = __webpack_require__(984);
;// CONCATENATED MODULE: ./src/postgres/tls.ts

const TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'sslnegotiation'];
/**
 * The TLS attempts for a connection, in libpq's order. An `sslmode` (or another
 * TLS parameter) in the URI is used as given; else PGSSLMODE; else libpq's
 * default, `prefer`: TLS without verification, and plaintext on the same
 * socket only when the server answers that it does not support SSL. `allow` is
 * the reverse: plaintext, and TLS on a second connection when the server
 * refuses a plaintext one (as libpq does).
 */
function tlsAttempts(target, base, env = process.env) {
    const params = target.url ? uriParams(target.url) : new Map();
    const fromUri = TLS_PARAMS.some((p) => params.has(p));
    const envMode = env.PGSSLMODE || 'prefer';
    const mode = fromUri ? params.get('sslmode') : envMode;
    const ssl = fromUri ? base.ssl : libpqSsl(envMode, env);
    const versions = tlsVersions(params);
    const unverified = { ...(typeof ssl === 'object' ? ssl : {}), rejectUnauthorized: false, ...versions };
    if (mode === 'prefer')
        return [{ ssl: unverified, optional: true }];
    if (mode === 'allow')
        return [{ ssl: false, fallBackOn: plaintextRefused }, { ssl: unverified }];
    if (!ssl || !Object.keys(versions).length)
        return [{ ssl }];
    return [{ ssl: { ...(ssl === true ? {} : ssl), ...versions } }];
}
/** ssl_min_protocol_version / ssl_max_protocol_version as Node's TLS options. */
function tlsVersions(params) {
    const v = {};
    const min = params.get('ssl_min_protocol_version');
    const max = params.get('ssl_max_protocol_version');
    if (min)
        v.minVersion = min;
    if (max)
        v.maxVersion = max;
    return v;
}
/** "The server does not support SSL connections": the server answered 'N' to SSLRequest. */
function serverHasNoTls(e) {
    return /does not support SSL/i.test(e?.message ?? '');
}
/** pg_hba.conf has no entry for an unencrypted connection (only hostssl lines match). */
function plaintextRefused(e) {
    const err = e;
    return err.code === '28000' && /no encryption/i.test(err.message ?? '');
}
/** TLS settings for an sslmode given outside a URI (PGSSLMODE and friends), with libpq's meaning. */
function libpqSsl(mode, env) {
    const q = new URLSearchParams({ sslmode: mode });
    if (env.PGSSLROOTCERT)
        q.set('sslrootcert', env.PGSSLROOTCERT);
    if (env.PGSSLCERT)
        q.set('sslcert', env.PGSSLCERT);
    if (env.PGSSLKEY)
        q.set('sslkey', env.PGSSLKEY);
    return (0,pg_connection_string_esm/* parse */.qg)(`postgresql://localhost/?${q}`, { useLibpqCompat: true }).ssl;
}
function uriParams(url) {
    try {
        const u = new URL(url.replace(/^postgres(ql)?:/, 'http:'));
        return new Map(u.searchParams);
    }
    catch {
        return new Map();
    }
}
/** The warning for an unencrypted admin connection to a host other than this machine, or null. */
function plaintextWarning(encrypted, host) {
    if (encrypted || isLocal(host))
        return null;
    return `The admin connection to ${host} is not encrypted (the server does not support TLS, or sslmode is disable or allow): every statement, including the new passwords' verifiers (the plaintext passwords with password-encryption: server), crosses the network unencrypted. Enable ssl on the server and set sslmode=verify-full in admin-url.`;
}
function isLocal(host) {
    if (!host || host.startsWith('/'))
        return true;
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

// EXTERNAL MODULE: ./src/postgres/uri-params.ts
var uri_params = __webpack_require__(3028);
// EXTERNAL MODULE: ./src/postgres/urls.ts
var urls = __webpack_require__(1085);
;// CONCATENATED MODULE: ./src/postgres/db.ts








/**
 * Opens a connection with search_path pinned to pg_catalog, TLS negotiated
 * as libpq does (see tlsAttempts and negotiate.ts: one TCP connection for
 * sslmode=prefer) and the URI's require_auth / channel_binding enforced before
 * the password leaves; errors say which connection failed without repeating
 * any secret.
 */
async function connect(target, what, opts) {
    try {
        return await openConnection(target, opts, opts.asLogin ? PIN_SEARCH_PATH : RUN_AS_SESSION_USER);
    }
    catch (e) {
        throw connectionError(e, what);
    }
}
/**
 * The connection itself, errors as they come (the pooler console maps them its
 * own way). `first`: the statement that runs before any other (null on a pooler
 * console, which accepts only SHOW and its own commands).
 */
async function openConnection(target, opts, first) {
    const params = new Map(target.url ? (0,uri_params/* uriQuery */.DU)(target.url) : []);
    const timeoutMs = opts.connectTimeoutMs ?? (params.has('connect_timeout') ? Number(params.get('connect_timeout')) * 1000 : 15_000);
    const override = { application_name: opts.applicationName };
    if (opts.queryTimeoutMs !== undefined)
        override.query_timeout = opts.queryTimeoutMs;
    if (opts.user !== undefined)
        override.user = opts.user;
    if (opts.password !== undefined)
        override.password = opts.password;
    if (opts.withoutOptions)
        override.options = undefined;
    if (opts.database !== undefined)
        override.database = opts.database;
    const base = (0,urls/* clientConfig */.yO)(target, override);
    const attempts = tlsAttempts(target, base);
    const policy = (0,uri_params/* authPolicy */.vv)(params, process.env);
    const keepAliveMs = params.get('keepalives') === '0' ? undefined : Number(params.get('keepalives_idle') ?? '0') * 1000 || undefined;
    const deadline = Date.now() + timeoutMs;
    for (let i = 0;; i++) {
        const { ssl, optional, fallBackOn } = attempts[i];
        try {
            return await openOnce(base, { ssl, optional, policy, keepAliveMs, deadline, first });
        }
        catch (e) {
            if (i + 1 < attempts.length && fallBackOn?.(e))
                continue;
            throw e;
        }
    }
}
/** Connections that negotiated TLS. */
const encrypted = new WeakSet();
/** True when the connection uses TLS. */
function isEncrypted(client) {
    return encrypted.has(client);
}
/**
 * Whether to start TLS directly (PostgreSQL 17+) instead of with an SSLRequest, as libpq decides:
 * the URI's sslnegotiation, else PGSSLNEGOTIATION, else postgres. Direct needs TLS that is required
 * (the URI's check refuses it with sslmode disable/allow/prefer); the variable is not honoured then.
 */
function directTls(fromUri, tlsRequired, env = process.env) {
    return tlsRequired && (fromUri ?? env.PGSSLNEGOTIATION) === 'direct';
}
async function openOnce(config, a) {
    const host = config.host ?? process.env.PGHOST ?? 'localhost';
    const port = Number(config.port ?? process.env.PGPORT ?? 5432);
    const ssl = a.ssl ?? false;
    const { stream, encrypted: tlsInUse } = await openStream({
        host,
        port,
        ssl,
        optional: Boolean(a.optional),
        direct: directTls(config.sslnegotiation, ssl !== false && !a.optional),
        keepAliveMs: a.keepAliveMs,
    }, Math.max(1, a.deadline - Date.now()));
    const known = config.password ?? process.env.PGPASSWORD;
    const guard = new AuthGuard(a.policy, tlsInUse, async () => (typeof known === 'function' ? known() : known));
    let client;
    try {
        client = new esm/* default.Client */.Ay.Client({
            ...config,
            host,
            port,
            // TLS is done (openStream): pg gets a ready stream, so no ssl and no sslnegotiation of its own.
            ssl: false,
            sslnegotiation: 'postgres',
            stream: () => stream,
            enableChannelBinding: guard.bind,
            // Without a known password pg looks in ~/.pgpass; the guard then stops the stream before pg writes.
            ...(known !== undefined ? { password: guard.password } : {}),
            connectionTimeoutMillis: Math.max(1, a.deadline - Date.now()),
        });
    }
    catch (e) {
        stream.destroy();
        throw e;
    }
    guard.attach(client.connection);
    // An idle client whose server goes away emits 'error'; without a listener Node exits.
    client.on('error', () => { });
    try {
        await client.connect();
        // Before any other statement: the database is not on our side (see PIN_SEARCH_PATH, RUN_AS_SESSION_USER).
        if (a.first)
            await client.query(a.first);
    }
    catch (e) {
        await client.end().catch(() => { });
        throw e;
    }
    if (tlsInUse)
        encrypted.add(client);
    return client;
}
async function db_close(client) {
    if (client)
        await client.end().catch(() => { });
}
function connectionError(e, what) {
    const err = e;
    const code = err.code ?? '';
    if (e instanceof AuthRefused) {
        return new errors/* DatabaseError */.a$(`${what}: ${(0,domain_escape/* oneLine */.TN)(e.message)}.`, 'The server (or something between it and the runner) asked for a weaker authentication than the URI allows. Check that the host is the database you mean; if the server is right, change its pg_hba.conf method (scram-sha-256), or relax require_auth / channel_binding in the URI.');
    }
    switch (code) {
        case '28P01':
            return new errors/* DatabaseError */.a$(`${what}: password authentication failed.`, 'Check the user name and password in the connection URI or PGUSER/PGPASSWORD.', code);
        case '28000':
            return new errors/* DatabaseError */.a$(`${what}: the server rejected the login (${(0,domain_escape/* oneLine */.TN)(err.message ?? '')}).`, "Check pg_hba.conf, the role's LOGIN attribute and sslmode.", code);
        case '3D000':
            return new errors/* DatabaseError */.a$(`${what}: ${(0,domain_escape/* oneLine */.TN)(err.message ?? '')}.`, 'Check the database name in the connection URI or PGDATABASE.', code);
        case '57P03':
            return new errors/* DatabaseError */.a$(`${what}: the server is starting up or shutting down.`, 'Retry in a moment.', code);
        case 'ECONNREFUSED':
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
        case 'ETIMEDOUT':
        case 'EHOSTUNREACH':
            return new errors/* DatabaseError */.a$(`${what}: cannot reach the server (${code}${err.address ? ` ${err.address}:${err.port}` : ''}).`, 'Check the host and port, and that the runner can reach the database.', code);
    }
    // Server text (it may name a database holding a line break): one line.
    const msg = (0,domain_escape/* oneLine */.TN)(err.message ?? String(e));
    if (msg === 'Query read timeout') {
        // Logged in, then silence (queryTimeoutMs): a hung server, not a network blip; not retried.
        return new errors/* DatabaseError */.a$(`${what}: the server accepted the login but did not answer its first statement in time.`, 'Check the server (hung, or overloaded) and the network between it and the runner, then run the phase again.');
    }
    if (/timeout/i.test(msg)) {
        return new errors/* DatabaseError */.a$(`${what}: connection timed out.`, 'Check the host and port, and that the runner can reach the database.', 'ETIMEDOUT');
    }
    return new errors/* DatabaseError */.a$(`${what}: ${msg}`, undefined, code || undefined);
}
/**
 * Errors worth retrying within the phase's time: the connection went away or the
 * server is starting, a serialization failure or deadlock, or a concurrent
 * catalog update ("tuple concurrently updated"), a role created meanwhile by a
 * concurrent setup (the retry observes it). Everything else fails at once.
 */
function isRetryable(e) {
    const err = e;
    if (isConnectionLost(e))
        return true;
    if (err.code && ['57P03', '40001', '40P01', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT'].includes(err.code))
        return true;
    // Two setups of a new family: the second CREATE ROLE waits on the first, then finds the name
    // taken (23505), or finds the role that was committed after this phase observed it missing (42710).
    if (err.code === '23505' && /pg_authid_rolname_index/.test(err.message ?? ''))
        return true;
    if (err.code === '42710' && /^role ".*" already exists$/s.test(err.message ?? ''))
        return true;
    return err.code === 'XX000' && /tuple concurrently updated/.test(err.message ?? '');
}
/** True for errors after which a new connection may succeed (server restart, network). */
function isConnectionLost(e) {
    const err = e;
    if (err.code && /^(08|57P0[1-3])/.test(err.code))
        return true;
    if (err.code && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(err.code))
        return true;
    return /Connection terminated|not queryable|Client has encountered a connection error/i.test(err.message ?? '');
}
/**
 * Translates a failed statement into an error that names what the admin lacks.
 * `done`, when given, says what is already durable (committed earlier, or
 * written to GitHub): the message then says that instead of "nothing was changed".
 */
/** The code of a statement that got no answer within the connection's queryTimeoutMs. */
const QUERY_TIMEOUT = 'QUERY_TIMEOUT';
/**
 * pg's client-side query timeout fired: the statement got no answer, and the
 * connection is stuck behind it (nothing more can be sent on it; ending it ends
 * the transaction on the server).
 */
function isQueryTimeout(e) {
    const err = e;
    return err?.code === QUERY_TIMEOUT || err?.message === 'Query read timeout';
}
function statementError(e, statement, done) {
    const err = e;
    const nothing = done ? `this transaction was rolled back, but ${done}` : 'nothing was changed';
    const Nothing = nothing[0].toUpperCase() + nothing.slice(1);
    const fail = (message, hint) => new errors/* DatabaseError */.a$(message, hint, err.code, Boolean(done));
    if (isQueryTimeout(e))
        return queryTimeoutError(statement, nothing, done);
    if (err.code === 'XX000' && /tuple concurrently updated/.test(err.message ?? '')) {
        return fail(`Another phase changed the same roles at the same moment (tuple concurrently updated); this one was rolled back and ${done ?? 'nothing was changed'}.`, 'Run it again: it will see what the other phase did.');
    }
    if (err.code === '55P03') {
        return fail(`Waited for a lock held by another session past lock_timeout (while running: ${statement}); ${nothing}.`, 'Another phase or a DBA transaction is changing the same roles: let it finish (see pg_locks and pg_stat_activity), then run this phase again.');
    }
    if (err.code === '57014') {
        if (/statement timeout/i.test(err.message ?? '')) {
            return fail(`A statement ran over the phase's statement_timeout (while running: ${statement}); ${nothing}.`, 'Check the server load, then run the phase again.');
        }
        return fail(`The statement was cancelled by another session or an administrator (while running: ${statement}); ${nothing}.`, 'Run the phase again when whoever cancelled it is done.');
    }
    if (err.code === '42501' && /rds_password/.test(err.message ?? '')) {
        return fail(`The admin role may not change passwords: ${(0,domain_escape/* oneLine */.TN)(err.message ?? '')} (while running: ${statement}). ${Nothing}.`, 'On RDS with restricted password management, grant it: GRANT rds_password TO <admin role>.');
    }
    if (err.code === '42501' && /permission denied to set parameter/.test(err.message ?? '')) {
        return fail(`The admin role may not set a role setting that the family carries from one login to the other: ${(0,domain_escape/* oneLine */.TN)(err.message ?? '')} (while running: ${statement}). ${Nothing}.`, 'Run this phase as a superuser; or, on PostgreSQL 15+, GRANT SET ON PARAMETER <name> TO <admin role>; or remove the setting from the login it is copied from (ALTER ROLE ... RESET <name>).');
    }
    if (err.code === '42501') {
        return fail(`The admin role lacks a privilege: ${(0,domain_escape/* oneLine */.TN)(err.message ?? '')} (while running: ${statement}). ${Nothing}.`, "Use a superuser, or a role with CREATEROLE (on PostgreSQL 16+ also ADMIN OPTION on the family's roles).");
    }
    return fail(`${(0,domain_escape/* oneLine */.TN)(err.message ?? String(e))} (while running: ${statement}). ${Nothing}.`);
}
/** A statement that got no answer: for COMMIT nobody knows whether it happened, so the message must not say "nothing". */
function queryTimeoutError(statement, nothing, done) {
    if (/^COMMIT\b/i.test(statement))
        return new errors/* DatabaseError */.a$(`The server did not answer COMMIT within the client's query timeout: the phase's changes may or may not have been committed${done ? `, and ${done}` : ''}.`, 'Run status to see the family as it is now, then run the phase again (a finished phase is a no-op).', QUERY_TIMEOUT, true);
    return new errors/* DatabaseError */.a$(`The server did not answer within the client's query timeout (while running: ${statement}); ${nothing}: the transaction ends with the connection.`, 'Check the server (hung, or overloaded) and the network between it and the runner, then run the phase again.', QUERY_TIMEOUT, Boolean(done));
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./src/crypto/scram.ts

/**
 * SCRAM-SHA-256 verifier as PostgreSQL stores it in pg_authid.rolpassword
 * (src/common/scram-common.c, scram_build_secret):
 *
 *   SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
 *
 * SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations)
 * StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
 * ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * Sending the verifier instead of the password keeps the plaintext out of the
 * server's statement log. Passwords are NFKC-normalised as an approximation of
 * SASLprep; generated passwords are ASCII, for which SASLprep is the identity.
 */
const SCRAM_SALT_BYTES = 16;
const SCRAM_DEFAULT_ITERATIONS = 4096;
function scramVerifier(password, iterations = SCRAM_DEFAULT_ITERATIONS, salt = (0,external_node_crypto_.randomBytes)(SCRAM_SALT_BYTES)) {
    const salted = (0,external_node_crypto_.pbkdf2Sync)(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
    const clientKey = (0,external_node_crypto_.createHmac)('sha256', salted).update('Client Key').digest();
    const storedKey = (0,external_node_crypto_.createHash)('sha256').update(clientKey).digest();
    const serverKey = (0,external_node_crypto_.createHmac)('sha256', salted).update('Server Key').digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
/**
 * One verifier per iteration count for `password`, computed once: the phase seals
 * and lists the very verifier (same salt) that the apply step sets, whatever
 * attempt of the transaction sets it.
 */
function verifierOnce(password) {
    const made = new Map();
    return (iterations) => {
        let v = made.get(iterations);
        if (v === undefined)
            made.set(iterations, (v = scramVerifier(password, iterations)));
        return v;
    };
}
function parseVerifier(verifier) {
    const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
    if (!m)
        throw new Error('not a SCRAM-SHA-256 verifier');
    return {
        iterations: Number(m[1]),
        salt: Buffer.from(m[2], 'base64'),
        storedKey: Buffer.from(m[3], 'base64'),
        serverKey: Buffer.from(m[4], 'base64'),
    };
}

;// CONCATENATED MODULE: ./src/domain/settings.ts

/** The setting that makes a login's sessions run as the group; set by setup, never copied. */
const ROLE_SETTING = 'role';
/** "name=value" as in pg_db_role_setting.setconfig; null when there is no '='. */
function parseSetconfig(entry, database) {
    const eq = entry.indexOf('=');
    if (eq <= 0)
        return null;
    return { database, name: entry.slice(0, eq), value: entry.slice(eq + 1) };
}
function key(s) {
    return `${s.database ?? ''}\u0000${s.name.toLowerCase()}`;
}
function isRoleSetting(s) {
    return s.name.toLowerCase() === ROLE_SETTING;
}
/** The settings a login copies (everything but `role`). */
function portableSettings(config) {
    return (config?.settings ?? []).filter((s) => !isRoleSetting(s));
}
/** `name (in database "other")` */
function describeSettingName(s) {
    return `${(0,domain_escape/* oneLine */.TN)(s.name)}${s.database === null ? '' : ` (in database "${(0,domain_escape/* oneLine */.TN)(s.database)}")`}`;
}
/** "search_path=myschema, public" or "work_mem=8MB (in database "other")" */
function describeSetting(s) {
    return `${(0,domain_escape/* oneLine */.TN)(s.name)}=${(0,domain_escape/* oneLine */.TN)(s.value)}${s.database === null ? '' : ` (in database "${(0,domain_escape/* oneLine */.TN)(s.database)}")`}`;
}
/**
 * The steps that make `target` carry the same settings (except `role`) and
 * connection limit as `source`: settings it lacks or holds with another value
 * are set, settings the source does not have are reset. Empty when they match.
 */
function syncConfig(source, target, current) {
    const want = portableSettings(source);
    const have = new Map(portableSettings(current).map((s) => [key(s), s]));
    const wanted = new Set(want.map(key));
    const steps = [];
    const copied = [];
    const reset = [];
    for (const s of want) {
        if (have.get(key(s))?.value === s.value)
            continue;
        steps.push({ kind: 'set-setting', role: target, database: s.database, name: s.name, value: s.value });
        copied.push(s);
    }
    for (const s of have.values()) {
        if (wanted.has(key(s)))
            continue;
        steps.push({ kind: 'reset-setting', role: target, database: s.database, name: s.name });
        reset.push(s);
    }
    let connectionLimit = null;
    if ((current?.connectionLimit ?? -1) !== source.connectionLimit) {
        connectionLimit = source.connectionLimit;
        steps.push({ kind: 'set-connection-limit', role: target, limit: source.connectionLimit });
    }
    return { steps, copied, reset, connectionLimit };
}
/** One sentence for the log and summary: what a sync changed on `target`, or null when nothing. */
function describeSync(source, target, sync) {
    if (sync.steps.length === 0)
        return null;
    const parts = [];
    if (sync.copied.length)
        parts.push(`set ${sync.copied.map(describeSetting).join(', ')}`);
    if (sync.reset.length)
        parts.push(`reset ${sync.reset.map(describeSettingName).join(', ')} (not on "${source}")`);
    if (sync.connectionLimit !== null)
        parts.push(`connection limit ${sync.connectionLimit === -1 ? 'none' : sync.connectionLimit}`);
    return `Copied the configuration of "${source}" to "${target}": ${parts.join('; ')}.`;
}
/** Steps removing every setting of a role (the group role once no session logs in as it). */
function resetAll(role, config) {
    const removed = config?.settings ?? [];
    return {
        steps: removed.map((s) => ({ kind: 'reset-setting', role, database: s.database, name: s.name })),
        removed,
    };
}
/** Settings that differ between two roles (except `role`): [name, value on a, value on b]. */
function settingDifferences(a, b) {
    const left = new Map(portableSettings(a).map((s) => [key(s), s]));
    const right = new Map(portableSettings(b).map((s) => [key(s), s]));
    const out = [];
    for (const k of new Set([...left.keys(), ...right.keys()])) {
        const x = left.get(k);
        const y = right.get(k);
        const s = x ?? y;
        if (!s || x?.value === y?.value)
            continue;
        out.push({
            setting: `${(0,domain_escape/* oneLine */.TN)(s.name)}${s.database === null ? '' : ` in database "${(0,domain_escape/* oneLine */.TN)(s.database)}"`}`,
            a: x?.value ?? null,
            b: y?.value ?? null,
        });
    }
    return out.sort((p, q) => p.setting.localeCompare(q.setting));
}
/**
 * Steps and notes that make each target login match `source` (the single
 * login being adopted, or the outgoing login of a rotation). Nothing when the
 * observation carries no configuration.
 */
function followConfig(configs, source, targets) {
    const from = configs?.[source];
    if (!configs || !from)
        return { steps: [], notes: [] };
    const steps = [];
    const notes = [];
    for (const target of targets) {
        const sync = syncConfig(from, target, configs[target]);
        steps.push(...sync.steps);
        const note = describeSync(source, target, sync);
        if (note)
            notes.push(note);
    }
    return { steps, notes };
}
/** Steps and a note removing the settings of a former login that became NOLOGIN (the adopted group role). */
function retireSettings(configs, role, movedTo) {
    const { steps, removed } = resetAll(role, configs?.[role]);
    if (!steps.length)
        return { steps, notes: [] };
    return {
        steps,
        notes: [
            `Removed the settings of "${role}", which no session logs in as any more (they live on the login roles, "${movedTo}" among them): ${removed.map(describeSetting).join(', ')}.`,
        ],
    };
}

;// CONCATENATED MODULE: ./src/postgres/observe.ts




/** Reads the family's roles, memberships, settings, state and sessions (two queries). Read-only. */
async function observe(client, family) {
    const names = [family.group, ...family.logins];
    // The group role's own sessions count too: after adopt: true it is the outgoing login.
    const info = (await client.query(OBSERVE_EVERYTHING, [names])).rows[0];
    const sessions = toSessionGroups(info.sessions, 'primary');
    const roles = info.roles;
    const roleInfo = (name, isGroup) => {
        const r = roles.find((x) => x.name === name);
        if (!r)
            return null;
        const setting = (r.settings ?? []).find((s) => s.startsWith('role='));
        const member = !isGroup && r.can_set !== null;
        return {
            name,
            canLogin: r.can_login,
            superuser: r.superuser,
            member,
            canSet: member && Boolean(r.can_set),
            inherits: member && Boolean(r.inherits),
            defaultRole: setting === undefined ? null : setting.slice('role='.length),
        };
    };
    const groupRow = roles.find((x) => x.name === family.group);
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
        state: (0,domain_state/* readState */.un)(groupRow ? groupRow.comment : null, family.group),
        sessions,
        configs: toRoleConfigs(info.configs),
        grantees: info.grantees.map((g) => ({
            role: g.role,
            member: g.member,
            adminOption: g.admin_option,
            superuser: g.superuser,
        })),
    };
}
/** Settings, connection limit and VALID UNTIL of the roles that exist (READ_ROLE_CONFIG rows), keyed by name. */
function toRoleConfigs(rows) {
    return Object.fromEntries(rows.map((r) => [
        r.role,
        {
            connectionLimit: Number(r.connection_limit),
            validUntil: r.valid_until,
            settings: r.settings
                .map((s) => parseSetconfig(s.entry, s.database))
                .filter((s) => s !== null),
        },
    ]));
}
function toSessionGroups(rows, server) {
    return rows.map((r) => ({
        server,
        login: r.login,
        database: r.database,
        applicationName: r.application_name,
        clientAddr: r.client_addr,
        ...(r.addr_hidden === true ? { addrHidden: true } : {}),
        count: r.count,
    }));
}
async function observe_readSessions(client, logins, server = 'primary') {
    return toSessionGroups((await client.query(READ_SESSIONS, [logins])).rows, server);
}
/** Privileges and memberships granted to the logins directly instead of to the group (current database, plus shared objects). */
async function readDirectGrants(client, group, logins) {
    const grants = (await client.query(READ_DIRECT_GRANTS, [logins])).rows;
    const memberships = (await client.query(READ_LOGIN_MEMBERSHIPS, [logins, group])).rows;
    return { grants, memberships };
}
/**
 * Waits, on `c`, until the backend `pid` of the same server has left pg_stat_activity (a backend
 * exits asynchronously after its client disconnected), or `limitMs` passed.
 */
async function waitBackendGone(c, pid, limitMs) {
    const end = Date.now() + limitMs;
    for (;;) {
        await c.query(CLEAR_STATS_SNAPSHOT);
        if (!(await c.query(BACKEND_LISTED, [pid])).rows[0].listed || Date.now() >= end)
            return;
        await new Promise((r) => setTimeout(r, 10));
    }
}

;// CONCATENATED MODULE: ./src/postgres/lock-holders.ts



/** "pid 4242 (role "dba", application "psql", in a transaction since 2026-…; RowExclusiveLock)" */
function describeHolder(h) {
    const since = h.since ? `, since ${h.since}` : ', since: hidden (pg_read_all_stats shows it)';
    return `pid ${h.pid} (role "${(0,domain_escape/* oneLine */.TN)(h.role ?? '?')}", application "${(0,domain_escape/* oneLine */.TN)(h.application_name)}"${since}; ${h.modes})`;
}
/** Sessions of the login that the phase disables hold a lock the phase waited for: `pids` may be ended. */
class OwnLoginHoldsLock extends errors/* DatabaseError */.a$ {
    login;
    pids;
    constructor(message, hint, code, login, pids) {
        super(message, hint, code);
        this.login = login;
        this.pids = pids;
    }
}
/**
 * A phase that waited past lock_timeout (55P03): the same error, naming the sessions
 * that hold a write lock on the role catalogs or a lock on a family role (read on the
 * phase's connection, after its ROLLBACK), so a DBA can act. Any other error, or a
 * failure to read the holders, is returned as it was.
 */
async function withLockHolders(client, e, roles, own) {
    if (!(e instanceof errors/* DatabaseError */.a$) || e.code !== '55P03')
        return e;
    let holders;
    try {
        holders = (await client.query(READ_ROLE_LOCK_HOLDERS, [roles])).rows;
    }
    catch {
        return e;
    }
    const found = holders.length
        ? `Held by ${holders.map(describeHolder).join('; ')}.`
        : 'No session holds it any more (it ended after the wait).';
    // A family role's own session holds what the phase needs (a login may alter its own row, or the group's
    // row as the group): no phase runs as it, whatever its application_name says (the client sets that).
    const family = holders.filter((h) => h.role !== null && roles.includes(h.role));
    const hint = family.length
        ? `pid ${family.map((h) => h.pid).join(', ')} ${family.length === 1 ? 'is a session' : 'are sessions'} of the family's own role${family.length === 1 ? '' : 's'} (${[...new Set(family.map((h) => `"${(0,domain_escape/* oneLine */.TN)(h.role ?? '')}"`))].join(', ')}), not a phase of this action (phases run as the admin role), whatever its application name says: a login that may alter its own row, or the group's as the group, can hold it open. End it (SELECT pg_terminate_backend(<pid>); as a superuser or a member of pg_signal_backend); if it keeps coming back, first disable that login by hand (ALTER ROLE … NOLOGIN), then run this phase again.`
        : holders.length
            ? `Let it finish (another phase of this family shows as application pg-credential-rotation/<phase>), or end the one that should not be running (SELECT pg_terminate_backend(<pid>); as a superuser or a member of pg_signal_backend), then run this phase again.`
            : e.hint;
    // The message ends with its hint: the holders go between the two.
    const base = e.hint && e.message.endsWith(` ${e.hint}`) ? e.message.slice(0, -e.hint.length - 1) : e.message;
    // Sessions of the login this phase disables are ended even when others hold locks on the role
    // catalogs too (a phase of another family, say, which is not what blocks this one): ending them
    // is what terminate asks for anyway; a retry that still waits fails naming who holds it then.
    const mine = own ? holders.filter((h) => h.role === own.login) : [];
    if (own && mine.length) {
        const pids = mine.map((h) => h.pid);
        const them = pids.length === 1 ? 'it' : 'them';
        return new OwnLoginHoldsLock(`${base} ${found}`, `pid ${pids.join(', ')} ${pids.length === 1 ? 'is a session' : 'are sessions'} of "${(0,domain_escape/* oneLine */.TN)(own.login)}", the login this phase disables (not a phase of this action, whatever its application name says): a login may alter its own row, or the group's as the group, and keep it locked in an open transaction. ${own.remedy}: ${them} ${pids.length === 1 ? 'is' : 'are'} ended and the phase retried once.`, e.code ?? '55P03', own.login, pids);
    }
    return new errors/* DatabaseError */.a$(`${base} ${found}`, hint, e.code, e.committed);
}

// EXTERNAL MODULE: ./src/crypto/limits.ts
var limits = __webpack_require__(3153);
;// CONCATENATED MODULE: ./src/crypto/password.ts



/** RFC 3986 unreserved characters: safe in a URI userinfo without escaping. */
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
/** A password from a cryptographically secure source (uniform over the alphabet). */
function generatePassword(length) {
    if (!Number.isInteger(length) || length < limits/* MIN_PASSWORD_LENGTH */.A) {
        throw new RangeError(`password length must be an integer of at least ${limits/* MIN_PASSWORD_LENGTH */.A}`);
    }
    let out = '';
    for (let i = 0; i < length; i++)
        out += PASSWORD_ALPHABET[(0,external_node_crypto_.randomInt)(PASSWORD_ALPHABET.length)];
    return out;
}

// EXTERNAL MODULE: ./src/inputs/names.ts
var names = __webpack_require__(5585);
// EXTERNAL MODULE: ./src/domain/family.ts
var family = __webpack_require__(5218);
;// CONCATENATED MODULE: ./src/domain/plan.ts





// ---- setup --------------------------------------------------------------------
function planSetup(obs, cfg, ctx) {
    if (obs.state.kind === 'invalid')
        throw unreadableState(obs.state, cfg.group);
    const existing = obs.state.kind === 'ok' ? obs.state.state : null;
    // An adopted family's group role keeps LOGIN until its first rotation closes.
    const adopting = !existing && Boolean(cfg.adopt) && Boolean(obs.group?.canLogin);
    refuseUnsafeSetup(obs, cfg, existing, adopting);
    const steps = missingRoleSteps(obs, cfg);
    refuseForeignControl(obs, cfg, existing, adopting, steps);
    if (existing)
        return repairOnly(obs, cfg.group, existing, steps);
    const canLogin = cfg.logins.filter((l) => obs.logins[l]?.canLogin);
    return adopting ? planAdoption(obs, cfg, canLogin, steps) : planFirstSetup(obs, cfg, ctx, canLogin, steps);
}
/** Setup never turns a working login into the NOLOGIN group, touches a superuser, or re-pairs a family's logins. */
function refuseUnsafeSetup(obs, cfg, existing, adopting) {
    const group = cfg.group;
    const now = existing ? (0,domain_state/* describeState */.Jw)(existing) : 'not set up';
    if (obs.group?.canLogin && !adopting && existing?.active !== group) {
        throw new errors/* StateError */.qq(`Role "${group}" exists and can log in; setup will not turn a login into the NOLOGIN group role without adopt: true.`, now, `If "${group}" is the application's current single login, run setup with adopt: true (zero downtime: it stays usable until the first rotation closes); otherwise choose a role name that does not exist yet.`);
    }
    for (const r of [obs.group, ...Object.values(obs.logins)]) {
        if (r?.superuser) {
            throw new errors/* StateError */.qq(`Role "${r.name}" is a superuser; a rotated application role must not be.`, now, 'Use other role names, or revoke SUPERUSER first.');
        }
    }
    if (existing && !sameLogins(existing.logins, cfg.logins)) {
        throw new errors/* StateError */.qq(`The family's state names the login roles ${existing.logins.join(', ')}, but login-roles is ${cfg.logins.join(', ')}.`, (0,domain_state/* describeState */.Jw)(existing), `Pass login-roles: ${existing.logins.join(',')}.`);
    }
}
/**
 * Setup never makes a role someone else controls part of the family. A role that
 * exists before the family's first setup (or a login a repair would grant the group
 * to) was not created by setup: when a role other than the admin or a superuser
 * holds ADMIN OPTION on it (on PostgreSQL 16+ a CREATEROLE role holds it on every
 * role it creates, and may then give it a password and LOGIN) or is a member of it
 * (and would act as it), granting it the group hands that role the group's
 * privileges. adopt: true covers the adopted login itself (the group), as the
 * application's own login; status reports its holders as drift.
 */
function refuseForeignControl(obs, cfg, existing, adopting, steps) {
    const group = cfg.group;
    const roles = existing
        ? steps.flatMap((s) => (s.kind === 'grant-membership' && obs.logins[s.login] ? [s.login] : []))
        : [...(obs.group && !adopting ? [group] : []), ...cfg.logins.filter((l) => obs.logins[l])];
    const foreign = (0,family/* foreignGrantees */.iH)(obs, group, cfg.logins, roles);
    if (foreign.length === 0)
        return;
    // REVOKE removes the membership and the ADMIN OPTION it carries.
    const revoke = foreign.map((f) => `REVOKE ${(0,names/* quoteIdent */.v4)(f.role)} FROM ${(0,names/* quoteIdent */.v4)(f.member)};`);
    const named = [...new Set(foreign.map((f) => `"${f.role}"`))].join(', ');
    throw new errors/* StateError */.qq(`Refusing to set up the family: ${foreign.map(family/* describeForeignGrantee */.oL).join('; ')}. Setup did not create ${named} and will not make a role that another role controls part of the family: that role could give it a password and LOGIN, or act as it, and use the group's privileges. Nothing was changed.`, existing ? (0,domain_state/* describeState */.Jw)(existing) : 'not set up', `Find out who created ${named} and why (on PostgreSQL 16+ a CREATEROLE role holds ADMIN OPTION on every role it creates). If the roles are not yours, drop them (DROP ROLE ...) or choose other names (role, login-roles); if they are, take the control back as a superuser (${[...new Set(revoke)].join(' ')}), then run setup again.`);
}
/** The roles, memberships and default roles the family lacks. */
function missingRoleSteps(obs, cfg) {
    const group = cfg.group;
    const steps = [];
    if (!obs.group)
        steps.push({ kind: 'create-role', role: group });
    for (const login of cfg.logins) {
        const r = obs.logins[login];
        if (!r)
            steps.push({ kind: 'create-role', role: login });
        if (!r || !r.member || !r.canSet || !r.inherits)
            steps.push({ kind: 'grant-membership', login, group });
        if (!r || r.defaultRole !== group)
            steps.push({ kind: 'set-default-role', login, group });
    }
    return steps;
}
/** Setup of a family that has a state: repair its roles, leave the state and every password as they are. */
function repairOnly(obs, group, existing, steps) {
    const notes = [];
    const activeRole = existing.active === group ? obs.group : obs.logins[existing.active];
    if (!activeRole?.canLogin)
        notes.push(`The active login "${existing.active}" cannot log in (NOLOGIN); setup leaves it as it is.`);
    return steps.length
        ? { kind: 'change', steps, state: existing, notes }
        : noop(existing, 'the family is already set up', notes);
}
/** adopt: true: the single login stays active (its password unchanged) and becomes the group role. */
function planAdoption(obs, cfg, canLogin, steps) {
    const group = cfg.group;
    if (canLogin.length > 0) {
        throw new errors/* StateError */.qq(`adopt: true, but login role ${canLogin.map((l) => `"${l}"`).join(' and ')} can already log in; the adopted login "${group}" must be the only one.`, 'not set up', `Make ${canLogin.join(' and ')} NOLOGIN, or drop them, and run setup again.`);
    }
    const held = (0,family/* foreignGrantees */.iH)(obs, group, cfg.logins, [group]).map((f) => `Warning: ${(0,family/* describeForeignGrantee */.oL)(f)}, the adopted login; status reports it as drift until it is revoked.`);
    const notes = [
        ...held,
        `Adopted "${group}": it stays the active login (password unchanged, not emitted) and becomes the group role; the first rotation hands out "${cfg.logins[0]}" and its close disables "${group}".`,
    ];
    // Role settings apply to the role a session logs in as: each login gets the single login's own.
    const follow = followConfig(obs.configs, group, cfg.logins);
    notes.push(...follow.notes, ...replacedComment(obs, group));
    const state = initialState(cfg.logins, group, {}, group);
    return { kind: 'change', steps: [...steps, ...follow.steps, { kind: 'write-state', group, state }], state, notes };
}
/**
 * A new family. A login that can already log in is the one the application
 * uses: it is recorded as active and keeps its password. Otherwise the first
 * login is enabled and issued a password.
 */
function planFirstSetup(obs, cfg, ctx, canLogin, steps) {
    const group = cfg.group;
    if (canLogin.length === 2) {
        throw new errors/* StateError */.qq(`Both login roles (${cfg.logins.join(', ')}) can log in and no rotation state is recorded, so setup cannot tell which one the application uses.`, 'not set up', `Make the unused one NOLOGIN (ALTER ROLE ... NOLOGIN) and run setup again.`);
    }
    const notes = [];
    if (canLogin.length === 1) {
        const active = canLogin[0];
        notes.push(`Login "${active}" already can log in: it is recorded as active and its password is left unchanged (no password is emitted).`, ...replacedComment(obs, group));
        const state = initialState(cfg.logins, active);
        return { kind: 'change', steps: [...steps, { kind: 'write-state', group, state }], state, notes };
    }
    const login = cfg.logins[0];
    notes.push(...replacedComment(obs, group));
    const state = initialState(cfg.logins, login, { [login]: ctx.now.toISOString() });
    const issued = [...steps, { kind: 'enable-login', role: login }, { kind: 'write-state', group, state }];
    return { kind: 'issue', login, steps: issued, state, notes };
}
function replacedComment(obs, group) {
    return obs.state.kind === 'foreign'
        ? [`The previous comment on role "${group}" is replaced by the rotation state.`]
        : [];
}
/** The state of a family with no rotation yet (key order is the comment's JSON order). */
function initialState(logins, active, passwordSetAt = {}, adoptedFrom) {
    return {
        tool: domain_state/* STATE_TOOL */.rT,
        version: domain_state/* STATE_VERSION */.nd,
        logins: [...logins],
        active,
        ...(adoptedFrom ? { adoptedFrom } : {}),
        rotation: null,
        lastClosed: null,
        passwordSetAt,
    };
}
// ---- open ---------------------------------------------------------------------
function planOpen(obs, cfg, ctx) {
    const state = requireState(obs, cfg);
    const group = cfg.group;
    if (isOpen(state))
        return planOpenRerun(obs, cfg, state, ctx);
    const incoming = (0,domain_state/* otherLogin */.A6)(state, state.active);
    const problem = loginProblem(obs.logins[incoming], group);
    if (problem) {
        throw new errors/* StateError */.qq(`The standby login "${incoming}" is not ready: ${problem}.`, (0,domain_state/* describeState */.Jw)(state), 'Run the setup phase to repair the family, then open again.');
    }
    // The incoming login's sessions must see what the outgoing login's see (settings apply per login).
    const follow = followConfig(obs.configs, state.active, [incoming]);
    const notes = [...follow.notes];
    const stale = (0,family/* sessionCount */.yJ)(obs.sessions, incoming);
    if (stale > 0)
        notes.push(`The standby login "${incoming}" still has ${stale} sessions from before; they keep running.`);
    const next = {
        ...withoutWriteBack(state),
        rotation: { id: ctx.newRotationId(), incoming, openedAt: ctx.now.toISOString(), openedBy: cfg.run },
        passwordSetAt: { ...state.passwordSetAt, [incoming]: ctx.now.toISOString() },
    };
    return {
        kind: 'issue',
        login: incoming,
        steps: [...follow.steps, { kind: 'enable-login', role: incoming }, { kind: 'write-state', group, state: next }],
        state: next,
        notes,
    };
}
/**
 * open while a rotation is open. Only the run that opened it may re-run open, and
 * a re-run never changes a password that may be in use (a deploy may hold it
 * although the login has no sessions now, e.g. an application scaled to zero):
 * with the credentials sealed in the state it emits them again; without them it
 * refuses unless force: true (and never while the login has sessions, or once
 * close wrote it to GitHub).
 */
function planOpenRerun(obs, cfg, state, ctx) {
    const r = state.rotation;
    const group = cfg.group;
    if (cfg.run.runId === '' || r.openedBy.runId !== cfg.run.runId) {
        throw new errors/* StateError */.qq(`A rotation is already open (opened ${r.openedAt}${r.openedBy.runId ? ` by workflow run ${r.openedBy.runId}` : ''}); another run must not replace a password a deploy may be using.`, (0,domain_state/* describeState */.Jw)(state), 'Finish it with verify-drain and close, then open again.');
    }
    if (r.sealed) {
        const note = `Rotation ${r.id} was opened by this workflow run: the credentials sealed in the state are emitted again; the password of "${r.incoming}" is unchanged.`;
        return { kind: 'reemit', login: r.incoming, sealed: r.sealed, steps: [], state, notes: [note] };
    }
    const w = state.writtenBack;
    if (w && w.rotationId === r.id) {
        throw new errors/* StateError */.qq(`close already wrote the credentials of "${r.incoming}" to GitHub secrets ${w.secrets.join(', ')}, so open will not replace its password.`, (0,domain_state/* describeState */.Jw)(state), 'Run close again to finish the rotation.');
    }
    const sessions = (0,family/* sessionCount */.yJ)(obs.sessions, r.incoming);
    if (sessions > 0) {
        throw new errors/* StateError */.qq(`This workflow run opened rotation ${r.id}, but the incoming login "${r.incoming}" already has ${(0,family/* describeSessions */.Pj)(obs.sessions, r.incoming)} sessions, so its password is in use and is not replaced.`, (0,domain_state/* describeState */.Jw)(state), 'Deploy with the password issued by the first attempt, or continue with verify-drain and close.');
    }
    if (!cfg.force) {
        throw new errors/* StateError */.qq(`This workflow run opened rotation ${r.id}, and its password cannot be emitted again: it was opened without seal-key, so the state keeps no copy. Issuing a new one could break a deploy that already uses the first (no sessions now does not mean unused: an application may be scaled to zero).`, (0,domain_state/* describeState */.Jw)(state), 'Use the outputs of the first attempt; or, if no deploy can have received them, run open with force: true to issue a new password; or abort and open again. Pass seal-key to open so that re-runs emit the same credentials.');
    }
    const next = { ...state, passwordSetAt: { ...state.passwordSetAt, [r.incoming]: ctx.now.toISOString() } };
    const follow = followConfig(obs.configs, state.active, [r.incoming]);
    return {
        kind: 'issue',
        login: r.incoming,
        steps: [...follow.steps, { kind: 'enable-login', role: r.incoming }, { kind: 'write-state', group, state: next }],
        state: next,
        notes: [
            `Rotation ${r.id} was opened by this workflow run; with force: true a new password is issued to "${r.incoming}" (it has no sessions). A deploy that received the first one can no longer log in.`,
            ...follow.notes,
        ],
    };
}
/**
 * The plan with the issued credentials, sealed, kept in the open rotation of the state it writes (open with
 * seal-key), and the incoming login's verifier sealed alone (kept after close for the next pgbouncer-userlist).
 */
function withSealed(plan, sealed, verifier) {
    if (plan.kind !== 'issue')
        return plan;
    const rotation = { ...plan.state.rotation, sealed, ...(verifier ? { verifier } : {}) };
    return withState(plan, { ...plan.state, rotation });
}
/** setup with seal-key: the issued login's verifier, sealed alone, kept as the state's activeVerifier. */
function withActiveVerifier(plan, sealed) {
    if (plan.kind !== 'issue')
        return plan;
    return withState(plan, { ...plan.state, activeVerifier: { login: plan.login, sealed } });
}
function withState(plan, state) {
    return { ...plan, state, steps: plan.steps.map((st) => (st.kind === 'write-state' ? { ...st, state } : st)) };
}
/**
 * After open's login check, under the family lock: the rotation it opened is
 * still open (or a close already made its login the active one) and the login
 * still may log in. After a concurrent abort, or anything else, open must not
 * report the password as usable.
 */
function planConfirmOpen(obs, rotationId, incoming) {
    const state = obs.state.kind === 'ok' ? obs.state.state : null;
    const stillOpen = state?.rotation?.id === rotationId && state.rotation.incoming === incoming;
    const closedOnto = !state?.rotation && state?.lastClosed?.id === rotationId && state.active === incoming;
    if (!state || !(stillOpen || closedOnto) || !obs.logins[incoming]?.canLogin) {
        throw new errors/* StateError */.qq(`Rotation ${rotationId} was aborted or changed by another phase while open checked "${incoming}"'s new password, so that password must not be used.`, state ? (0,domain_state/* describeState */.Jw)(state) : 'in an unknown state', 'Check with the status phase; open again to start a new rotation.');
    }
    return noop(state, stillOpen ? `rotation ${rotationId} is still open` : `rotation ${rotationId} was closed meanwhile`);
}
function planDrain(obs, cfg) {
    const state = requireState(obs, cfg);
    if (isClosedRerun(state, cfg)) {
        requireClosedLoginDisabled(obs, state, cfg.group);
        return { kind: 'noop', reason: alreadyClosed(state), state };
    }
    const r = requireRotation(state, cfg, 'verify-drain');
    return { kind: 'wait', outgoing: state.active, incoming: r.incoming, rotationId: r.id, state };
}
function watchedRotation(obs, cfg, rotationId) {
    const state = requireState(obs, cfg);
    if (isOpen(state) && state.rotation.id === rotationId)
        return { kind: 'open', state };
    const closed = state.lastClosed?.id === rotationId ? state.lastClosed : null;
    if (closed && !state.rotation) {
        requireClosedLoginDisabled(obs, state, cfg.group);
        return { kind: 'closed', state: state };
    }
    const verify = 'There is nothing left to verify for that rotation';
    if (state.rotation) {
        const newer = `rotation ${state.rotation.id} is open now (opened at ${state.rotation.openedAt} by workflow run ${state.rotation.openedBy.runId || '(none)'})`;
        return closed
            ? {
                kind: 'over',
                reason: `rotation ${rotationId} was closed at ${closed.closedAt}, and ${newer}`,
                next: `${verify}: its close finished it. The newer rotation belongs to the run that opened it.`,
                state,
            }
            : {
                kind: 'over',
                reason: `rotation ${rotationId} is no longer open: ${newer}`,
                next: `${verify}. The newer rotation belongs to the run that opened it: let it finish, or abort it.`,
                state,
            };
    }
    const aborted = state.lastAborted?.id === rotationId ? state.lastAborted : null;
    return {
        kind: 'over',
        reason: aborted
            ? `rotation ${rotationId} was aborted at ${aborted.abortedAt}`
            : `rotation ${rotationId} is no longer open`,
        next: `${verify}: deploy with the credentials of the login that is active now, and run open again to rotate.`,
        state,
    };
}
/**
 * A closed rotation leaves exactly one login that can log in: the active one, which the close
 * recorded as `lastClosed.active` (it disabled the previous one in the same transaction). If
 * the roles say otherwise, the state comment (or a role) was changed outside the action, and
 * nothing may be reported as closed on the comment's word. Every family role but the active
 * one is checked, not only the one the comment names as previous: a forged comment could name
 * a role that happens to be NOLOGIN.
 */
function requireClosedLoginDisabled(obs, state, group) {
    const closed = state.lastClosed;
    const roles = [[group, obs.group], ...Object.entries(obs.logins)];
    const loggable = roles.filter(([name, r]) => name !== state.active && r?.canLogin).map(([name]) => `"${name}"`);
    const problem = closed.active !== state.active
        ? `it records "${closed.active}" as the login the close left active, while the active login is "${state.active}"`
        : loggable.length
            ? `${loggable.join(' and ')} can still log in, where only the active login "${state.active}" should`
            : null;
    if (!problem)
        return;
    throw new errors/* StateError */.qq(`The state says rotation ${closed.id} was closed at ${closed.closedAt}, but ${problem}: the state comment or a role was changed outside the action, so the rotation is not treated as closed.`, (0,domain_state/* describeState */.Jw)(state), 'Run status to see which logins can log in and the drift; if nothing uses a login that should not log in, disable it (ALTER ROLE ... NOLOGIN), or run a full rotation (open, verify-drain, close).');
}
// ---- close --------------------------------------------------------------------
function planClose(obs, cfg, ctx) {
    const state = requireState(obs, cfg);
    if (isClosedRerun(state, cfg)) {
        requireClosedLoginDisabled(obs, state, cfg.group);
        return noop(state, alreadyClosed(state));
    }
    const r = requireRotation(state, cfg, 'close');
    const outgoing = state.active;
    const remaining = (0,family/* sessionCount */.yJ)(obs.sessions, outgoing);
    const notes = [];
    if (remaining > 0) {
        if (!cfg.terminate && !cfg.force) {
            throw new errors/* StateError */.qq(`The outgoing login "${outgoing}" still has ${(0,family/* describeSessions */.Pj)(obs.sessions, outgoing)} sessions.`, (0,domain_state/* describeState */.Jw)(state), 'Wait for them with verify-drain, or run close with terminate: true to end them, or force: true to close while they run.');
        }
        notes.push(cfg.terminate
            ? `Ending ${remaining} sessions of "${outgoing}" after the commit.`
            : `Closing with force: ${remaining} sessions of "${outgoing}" keep running until they disconnect.`);
    }
    const { activeVerifier: _outgoing, ...rest } = withoutWriteBack(state);
    const next = {
        ...rest,
        active: r.incoming,
        rotation: null,
        lastClosed: { id: r.id, closedAt: ctx.now.toISOString(), active: r.incoming, previous: outgoing },
        passwordSetAt: { ...state.passwordSetAt, [outgoing]: ctx.now.toISOString() },
        // The verifier open sealed for the incoming login follows it; the outgoing one's goes with its password.
        ...(r.verifier ? { activeVerifier: { login: r.incoming, sealed: r.verifier } } : {}),
    };
    // The adopted single login becomes a plain NOLOGIN group: its settings now live on the logins only.
    const retired = outgoing === cfg.group ? retireSettings(obs.configs, outgoing, r.incoming) : { steps: [], notes: [] };
    return {
        kind: 'change',
        steps: [
            { kind: 'disable-login', role: outgoing },
            ...retired.steps,
            { kind: 'write-state', group: cfg.group, state: next },
        ],
        state: next,
        notes: [...notes, ...retired.notes],
    };
}
// ---- abort --------------------------------------------------------------------
/**
 * Cancels an open rotation: the incoming login gets NOLOGIN and a scrambled
 * password, the active login stays as it is. Safe in any state: with no
 * rotation open it does nothing and says so.
 */
function planAbort(obs, cfg, ctx) {
    const s = obs.state;
    if (s.kind !== 'ok') {
        if (s.kind === 'invalid')
            requireState(obs, cfg);
        return noop(initialState(cfg.logins, cfg.logins[0]), 'the family is not set up, so no rotation is open');
    }
    const state = requireState(obs, cfg);
    if (!state.rotation) {
        const last = state.lastAborted
            ? ` (rotation ${state.lastAborted.id} was aborted at ${state.lastAborted.abortedAt})`
            : '';
        return noop(state, `no rotation is open${last}`);
    }
    const r = state.rotation;
    if (cfg.rotationId && cfg.rotationId !== r.id) {
        throw new errors/* StateError */.qq(`rotation-id ${cfg.rotationId} does not match the open rotation ${r.id}.`, (0,domain_state/* describeState */.Jw)(state), 'Pass the rotation-id output of the open phase, or leave rotation-id empty to abort whatever rotation is open.');
    }
    const w = state.writtenBack;
    const notes = [`Aborted rotation ${r.id}: "${r.incoming}" is disabled again, "${state.active}" stays active.`];
    if (w && w.rotationId === r.id && w.login === r.incoming) {
        const held = `GitHub secrets ${w.secrets.join(', ')} ${w.pending ? 'may hold' : 'hold'} the credentials of "${r.incoming}" (written by close at ${w.at}, which then failed)`;
        if (!cfg.force) {
            throw new errors/* StateError */.qq(`${held}, so abort will not disable "${r.incoming}": the next deploy from those secrets could not log in. Nothing was changed.`, (0,domain_state/* describeState */.Jw)(state), `Run close again to finish the rotation. To abort anyway, first put the credentials of "${state.active}" back into those secrets, then run abort with force: true.`);
        }
        notes.push(`force: true: ${held}; put the credentials of "${state.active}" back into them.`);
    }
    const next = {
        ...withoutWriteBack(state),
        rotation: null,
        lastAborted: { id: r.id, abortedAt: ctx.now.toISOString(), login: r.incoming },
    };
    return {
        kind: 'change',
        steps: [
            { kind: 'disable-login', role: r.incoming },
            { kind: 'write-state', group: cfg.group, state: next },
        ],
        state: next,
        notes,
    };
}
/**
 * abort never strands a deploy: while the incoming login has sessions anywhere
 * the action can see (primary, replicas, pooler clients), a rollout already
 * uses the new credentials, and disabling them would make every restart of it
 * fail. abort refuses, changing nothing, unless force: true. Called inside
 * abort's transaction, just before the change, with the sessions read then.
 * Returns notes for the summary (under force).
 */
function checkAbortInUse(sessions, state, cfg) {
    const incoming = state.rotation?.incoming;
    const mine = sessions.filter((s) => s.login === incoming);
    if (!incoming || mine.length === 0)
        return [];
    const listed = `${mine.length} session(s): ${(0,family/* describeLoginSessions */.M1)(mine)}`;
    if (!cfg.force) {
        throw new errors/* StateError */.qq(`The incoming login "${incoming}" has ${listed}. A deploy already uses the new credentials: abort would disable them, and every restart of that deploy would then fail to log in. Nothing was changed.`, (0,domain_state/* describeState */.Jw)(state), `Either finish the rollout and run close; or first move the application back to the credentials of "${state.active}" (the platform's previous value), then run abort with force: true${cfg.terminate ? ', which then also ends these sessions' : ' (add terminate: true to end these sessions)'}.`);
    }
    return [
        `force: true: "${incoming}" had ${listed}; ${cfg.terminate ? 'they are ended after the commit' : 'they keep running until they disconnect, and cannot log in again'}.`,
    ];
}
/**
 * Everything the admin lacks for the whole rotation, checked before anything
 * changes, so one run reports it all: CREATEROLE; on PostgreSQL 16+ ADMIN OPTION
 * on every existing role of the family (the group and both logins: each phase
 * alters some of them, and the action serializes on the group role) but those
 * this phase creates; pg_signal_backend to terminate sessions. Superusers can do
 * everything. The grants are the least-privilege form docs/managed-services.md
 * recommends: on 16+, authority over the roles without their privileges
 * (WITH ADMIN TRUE, INHERIT FALSE, SET FALSE); before 16 ADMIN OPTION is never
 * needed (CREATEROLE alters every role that is not a superuser). The grantee is
 * the admin that logged in (session_user).
 */
function missingPrivilege(obs, group, logins, needs) {
    const a = obs.admin;
    if (a.superuser)
        return null;
    const q = names/* quoteIdent */.v4;
    const privileges = [];
    const grants = [];
    if (needs.changes) {
        if (!a.createrole) {
            privileges.push('CREATEROLE');
            grants.push(`ALTER ROLE ${q(a.name)} CREATEROLE`);
        }
        if (obs.serverVersion >= 160000) {
            const existing = [group, ...logins].filter((r) => (r === group ? obs.group : obs.logins[r]));
            const lacking = existing.filter((r) => !needs.created?.has(r) && !a.adminOption[r]);
            if (lacking.length) {
                const names = lacking.map((r) => q(r));
                const list = names.length === 1 ? `role ${names[0]}` : `roles ${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
                privileges.push(`ADMIN OPTION on ${list} (PostgreSQL 16+ requires it to alter a role)`);
                grants.push(`GRANT ${names.join(', ')} TO ${q(a.name)} ${adminOptionClause(obs.serverVersion)}`);
            }
        }
    }
    if (needs.terminate && !a.signalBackend) {
        privileges.push('pg_signal_backend (to terminate sessions of other roles)');
        grants.push(`GRANT pg_signal_backend TO ${q(a.name)}`);
    }
    if (privileges.length === 0)
        return null;
    return { privilege: privileges.join(' and '), grant: grants.join('; ') };
}
/** ADMIN OPTION without the role's privileges where the server can say so (16+). */
function adminOptionClause(serverVersion) {
    return serverVersion >= 160000 ? 'WITH ADMIN TRUE, INHERIT FALSE, SET FALSE' : 'WITH ADMIN OPTION';
}
/**
 * Undo an open whose login check failed after commit: the incoming login gets
 * NOLOGIN and a scrambled password, and the state goes back to what it was
 * before the open (or, for a re-issue inside an open rotation, to idle).
 */
function planRevertOpen(obs, cfg, rotationId, previous) {
    if (obs.state.kind !== 'ok')
        return null;
    const state = obs.state.state;
    if (state.rotation?.id !== rotationId)
        return null;
    const next = previous.rotation ? { ...state, rotation: null } : previous;
    return {
        kind: 'change',
        steps: [
            { kind: 'disable-login', role: state.rotation.incoming },
            { kind: 'write-state', group: cfg.group, state: next },
        ],
        state: next,
        notes: [],
    };
}
// ---- shared checks --------------------------------------------------------------
function requireState(obs, cfg) {
    const s = obs.state;
    if (s.kind === 'ok') {
        if (!sameLogins(s.state.logins, cfg.logins)) {
            throw new errors/* StateError */.qq(`The family's state names the login roles ${s.state.logins.join(', ')}, but login-roles is ${cfg.logins.join(', ')}.`, (0,domain_state/* describeState */.Jw)(s.state), `Pass login-roles: ${s.state.logins.join(',')}; or, if login-roles is right, the state comment was altered: reset it with COMMENT ON ROLE ${(0,names/* quoteIdent */.v4)(cfg.group)} IS NULL; and run setup.`);
        }
        return s.state;
    }
    if (s.kind === 'invalid')
        throw unreadableState(s, cfg.group);
    throw new errors/* StateError */.qq(obs.group ? `Role "${cfg.group}" has no rotation state.` : `Role "${cfg.group}" does not exist.`, 'not set up', 'Run the setup phase first.');
}
/**
 * A state comment that cannot be acted on. A tampered one (naming a role outside
 * the family) says how to reset it: clear the comment and let setup record the
 * one login that can log in (it refuses, and asks, when both can).
 */
function unreadableState(s, group) {
    const inspect = `SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = ${(0,names/* quoteLiteral */.ce)(group)}`;
    if (!s.tampered) {
        return new errors/* StateError */.qq(`The state comment on role "${group}" cannot be read: ${s.reason}.`, 'in an unknown state', `Inspect it with: ${inspect}. Only if no rotation is under way, clear it (COMMENT ON ROLE ${(0,names/* quoteIdent */.v4)(group)} IS NULL;) and run setup, which records the one login that can log in as active.`);
    }
    return new errors/* StateError */.qq(`The state comment on role "${group}" was tampered with: ${s.reason}. No phase acts on it, and nothing was changed.`, 'in an unknown state (tampered state comment)', `Find out who could COMMENT ON ROLE ${(0,names/* quoteIdent */.v4)(group)} (${inspect}), check which login the application uses, then reset the state with COMMENT ON ROLE ${(0,names/* quoteIdent */.v4)(group)} IS NULL; and run setup (with adopt: true if "${group}" itself is still the application's login): it records the one login that can log in as active, and refuses if both can.`);
}
/**
 * The apply layer's last check, against the observation: every role a step
 * alters is the group or one of the two logins, is not a superuser and is not
 * the admin itself. Returns why not, or null.
 */
function forbiddenTarget(obs, group, logins, steps) {
    for (const step of steps) {
        const roles = step.kind === 'grant-membership' || step.kind === 'set-default-role'
            ? [step.group, step.login]
            : step.kind === 'write-state'
                ? [step.group]
                : [step.role];
        for (const role of roles) {
            const info = role === group ? obs.group : obs.logins[role];
            if (role !== group && !logins.includes(role))
                return `"${role}" is not a role of the family (${[group, ...logins].map((r) => `"${r}"`).join(', ')})`;
            if (role === obs.admin.name)
                return `"${role}" is the admin role itself (session_user)`;
            if (info?.superuser)
                return `"${role}" is a superuser`;
        }
    }
    return null;
}
function requireRotation(state, cfg, phase) {
    const r = state.rotation;
    if (!r) {
        const last = state.lastClosed ? ` The last closed rotation is ${state.lastClosed.id}.` : '';
        throw new errors/* StateError */.qq(cfg.rotationId
            ? `No rotation is open, and rotation-id ${cfg.rotationId} is not the last closed one.${last}`
            : `No rotation is open, so there is nothing to ${phase}.${last}`, (0,domain_state/* describeState */.Jw)(state), 'Run open first (a re-run of a finished phase succeeds only with the rotation-id it finished).');
    }
    if (cfg.rotationId && cfg.rotationId !== r.id) {
        throw new errors/* StateError */.qq(`rotation-id ${cfg.rotationId} does not match the open rotation ${r.id}.`, (0,domain_state/* describeState */.Jw)(state), 'Pass the rotation-id output of the open phase that started this rotation.');
    }
    return r;
}
/** A re-run of verify-drain/close after the rotation was closed: succeed, do nothing. */
function isClosedRerun(state, cfg) {
    return !state.rotation && Boolean(cfg.rotationId) && state.lastClosed?.id === cfg.rotationId;
}
function alreadyClosed(state) {
    return `rotation ${state.lastClosed.id} was already closed at ${state.lastClosed.closedAt}`;
}
function isOpen(state) {
    return state.rotation !== null;
}
function noop(state, reason, notes = []) {
    return { kind: 'noop', steps: [], state, reason, notes };
}
/** The state without its write-back record (kept only while the rotation it belongs to is open). */
function withoutWriteBack(state) {
    const { writtenBack: _written, ...rest } = state;
    return rest;
}
function loginProblem(r, group) {
    if (!r)
        return 'the role does not exist';
    if (!r.member)
        return `it is not a member of "${group}"`;
    if (!r.canSet)
        return `its membership in "${group}" does not allow SET ROLE`;
    if (r.defaultRole !== group)
        return `its default role is ${r.defaultRole === null ? 'not set' : `"${r.defaultRole}"`}, not "${group}"`;
    return null;
}
function sameLogins(a, b) {
    return a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
}

// EXTERNAL MODULE: ./src/domain/retry.ts
var retry = __webpack_require__(6906);
;// CONCATENATED MODULE: ./src/postgres/apply.ts










/** Length of the random password that replaces an outgoing login's password; nobody keeps it. */
const SCRAMBLE_LENGTH = 64;
/** How long a phase keeps retrying transient failures (connection loss, server start, concurrent update). */
const RETRY_BUDGET_MS = 60_000;
/**
 * Runs one phase's change as one transaction: lock the family, observe, plan,
 * check the admin's privileges, execute the plan's statements, commit. A plan
 * that refuses (throws), a missing privilege, or any failed statement rolls
 * everything back. Transient failures are retried from the start, with a fresh
 * observation, for up to RETRY_BUDGET_MS.
 */
async function applyInTransaction(session, cfg, reporter, decide, opts = {}) {
    let ended = false;
    return (0,retry/* retryWithBackoff */.Z)(async (attempt) => {
        if (attempt.number > 1)
            await reconnectAfter(session, attempt);
        try {
            return await attemptOnce(session, cfg, reporter, decide, opts);
        }
        catch (e) {
            if (!(e instanceof OwnLoginHoldsLock) || !opts.lockHolder?.end || ended)
                throw e;
            ended = true;
            // Once: a holder that comes back (it can until the login is disabled) fails the retry, named.
            const note = await endLockHolders(session, e);
            reporter.warning(`${note} Trying the phase once more.`);
            const applied = await attemptOnce(session, cfg, reporter, decide, { ...opts, lockHolder: undefined });
            return { ...applied, notes: [note, ...applied.notes] };
        }
    }, {
        clock: session.clock,
        budgetMs: Math.min(RETRY_BUDGET_MS, opts.retryBudgetMs ?? RETRY_BUDGET_MS),
        isRetryable: (e) => !(e instanceof ReconnectFailed) && isRetryable(e),
        onRetry: ({ error, attempt, delayMs }) => reporter.warning(`Attempt ${attempt} failed (${firstLine(error)}); nothing was applied. Retrying in ${delayMs}ms.`),
    });
}
/**
 * Renews the admin connection before a retry. A transient failure to reconnect
 * is left to the attempt (which fails on the dead connection and is retried);
 * any other, or one past the deadline, ends the phase.
 */
async function reconnectAfter(session, attempt) {
    try {
        await session.renew();
    }
    catch (c) {
        if (!isRetryable(c) || session.clock.now().getTime() >= (attempt.deadline ?? Infinity)) {
            throw new ReconnectFailed(`The phase was interrupted (${firstLine(attempt.previousError)}) and could not reconnect: ${c.message} Nothing was applied: the family is as it was before this phase.`, 'Run the phase again once the database accepts the admin connection.', c.code);
        }
    }
}
/** Ends the disabled login's sessions that held the family's lock; returns the note that says so. */
async function endLockHolders(session, e) {
    const ended = (await session.client.query(TERMINATE_BACKENDS, [e.login, e.pids])).rows[0].terminated;
    return `Ended ${ended} session(s) of "${(0,domain_escape/* oneLine */.TN)(e.login)}" that held the family's lock (pid ${e.pids.join(', ')}).`;
}
/** The admin connection could not be renewed for a retry: the phase ends here, whatever the code. */
class ReconnectFailed extends errors/* DatabaseError */.a$ {
}
const firstLine = (e) => e.message.split('\n')[0];
async function attemptOnce(session, cfg, reporter, decide, opts) {
    const client = session.client;
    try {
        await client.query(BEGIN_PHASE);
        const lockTimeoutMs = opts.lockTimeoutMs ?? session.lockTimeoutMs;
        if (lockTimeoutMs !== undefined)
            await client.query(setLockTimeout(lockTimeoutMs));
        if (session.idleInTransactionTimeoutMs !== undefined)
            await client.query(setIdleInTransactionTimeout(session.idleInTransactionTimeoutMs));
        const group = (await client.query(GROUP_INHERITS, [cfg.group])).rows[0];
        if (group) {
            // The serializing ALTER ROLE below touches the group role: never the admin itself.
            if (group.admin === cfg.group)
                throw new errors/* StateError */.qq(`Refusing to alter role "${cfg.group}": it is the admin role itself (session_user). Nothing was changed.`, 'unchanged', 'Pass the group role of the family as role, and connect as another role.');
            if (!group.superuser && (!group.createrole || (group.version >= 160000 && !group.admin_option))) {
                // Checked here: without them the serializing statement below fails with a bare permission error.
                // Read-only, to report everything the rotation needs in this one message.
                const seen = await observe(client, { group: cfg.group, logins: cfg.logins });
                const missing = missingPrivilege(seen, cfg.group, cfg.logins, {
                    changes: true,
                    terminate: Boolean(opts.terminate),
                });
                if (missing)
                    throw privilegeError(missing.privilege, missing.grant);
            }
            await run(client, serializeOnGroup(cfg.group, group.inherit));
        }
        const before = await observe(client, { group: cfg.group, logins: cfg.logins });
        const plan = decide(before);
        const forbidden = forbiddenTarget(before, cfg.group, cfg.logins, plan.steps);
        if (forbidden)
            throw new errors/* StateError */.qq(`Refusing to change the roles: ${forbidden}; no phase alters a superuser, the admin itself or a role outside the family. Nothing was changed.`, 'unchanged', 'Check role and login-roles, and the state comment on the group role.');
        const missing = missingPrivilege(before, cfg.group, cfg.logins, {
            changes: plan.steps.length > 0,
            created: new Set(plan.steps.flatMap((x) => (x.kind === 'create-role' ? [x.role] : []))),
            terminate: Boolean(opts.terminate),
        });
        if (missing)
            throw privilegeError(missing.privilege, missing.grant);
        if (opts.beforeChanges && plan.steps.length > 0)
            await opts.beforeChanges(before, plan);
        if (opts.whileLocked)
            await opts.whileLocked(before, plan);
        const { executed, password } = await executeSteps(client, cfg, reporter, before, plan, opts);
        await run(client, COMMIT, undefined, COMMIT, opts.durable?.());
        return { before, plan, executed, password, notes: [] };
    }
    catch (e) {
        // After a query timeout the connection is stuck behind the unanswered statement: a ROLLBACK would
        // wait as long again; ending the connection (the phase fails) ends the transaction on the server.
        if (isQueryTimeout(e))
            throw e instanceof errors/* DatabaseError */.a$ ? e : statementError(e, 'a statement of the phase');
        await client.query(ROLLBACK).catch(() => { });
        throw await withLockHolders(client, e, [cfg.group, ...cfg.logins], await ownLogin(client, cfg, e, opts));
    }
}
/** After a lock wait timed out: the login this phase disables, from the family's state read now (read-only). */
async function ownLogin(client, cfg, e, opts) {
    if (!opts.lockHolder || !(e instanceof errors/* DatabaseError */.a$) || e.code !== '55P03')
        return null;
    try {
        const login = opts.lockHolder.login(await observe(client, { group: cfg.group, logins: cfg.logins }));
        return login ? { login, remedy: opts.lockHolder.remedy } : null;
    }
    catch {
        return null;
    }
}
/** Runs the plan's statements; enable-login gets the phase's password (or a fresh one), disable-login one nobody keeps. */
async function executeSteps(client, cfg, reporter, before, plan, opts) {
    const executed = [];
    let password = null;
    for (const step of plan.steps) {
        let secret;
        if (step.kind === 'enable-login' || step.kind === 'disable-login') {
            const plaintext = step.kind === 'enable-login' && opts.password
                ? opts.password
                : generatePassword(step.kind === 'enable-login' ? cfg.passwordLength : SCRAMBLE_LENGTH);
            reporter.secret(plaintext);
            if (step.kind === 'enable-login')
                password = plaintext;
            if (cfg.passwordEncryption === 'scram-sha-256') {
                secret =
                    step.kind === 'enable-login' && opts.password && opts.verifier
                        ? opts.verifier(before.scramIterations)
                        : scramVerifier(plaintext, before.scramIterations);
                reporter.secret(secret);
            }
            else {
                secret = plaintext;
            }
        }
        const stmt = renderStep(step, before.serverVersion, secret);
        reporter.debug(`sql: ${stmt.display}`);
        executed.push(stmt);
    }
    await runPlanStatements(client, executed, opts.durable?.());
    return { executed, password };
}
/**
 * The plan's statements in few round trips (setup's nine were nine; over a network each is a
 * round trip to the server): those without a secret as one query string, after a savepoint,
 * then each one that carries a password or verifier on its own, so that no other statement's
 * failure puts it in the server log. They run in one transaction, and no statement of a plan
 * depends on one that sets a password, so the order within it does not matter.
 */
async function runPlanStatements(client, statements, durable) {
    await runBatch(client, statements.filter((s) => !s.secret), durable);
    for (const s of statements.filter((x) => x.secret))
        await run(client, s.sql, undefined, s.display, durable);
}
/**
 * Statements without a secret, as one query string after a savepoint. When the batch fails,
 * the error must still name the statement that failed, as it did when they went one at a
 * time: the phase rolls back to the savepoint and runs them again one by one, and the one
 * that fails again is named. If none does, the batch's own error stands (the phase never
 * commits past an error). Not re-run: errors that a second run would only repeat slowly or
 * that the phase retries from the start anyway (a lock or statement timeout, whose lock
 * holders are named from the catalog; a cancel; a lost connection; a concurrent change).
 */
async function runBatch(client, statements, durable) {
    if (statements.length === 0)
        return;
    if (statements.length === 1)
        return run(client, statements[0].sql, undefined, statements[0].display, durable);
    const batchError = (e) => statementError(e, `one of: ${statements.map((s) => s.display.trim()).join('; ')}`, durable ?? undefined);
    try {
        await client.query(planBatch(statements));
    }
    catch (e) {
        const code = e.code;
        if (isRetryable(e))
            throw e;
        if (isQueryTimeout(e) || code === '55P03' || code === '57014')
            throw batchError(e);
        // A query string the server could not parse fails before its SAVEPOINT ran: report the batch's error.
        await client.query(ROLLBACK_TO_PLAN_SAVEPOINT).catch(() => {
            throw batchError(e);
        });
        for (const s of statements)
            await run(client, s.sql, undefined, s.display, durable);
        throw batchError(e);
    }
}
async function run(client, sql, params, display = sql, durable) {
    try {
        await client.query(sql, params);
    }
    catch (e) {
        if (isRetryable(e))
            throw e;
        throw statementError(e, display.trim(), durable ?? undefined);
    }
}
function privilegeError(privilege, grant) {
    return new errors/* DatabaseError */.a$(`The admin role lacks ${privilege}; nothing was changed.`, `Grant everything at once (as a superuser, or for ADMIN OPTION the roles' creator), then run the phase again: ${grant};`, '42501');
}

;// CONCATENATED MODULE: ./src/phase-support/after-commit.ts

/**
 * Runs what a phase does after its commit (ending sessions and pooled
 * connections, re-reading the family for the summary). The change has been
 * committed by then, so a failure here must say so: it becomes a
 * PartialFailure, never a message that claims nothing was changed.
 */
async function afterCommit(committed, work) {
    try {
        return await work();
    }
    catch (e) {
        if ((0,errors/* wasCommitted */.ii)(e))
            throw e;
        throw new errors/* PartialFailure */.CI(`${committed}, but what followed the commit failed: ${e.message}`);
    }
}

;// CONCATENATED MODULE: ./src/domain/replay.ts
/** Pure rules for waiting on a replica's replay of a commit (see phase-support/replicas-wait.ts). */
/** A pg_lsn in its text form ("16/B374D848") as a number of bytes. */
function parseLsn(lsn) {
    const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
    if (!m)
        throw new Error(`internal: not a WAL position: ${JSON.stringify(lsn)}`);
    return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}
/** Page header sizes of the WAL: a long one opens each segment, a short one every other page. */
const PAGE_HEADERS = [24n, 40n];
/**
 * Whether a replica that has replayed up to `replayed` has replayed everything
 * before `target`, the primary's insert position read right after a commit.
 * When that commit ended exactly at a page boundary, the insert position points
 * past the next page's header, which no record ends at: a replay that stopped
 * at that boundary has replayed the commit.
 */
function hasReplayed(replayed, target, blockSize) {
    const done = parseLsn(replayed);
    const want = parseLsn(target);
    if (done >= want)
        return true;
    const offset = want % BigInt(blockSize);
    return PAGE_HEADERS.includes(offset) && done === want - offset;
}
/** "3.1 s" for a wait in milliseconds. */
function seconds(ms) {
    return `${(ms / 1000).toFixed(1)} s`;
}

;// CONCATENATED MODULE: ./src/phase-support/replicas-wait.ts


/** How long past replica-timeout a poll (query or reconnect) of a stalled replica may run. */
const POLL_MARGIN_MS = 500;
/** First poll interval; it doubles up to MAX_POLL_MS. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1000;
/** A replica that did not replay the commit within replica-timeout; the message says by how much. */
class ReplicaLagError extends Error {
    constructor(message) {
        super(message);
        this.name = 'ReplicaLagError';
    }
}
/**
 * Waits (with the run's clock, up to replica-timeout) until every replica has
 * replayed everything the primary had written when this is called: call it
 * right after the commit, on the admin connection that made it. Logs and
 * returns one note per replica with the lag it waited for. Throws a
 * ReplicaLagError naming each replica still behind, ending with `next` (what
 * to do); the caller says what was committed.
 */
async function waitForReplicas(cfg, deps, next) {
    const replicas = deps.replicas;
    if (!replicas.count)
        return [];
    const { lsn, block_size: blockSize } = (await deps.session.client.query(WAL_POSITION)).rows[0];
    const start = deps.now().getTime();
    const deadline = start + cfg.replicaTimeoutMs;
    const first = new Map();
    const last = new Map();
    const pending = new Set(Array.from({ length: replicas.count }, (_, i) => i));
    const notes = [];
    let poll = FIRST_POLL_MS;
    for (;;) {
        for (const i of [...pending]) {
            let pos;
            try {
                // The poll may take only the time left (the run's clock; the replica's by Date.now()).
                const left = Math.max(0, deadline - deps.now().getTime());
                pos = await replicas.replayPosition(i, lsn, Date.now() + left + POLL_MARGIN_MS);
            }
            catch (e) {
                if (deps.now().getTime() < deadline)
                    throw e;
                throw new ReplicaLagError(`after waiting ${seconds(deps.now().getTime() - start)} (replica-timeout) ${replicas.describe(i)} did not answer whether it replayed the commit (WAL ${lsn}): ${e.message} ${next} Check the replica; raise replica-timeout if it is slow on purpose.`);
            }
            const firstPos = first.get(i) ?? pos;
            first.set(i, firstPos);
            last.set(i, pos);
            if (!hasReplayed(pos.replayed, lsn, blockSize))
                continue;
            pending.delete(i);
            const waited = deps.now().getTime() - start;
            const was = firstPos.behind;
            const note = was > 0n
                ? `${capital(replicas.describe(i))} replayed the commit (WAL ${lsn}) after ${seconds(waited)}; it was ${was} bytes behind.`
                : `${capital(replicas.describe(i))} had already replayed the commit (WAL ${lsn}).`;
            deps.reporter.info(note);
            notes.push(note);
        }
        if (pending.size === 0)
            return notes;
        const now = deps.now().getTime();
        if (now >= deadline)
            break;
        await deps.sleep(Math.min(poll, deadline - now));
        poll = Math.min(poll * 2, MAX_POLL_MS);
    }
    const waited = seconds(deps.now().getTime() - start);
    const lagging = [...pending].map((i) => describeLag(replicas.describe(i), last.get(i), lsn));
    throw new ReplicaLagError(`after waiting ${waited} (replica-timeout) ${lagging.join('; ')}. ${next} Raise replica-timeout if the replica lags that much on purpose.`);
}
/** Each replica's replay position relative to what the primary has written now (the status phase). */
async function replicaStatus(deps) {
    const { lsn } = (await deps.session.client.query(WAL_POSITION)).rows[0];
    const out = [];
    for (let i = 0; i < deps.replicas.count; i++) {
        const pos = await deps.replicas.replayPosition(i, lsn);
        out.push({
            replica: deps.replicas.describe(i),
            behindBytes: pos.behind > 0n ? Number(pos.behind) : 0,
            lastReplayAgeS: pos.replayAgeS,
            applyDelay: pos.applyDelay,
        });
    }
    return out;
}
function describeLag(replica, pos, lsn) {
    const parts = [
        `${replica} has not replayed the commit (WAL ${lsn}): it is ${pos.behind} bytes behind (replayed up to ${pos.replayed}`,
    ];
    parts[0] += pos.received === null ? ', receives nothing by streaming)' : `, received up to ${pos.received})`;
    if (pos.replayAgeS !== null)
        parts.push(`the last transaction it replayed committed ${pos.replayAgeS} s ago`);
    if (pos.applyDelay !== '0' && pos.applyDelay !== '0ms')
        parts.push(`its recovery_min_apply_delay is ${pos.applyDelay}, so it applies every commit that late`);
    return parts.join(', ');
}
const capital = (s) => s[0].toUpperCase() + s.slice(1);

;// CONCATENATED MODULE: ./src/crypto/seal.ts




/**
 * Sealed credentials: the new login's username, password and database URL,
 * encrypted so they can travel as a job output (the runner drops outputs that
 * contain a masked value) and be opened in a later job that knows `seal-key`.
 *
 *   pgrot1.<family>.<rotation id>.<salt>.<nonce>.<key check>.<ciphertext+tag>
 *
 * Every part is unpadded base64url, so the text is one line without `.` inside
 * a part. The key comes from `seal-key` by scrypt (N=2^15, r=8, p=1, 16-byte
 * random salt per sealing); its first 32 bytes are the AES-256-GCM key, the
 * next 8 a key check, so a wrong key is told apart from an altered value
 * (the check is as costly to test as the ciphertext, so it helps no guesser).
 * The whole header, family and rotation id included, is the associated data:
 * changing any character of it makes opening fail. Nonces are random, 12 bytes.
 */
const SEAL_VERSION = 'pgrot1';
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CHECK_BYTES = 8;
const KEY_BYTES = 32;
const PARTS = 7;
/** Far above any real value (a password is at most 1024 characters); keeps garbage from being parsed. */
const MAX_SEALED_LENGTH = 64 * 1024;
/** Sealing or unsealing failed. Names the input at fault; never carries a secret or the sealed text. */
class SealError extends errors/* InputError */.dz {
    reason;
    constructor(input, reason, message) {
        super(input, message);
        this.reason = reason;
        this.name = 'SealError';
    }
}
/** Encrypts the credentials with a key derived from `key`, bound to the family and rotation. */
function sealCredentials(creds, key, binding) {
    checkKey(key);
    for (const field of ['username', 'password', 'databaseUrl']) {
        if (typeof creds[field] !== 'string')
            throw new TypeError(`sealCredentials: ${field} must be a string`);
    }
    for (const field of ['verifier', 'userlist']) {
        if (creds[field] !== undefined && typeof creds[field] !== 'string')
            throw new TypeError(`sealCredentials: ${field} must be a string`);
    }
    const payload = {
        u: creds.username,
        p: creds.password,
        d: creds.databaseUrl,
        ...(creds.verifier !== undefined ? { v: creds.verifier } : {}),
        ...(creds.userlist !== undefined ? { l: creds.userlist } : {}),
    };
    return sealPayload(payload, key, binding);
}
/**
 * Seals one login's SCRAM verifier alone (no password), for the state comment:
 * the next open lists it in pgbouncer-userlist when the admin cannot read
 * pg_authid. unsealCredentials refuses it (it holds no credentials).
 */
function sealVerifier(username, verifier, key, binding) {
    checkKey(key);
    return sealPayload({ u: username, v: verifier }, key, binding);
}
/** Opens a value made by sealVerifier; checks the family only (it outlives its rotation). */
function unsealVerifier(sealed, key, expected) {
    checkKey(key);
    const sealedParts = decodeParts(splitSealed(sealed));
    checkBinding(sealedParts, expected);
    const d = decryptPayload(sealedParts, key);
    if (!d || typeof d.u !== 'string' || typeof d.v !== 'string')
        throw fail('malformed', 'opened, but does not hold a verifier');
    return { username: d.u, verifier: d.v };
}
/** The envelope: header (version, binding, salt, nonce, key check) and the AES-256-GCM ciphertext of `payload` as JSON. */
function sealPayload(payload, key, binding) {
    if (!binding.family)
        throw new TypeError('sealCredentials: family must not be empty');
    if (!binding.rotationId)
        throw new TypeError('sealCredentials: rotationId must not be empty');
    const salt = (0,external_node_crypto_.randomBytes)(SALT_BYTES);
    const nonce = (0,external_node_crypto_.randomBytes)(NONCE_BYTES);
    const { aesKey, check } = deriveKey(key, salt);
    const header = [
        SEAL_VERSION,
        b64(Buffer.from(binding.family, 'utf8')),
        b64(Buffer.from(binding.rotationId, 'utf8')),
        b64(salt),
        b64(nonce),
        b64(check),
    ].join('.');
    const plaintext = Buffer.from(JSON.stringify(payload), 'utf8');
    const cipher = (0,external_node_crypto_.createCipheriv)('aes-256-gcm', aesKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(header, 'ascii'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    plaintext.fill(0);
    aesKey.fill(0);
    return `${header}.${b64(ciphertext)}`;
}
/**
 * Opens a value made by sealCredentials. Checks, in this order: format and
 * version, the family (and the rotation id when `expected.rotationId` is given),
 * the key, then the authentication tag. Each failure is a SealError.
 */
function unsealCredentials(sealed, key, expected) {
    checkKey(key);
    const sealedParts = decodeParts(splitSealed(sealed));
    checkBinding(sealedParts, expected);
    const creds = decrypt(sealedParts, key);
    return { creds, binding: { family: sealedParts.family, rotationId: sealedParts.rotationId } };
}
/** Splits the text into its seven parts; refuses anything that is not one sealed value of this version. */
function splitSealed(sealed) {
    const text = sealed.trim();
    if (text === '')
        throw fail('empty', 'is empty; pass the sealed-credentials output of the open phase');
    if (text.length > MAX_SEALED_LENGTH)
        throw fail('malformed', `is ${text.length} characters long, far more than a sealed value; pass the sealed-credentials output of the open phase`);
    const parts = text.split('.');
    const version = parts[0];
    if (version !== SEAL_VERSION) {
        // Only echo something that looks like a version tag: the value itself could be a pasted secret.
        if (/^pgrot\d{1,4}$/.test(version)) {
            throw fail('version', `was sealed in format '${version}', which this version of the action cannot open (it reads ${SEAL_VERSION}); open it with the action version that sealed it, or run open again`);
        }
        throw fail('not-sealed', `is not a sealed value (it must start with '${SEAL_VERSION}.'); pass the sealed-credentials output of the open phase`);
    }
    if (parts.length !== PARTS) {
        throw fail('malformed', `has ${parts.length} dot-separated parts instead of ${PARTS}: it was truncated or altered; pass the sealed-credentials output of the open phase unchanged`);
    }
    return parts;
}
/** Decodes each part strictly; the family and rotation id must be non-empty UTF-8. */
function decodeParts(parts) {
    const familyBytes = decodePart(parts[1], 'family');
    const rotationBytes = decodePart(parts[2], 'rotation id');
    const salt = decodePart(parts[3], 'salt', SALT_BYTES);
    const nonce = decodePart(parts[4], 'nonce', NONCE_BYTES);
    const check = decodePart(parts[5], 'key check', CHECK_BYTES);
    const ciphertext = decodePart(parts[6], 'ciphertext');
    if (ciphertext.length <= TAG_BYTES)
        throw fail('malformed', 'is too short to hold credentials: it was truncated; pass the sealed-credentials output of the open phase unchanged');
    const family = utf8(familyBytes);
    const rotationId = utf8(rotationBytes);
    if (family === null || rotationId === null || family === '' || rotationId === '') {
        throw fail('malformed', 'has an unreadable family or rotation id: it was altered; pass the sealed-credentials output of the open phase unchanged');
    }
    const header = parts.slice(0, PARTS - 1).join('.');
    return { family, rotationId, salt, nonce, check, ciphertext, header };
}
/** A family name holding one is not echoed in a message (it could break the log line). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const CONTROL_CHARACTER = /[\0-\x1f\x7f]/;
/** Refuses a value sealed for another family, or for another rotation when one is expected. */
function checkBinding(sealed, expected) {
    const { family, rotationId } = sealed;
    if (family !== expected.family) {
        const shown = Buffer.byteLength(family) <= 63 && !CONTROL_CHARACTER.test(family) ? `the family '${family}'` : 'another family';
        throw fail('family', `was sealed for ${shown}, not '${expected.family}'; pass the sealed-credentials of a rotation of '${expected.family}'`);
    }
    if (expected.rotationId !== undefined && rotationId !== expected.rotationId) {
        const shown = /^[A-Za-z0-9._:-]{1,100}$/.test(rotationId) ? `rotation ${rotationId}` : 'another rotation';
        throw fail('rotation', `was sealed for ${shown}, not rotation ${expected.rotationId}; pass the sealed-credentials and rotation-id outputs of the same open phase`);
    }
}
/** Derives the key, tells a wrong key from an altered value, decrypts and reads the credentials. */
function decrypt(sealed, key) {
    return parsePayload(decryptPayload(sealed, key));
}
/** Derives the key, tells a wrong key from an altered value, decrypts and parses the JSON payload (null: not JSON). */
function decryptPayload(sealed, key) {
    const { ciphertext } = sealed;
    const { aesKey, check: expectedCheck } = deriveKey(key, sealed.salt);
    try {
        if (!(0,external_node_crypto_.timingSafeEqual)(sealed.check, expectedCheck)) {
            throw new SealError('seal-key', 'wrong-key', 'is not the key these credentials were sealed with; use the same seal-key secret in the job that ran open and in this one');
        }
        const decipher = (0,external_node_crypto_.createDecipheriv)('aes-256-gcm', aesKey, sealed.nonce, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(sealed.header, 'ascii'));
        decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
        let plaintext;
        try {
            plaintext = Buffer.concat([
                decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)),
                decipher.final(),
            ]);
        }
        catch {
            throw fail('altered', 'failed its integrity check: it was altered or truncated after sealing; pass the sealed-credentials output of the open phase unchanged');
        }
        let data;
        try {
            data = JSON.parse(plaintext.toString('utf8'));
        }
        catch {
            data = null;
        }
        plaintext.fill(0);
        return data;
    }
    finally {
        aesKey.fill(0);
    }
}
function checkKey(key) {
    if (typeof key !== 'string' || key === '') {
        throw new SealError('seal-key', 'key-too-short', `is empty; give a random value of at least ${limits/* SEAL_KEY_MIN_LENGTH */.I} characters from a secret (e.g. openssl rand -base64 32)`);
    }
    if ([...key].length < limits/* SEAL_KEY_MIN_LENGTH */.I) {
        throw new SealError('seal-key', 'key-too-short', `is shorter than ${limits/* SEAL_KEY_MIN_LENGTH */.I} characters; give a random value of at least ${limits/* SEAL_KEY_MIN_LENGTH */.I} characters from a secret (e.g. openssl rand -base64 32)`);
    }
}
function deriveKey(key, salt) {
    const out = (0,external_node_crypto_.scryptSync)(Buffer.from(key, 'utf8'), salt, KEY_BYTES + CHECK_BYTES, SCRYPT);
    return { aesKey: out.subarray(0, KEY_BYTES), check: Buffer.from(out.subarray(KEY_BYTES)) };
}
/** Values sealed before the verifier and userlist were added hold only u, p and d: they read as before. */
function parsePayload(data) {
    const d = data;
    if (!d ||
        typeof d.u !== 'string' ||
        typeof d.p !== 'string' ||
        typeof d.d !== 'string' ||
        !['undefined', 'string'].includes(typeof d.v) ||
        !['undefined', 'string'].includes(typeof d.l)) {
        throw fail('malformed', 'opened, but does not hold credentials; pass the sealed-credentials output of the open phase');
    }
    return {
        username: d.u,
        password: d.p,
        databaseUrl: d.d,
        ...(typeof d.v === 'string' ? { verifier: d.v } : {}),
        ...(typeof d.l === 'string' ? { userlist: d.l } : {}),
    };
}
const b64 = (b) => b.toString('base64url');
/** Strict base64url: only the alphabet, no padding, and canonical (re-encodes to the same text). */
function decodePart(part, what, bytes) {
    const buf = /^[A-Za-z0-9_-]+$/.test(part) ? Buffer.from(part, 'base64url') : null;
    if (!buf || buf.toString('base64url') !== part || (bytes !== undefined && buf.length !== bytes)) {
        throw fail('malformed', `has an invalid ${what} part: it was truncated or altered; pass the sealed-credentials output of the open phase unchanged`);
    }
    return buf;
}
function utf8(b) {
    try {
        return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
    }
    catch {
        return null;
    }
}
function fail(reason, message) {
    return new SealError('sealed-credentials', reason, message);
}

;// CONCATENATED MODULE: ./src/phase-support/deps.ts




function planContext(deps) {
    const now = deps.now();
    return { now, newRotationId: () => rotationId(now) };
}
/** "20261127T224400Z-3f9a1c": sortable, unique enough, and free of anything secret. */
function rotationId(now) {
    const stamp = now
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
    return `${stamp}-${(0,external_node_crypto_.randomBytes)(3).toString('hex')}`;
}
/**
 * Credentials outputs for a newly issued password; masks the URL before it
 * exists anywhere else, and seals them for other jobs when seal-key is set.
 */
function credentialOutputs(cfg, reporter, issued) {
    const { username, password, rotationId, verifier, userlist } = issued;
    const databaseUrl = (0,urls/* buildDatabaseUrl */.p5)(cfg.appUrl, username, password);
    reporter.secret(databaseUrl);
    const sealedCredentials = issued.sealed ??
        (cfg.sealKey
            ? sealCredentials({ username, password, databaseUrl, verifier, userlist }, cfg.sealKey, {
                family: cfg.group,
                rotationId,
            })
            : undefined);
    return { username, password, databaseUrl, pgbouncerUserlist: userlist, sealedCredentials };
}
/**
 * When database-url was built without app-url: where it came from, what of admin-url it
 * left out and the sslmode it kept, as a notice (printed, and returned for the summary).
 */
function defaultAppUrlNotice(cfg, reporter) {
    const d = cfg.appUrlDefault;
    if (!d)
        return [];
    const parts = [
        `database-url: app-url is empty, so the application's URL uses the host, port and database of ${cfg.admin.url ? 'admin-url' : 'the PG* variables'}`,
    ];
    if (d.dropped.length)
        parts.push(`without the runner-only parameters ${d.dropped.join(', ')} (they name files on the runner or the admin's session)`);
    if (d.sslmode)
        parts.push(`and keeps sslmode=${d.sslmode}`);
    let message = `${parts.join(', ')}.`;
    if (/^verify-/.test(d.sslmode ?? ''))
        message += ` With sslmode=${d.sslmode} the application needs a CA bundle on its own host (libpq: ~/.postgresql/root.crt, or sslrootcert in app-url).`;
    message +=
        ' Set app-url when the application connects elsewhere (a pooler, a private address) or needs parameters of its own.';
    (reporter.notice ?? reporter.info)(message);
    return [message];
}
/**
 * The phase's result, with the family re-read after the phase so the summary shows what is true now (replicas included).
 * `observed`: a read of the family the phase made after its last change and its last wait, used instead of a second one.
 */
async function resultWithFamily(cfg, deps, outputs, changes, notes, failure, extra = {}, observed) {
    const after = observed ?? (await observe(deps.session.client, { group: cfg.group, logins: cfg.logins }));
    const replicaSessions = deps.replicas.count
        ? await deps.replicas.sessions([cfg.group, ...cfg.logins])
        : [];
    return {
        phase: cfg.phase,
        group: cfg.group,
        outputs,
        changes,
        notes,
        roles: {
            group: after.group,
            logins: cfg.logins.map((l) => after.logins[l] ?? { name: l, missing: true }),
        },
        sessions: [...after.sessions, ...replicaSessions],
        failure,
        ...extra,
    };
}

;// CONCATENATED MODULE: ./src/domain/drain-rule.ts
/** Counts one login against the poolers' snapshots. */
function judgeLogin(login, sessions, readings) {
    let clients = 0;
    const held = new Map();
    for (const r of readings) {
        if (!r.snapshot)
            continue;
        clients += r.snapshot.clients.filter((c) => c.user === login).length;
        for (const s of r.snapshot.servers)
            if (s.user === login)
                held.set(s.remotePid, (held.get(s.remotePid) ?? false) || s.inUse);
    }
    let unpooled = 0;
    let heldInUse = 0;
    const heldIdle = [];
    for (const s of sessions.filter((x) => x.login === login)) {
        const inUse = held.get(s.pid);
        if (inUse === undefined)
            unpooled++;
        else if (inUse)
            heldInUse++;
        else
            heldIdle.push(s);
    }
    // A server connection in use belongs to a client already counted, unless a
    // database entry forces this user for another login's clients: then count it.
    const count = clients + unpooled + (clients === 0 ? heldInUse : 0);
    return { login, clients, unpooled, heldInUse, heldIdle, count };
}
function judgeDrain(outgoing, incoming, sessions, readings) {
    const out = judgeLogin(outgoing, sessions, readings);
    const inc = judgeLogin(incoming, sessions, readings);
    const unreadable = readings.filter((r) => r.error !== undefined).map((r) => `${r.label}: ${r.error}`);
    return {
        outgoing: out,
        incoming: inc,
        unreadable,
        drained: unreadable.length === 0 && out.count === 0,
        views: poolerViews(readings, [outgoing, incoming]),
    };
}
function poolerViews(readings, logins) {
    return readings.map((r) => {
        if (!r.snapshot)
            return { label: r.label, version: 'unknown', clients: {}, servers: {}, error: r.error };
        const clients = {};
        const servers = {};
        for (const l of logins) {
            clients[l] = r.snapshot.clients.filter((c) => c.user === l).length;
            const mine = r.snapshot.servers.filter((s) => s.user === l);
            servers[l] = { total: mine.length, inUse: mine.filter((s) => s.inUse).length };
        }
        return { label: r.label, version: r.snapshot.version, clients, servers };
    });
}
/** "pooler 127.0.0.1:6432: app_a 1 client, app_b 3 clients; pooler ...: unreadable (reason)" */
function describePoolers(views, logins) {
    return views
        .map((v) => {
        if (v.error !== undefined)
            return `pooler ${v.label}: not readable (${v.error})`;
        const parts = logins.map((l) => `"${l}" ${v.clients[l] ?? 0} client(s), ${v.servers[l]?.total ?? 0} server connection(s) (${v.servers[l]?.inUse ?? 0} in use)`);
        return `pooler ${v.label}: ${parts.join('; ')}`;
    })
        .join(' | ');
}
/**
 * Without pgbouncer-urls: do the remaining sessions look like a pooler's idle
 * server connections (all idle, all from one client address)? Returns that
 * address, or null (also when the admin may not see the addresses).
 */
function looksPooled(sessions, login) {
    const mine = sessions.filter((s) => s.login === login);
    // A hidden address (no pg_read_all_stats) is unknown, not one host shared by all.
    if (mine.length === 0 || mine.some((s) => s.addrHidden))
        return null;
    const addrs = new Set(mine.map((s) => s.clientAddr ?? 'local socket'));
    if (addrs.size !== 1 || !mine.every((s) => s.state === 'idle'))
        return null;
    return [...addrs][0];
}
/** Pooler clients of a login, per pooler, with the KILL_CLIENT ids and whether the pooler supports it. */
function clientsToKill(readings, login, supports) {
    const out = [];
    for (const r of readings) {
        if (!r.snapshot)
            continue;
        const mine = r.snapshot.clients.filter((c) => c.user === login);
        if (mine.length === 0)
            continue;
        const ids = mine.map((c) => c.id).filter((x) => x !== null);
        out.push({
            label: r.label,
            version: r.snapshot.version,
            ids,
            clients: mine.length,
            supported: supports(r.snapshot.versionNumber) && ids.length === mine.length,
        });
    }
    return out;
}

// EXTERNAL MODULE: ./src/domain/clock.ts
var domain_clock = __webpack_require__(6774);
// EXTERNAL MODULE: ./src/inputs/pooler-urls.ts
var pooler_urls = __webpack_require__(235);
;// CONCATENATED MODULE: ./src/postgres/poolers.ts
/**
 * Connection poolers in front of the database (PgBouncer, or a pooler whose
 * admin console answers like PgBouncer's), given by `pgbouncer-urls`.
 *
 * In transaction pooling, pg_stat_activity shows the pooler's server
 * connections, not the application's clients: idle server connections of the
 * old login make a drained rotation look busy, and an idle client logged in to
 * the pooler holds no server connection, so a busy rotation looks drained. The
 * console tells the truth: SHOW CLIENTS (who is logged in to the pooler),
 * SHOW SERVERS (which backend pid each pooled server connection is, and
 * whether a client uses it). This module reads it (simple query protocol only:
 * no bound parameters) and decides with a pure function.
 */





const POOLER_LIMITS = { connectMs: 5000, commandMs: 5000, readMs: 15_000, lastLookMs: 1000 };
/** The first PgBouncer release with KILL_CLIENT. */
const KILL_CLIENT_SINCE = [1, 24];

function parseVersion(text) {
    const m = /PgBouncer\s+(\d+)\.(\d+)/i.exec(text);
    return m ? [Number(m[1]), Number(m[2])] : null;
}
function supportsKillClient(v) {
    return v !== null && (v[0] > KILL_CLIENT_SINCE[0] || (v[0] === KILL_CLIENT_SINCE[0] && v[1] >= KILL_CLIENT_SINCE[1]));
}
function need(rows, columns, command) {
    const missing = rows.length ? columns.filter((c) => !(c in rows[0])) : [];
    if (missing.length)
        throw new Error(`unexpected answer to ${command}: no column ${missing.join(', ')}`);
}
// Raw text: names are compared with the roles the action knows; escaping happens where text is shown.
const str = (v) => (v === null || v === undefined ? '' : String(v));
function parseClients(rows) {
    need(rows, ['user', 'database', 'state'], 'SHOW CLIENTS');
    return rows.map((r) => ({
        user: str(r.user),
        database: str(r.database),
        state: str(r.state),
        addr: r.addr === null || r.addr === undefined || r.addr === '' ? null : String(r.addr),
        applicationName: str(r.application_name),
        id: r.id === undefined || r.id === null ? null : String(r.id),
        port: r.port === undefined || r.port === null ? undefined : String(r.port),
        connectTime: r.connect_time === undefined || r.connect_time === null ? undefined : String(r.connect_time),
    }));
}
function parseServers(rows) {
    need(rows, ['user', 'database', 'state', 'remote_pid'], 'SHOW SERVERS');
    return rows.map((r) => ({
        user: str(r.user),
        database: str(r.database),
        state: str(r.state),
        remotePid: Number(r.remote_pid),
        inUse: str(r.state).startsWith('active') || str(r.state) === 'being_canceled' || str(r.link) !== '',
    }));
}
function parsePools(rows) {
    need(rows, ['database', 'user', 'pool_mode'], 'SHOW POOLS');
    return rows.map((r) => ({ database: str(r.database), user: str(r.user), poolMode: str(r.pool_mode) }));
}
function parseForcedUsers(rows) {
    return rows
        .filter((r) => r.force_user && str(r.name) !== 'pgbouncer')
        .map((r) => ({ database: str(r.name), user: str(r.force_user) }));
}
// ---- the console client -------------------------------------------------------
/** Why a console login failed, in a few words that never hold the URI. */
function consoleLoginError(e) {
    const err = e;
    const msg = err.message ?? String(e);
    if (e instanceof AuthRefused)
        return (0,domain_escape/* oneLine */.TN)(msg);
    if (/does not support SSL/i.test(msg))
        return 'the console does not support TLS, and the URI requires it (sslmode=require or verify-*); configure client_tls_* on PgBouncer, or set sslmode=prefer';
    if (err.code === '28P01' || /SASL|password authentication|password must be a string/i.test(msg))
        return 'password authentication failed for the console user';
    if (err.code && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNRESET'].includes(err.code))
        return `cannot reach it (${err.code})`;
    if (/timeout/i.test(msg))
        return 'connection timed out';
    if (/not allowed|no such user|login rejected/i.test(msg))
        return `the console refused the login (${(0,domain_escape/* oneLine */.TN)(msg)}): the user must be in stats_users or admin_users`;
    return (0,domain_escape/* oneLine */.TN)(msg);
}
/** The listed poolers' consoles; one connection each, reopened after an error. */
class Poolers {
    targets;
    applicationName;
    limits;
    clock;
    #clients;
    #killRights = new Map();
    /** Epoch ms (on the clock) by which every read must end; see setDeadline. */
    #deadline;
    #ended = false;
    constructor(targets, applicationName, limits = POOLER_LIMITS, clock = domain_clock/* systemClock */.m) {
        this.targets = targets;
        this.applicationName = applicationName;
        this.limits = limits;
        this.clock = clock;
        this.#clients = targets.map(() => null);
    }
    get count() {
        return this.targets.length;
    }
    /**
     * Bounds every later read and command by a phase's deadline (epoch ms on the
     * clock), verify-drain's timeout: a read that starts after it still gets
     * limits.lastLookMs, so the last look is bounded too.
     */
    setDeadline(epochMs) {
        this.#deadline = epochMs;
    }
    /** How long a read (or a command outside one) may take from now. */
    #budget() {
        const { readMs, lastLookMs } = this.limits;
        if (this.#deadline === undefined)
            return readMs;
        return Math.min(readMs, Math.max(this.#deadline - this.clock.now().getTime(), lastLookMs));
    }
    /** Reads every pooler; a pooler that cannot be read yields a reading with the reason, never a throw. */
    async read() {
        const until = Date.now() + this.#budget();
        return Promise.all(this.targets.map((t, i) => this.#readOne(t, i, until)));
    }
    /** A console command with a deadline: past it (or past `until`), the connection is destroyed and the command fails. */
    async #command(c, command, until) {
        const ms = Math.max(0, Math.min(this.limits.commandMs, until - Date.now()));
        const rows = await within(c.query(command), ms, () => destroy(c), `no answer to ${command} within ${ms} ms`);
        return rows.rows;
    }
    async #readOne(t, i, until) {
        try {
            const c = await this.#client(i, until);
            const q = async (command) => {
                try {
                    return await this.#command(c, command, until);
                }
                catch (e) {
                    if (e instanceof Stalled)
                        throw new Error(`${e.message}: the console stalled, its connection was closed`, { cause: e });
                    throw new Error(`unexpected answer to ${command}: ${e.message} (is this a PgBouncer admin console?)`, { cause: e });
                }
            };
            const versionText = str((await q(CONSOLE.version))[0]?.version);
            const snapshot = {
                label: t.label,
                version: (0,domain_escape/* oneLine */.TN)(versionText) || 'unknown',
                versionNumber: parseVersion(versionText),
                clients: parseClients(await q(CONSOLE.clients)),
                servers: parseServers(await q(CONSOLE.servers)),
                pools: parsePools(await q(CONSOLE.pools)),
                forcedUsers: parseForcedUsers(await q(CONSOLE.databases)),
            };
            return { label: t.label, line: t.line, snapshot };
        }
        catch (e) {
            const c = this.#clients[i];
            this.#clients[i] = null;
            await endWithin(c);
            return { label: t.label, line: t.line, error: (0,domain_escape/* oneLine */.TN)(e.message) };
        }
    }
    /** The console connection, opened if needed within limits.connectMs and by `until` (Date.now() ms). */
    async #client(i, until) {
        const existing = this.#clients[i];
        if (existing)
            return existing;
        const t = this.targets[i];
        let c;
        try {
            // The same sslmode, require_auth and channel_binding rules as every other connection.
            c = await openConnection({ url: t.url }, {
                applicationName: this.applicationName,
                connectTimeoutMs: Math.max(1, Math.min(this.limits.connectMs, until - Date.now())),
            }, null);
        }
        catch (e) {
            throw new Error(consoleLoginError(e), { cause: e });
        }
        // A connection that completes after the read gave up on it, or after end(), is not kept open.
        if (this.#ended) {
            destroy(c);
            throw new Error('the phase has ended');
        }
        this.#clients[i] = c;
        return c;
    }
    /**
     * Whether the console user may run KILL_CLIENT (it is in admin_users), asked once per pooler
     * with a KILL_CLIENT that ends nobody. Returns the reason it cannot, or null when it can.
     */
    async killRights(label) {
        const known = this.#killRights.get(label);
        if (known !== undefined)
            return known;
        const i = this.targets.findIndex((t) => t.label === label);
        const until = Date.now() + this.#budget();
        const c = await this.#client(i, until);
        let why;
        try {
            await this.#command(c, CONSOLE.killRightsProbe, until);
            why = null;
        }
        catch (e) {
            const msg = e.message;
            if (e instanceof Stalled)
                this.#clients[i] = null;
            if (/client not found/i.test(msg))
                why = null;
            else if (/admin access needed/i.test(msg))
                why = 'its console user is not in admin_users (a stats_users console cannot run KILL_CLIENT)';
            else
                why = `KILL_CLIENT is refused there (${(0,domain_escape/* oneLine */.TN)(msg)})`;
        }
        this.#killRights.set(label, why);
        return why;
    }
    /** KILL_CLIENT for each client id on one pooler (PgBouncer 1.24+). Returns how many were killed. */
    async killClients(label, ids) {
        const i = this.targets.findIndex((t) => t.label === label);
        const until = Date.now() + this.#budget();
        const c = await this.#client(i, until);
        let n = 0;
        for (const id of ids) {
            if (!/^\d+$/.test(id))
                continue;
            try {
                await this.#command(c, killClient(id), until);
            }
            catch (e) {
                if (!(e instanceof Stalled))
                    throw e;
                this.#clients[i] = null;
                throw new Error(`${POOLER_NAME} ${label}: ${e.message} (after ending ${n} client(s)); its connection was closed`, { cause: e });
            }
            n++;
        }
        return n;
    }
    /** Closes every console connection; one that does not close at once (a stalled console) is destroyed. */
    async end() {
        this.#ended = true;
        await Promise.all(this.#clients.map((c) => endWithin(c)));
        this.#clients = this.targets.map(() => null);
    }
}
const POOLER_NAME = 'pooler';
/** A deadline that passed. */
class Stalled extends Error {
}
/**
 * Settles like `p`, or rejects with Stalled(message) after `ms`, calling
 * onExpire first (to destroy what `p` waits on). The timer never outlives `p`.
 */
function within(p, ms, onExpire, message) {
    p.catch(() => { }); // a late failure of what was given up on is not unhandled
    let timer;
    const expired = new Promise((_, reject) => {
        timer = setTimeout(() => {
            onExpire();
            reject(new Stalled(message));
        }, ms);
    });
    return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
/** Tears the connection down at once: no Terminate message, no waiting for the console. */
function destroy(c) {
    ;
    c.connection?.stream?.destroy();
}
/** Ends a console connection politely, or destroys it when the console does not let it go within a second. */
async function endWithin(c) {
    if (!c)
        return;
    let timer;
    await Promise.race([
        c.end().catch(() => { }),
        new Promise((resolve) => {
            timer = setTimeout(resolve, 1000);
        }),
    ]);
    clearTimeout(timer);
    destroy(c);
}

;// CONCATENATED MODULE: ./src/postgres/pooled.ts





async function readBackends(client, logins) {
    const rows = (await client.query(READ_BACKENDS, [logins])).rows;
    return rows.map((r) => ({
        pid: Number(r.pid),
        started: r.backend_start ?? null,
        login: r.login,
        database: r.database,
        state: r.state,
        clientAddr: r.client_addr,
        ...(r.addr_hidden === true ? { addrHidden: true } : {}),
        applicationName: r.application_name,
    }));
}
/** One poll: the poolers, then the backends (so a backend a pooler closed meanwhile is simply gone). */
async function pollPooled(deps, outgoing, incoming) {
    const readings = await deps.poolers.read();
    const backends = await readBackends(deps.session.client, [outgoing, incoming]);
    return { judgement: judgeDrain(outgoing, incoming, backends, readings), readings };
}
/** Every pooler answered, or the phase fails naming the input; nothing has changed yet. */
function requireReadable(readings) {
    const bad = readings.filter((r) => r.error !== undefined);
    if (bad.length === 0)
        return;
    throw new errors/* DatabaseError */.a$(`${pooler_urls/* POOLER_INPUT */.H0}: cannot read ${bad.map((r) => `pooler ${r.label} (entry ${r.line}): ${r.error}`).join('; ')}. Nothing was changed.`, `Check the console URI's host, port, user and password, and that the user is in the pooler's stats_users (admin_users for KILL_CLIENT).`);
}
/**
 * The sessions close and abort plan on: a login's backends that a listed
 * pooler holds idle are not sessions that anyone uses, so they are taken out;
 * the poolers' clients of the login are added (shown as database@pooler).
 */
function sessionsSeenThroughPoolers(groups, j, readings) {
    const out = groups.map((g) => ({ ...g }));
    for (const s of j.heldIdle) {
        const g = out.find((x) => (x.server ?? 'primary') === 'primary' &&
            x.login === s.login &&
            x.database === s.database &&
            x.applicationName === s.applicationName &&
            x.clientAddr === s.clientAddr &&
            x.count > 0);
        if (g)
            g.count--;
    }
    for (const r of readings) {
        for (const c of r.snapshot?.clients.filter((x) => x.user === j.login) ?? []) {
            out.push({
                server: `pooler ${r.label}`,
                login: c.user,
                database: c.database,
                applicationName: c.applicationName,
                clientAddr: c.addr,
                count: 1,
            });
        }
    }
    return out.filter((g) => g.count > 0);
}
/**
 * KILL_CLIENT for every pooler client of the login, or, when a pooler holding
 * such clients cannot (before PgBouncer 1.24, or a console user not in
 * admin_users), the reason it refuses.
 */
function killRefusal(readings, login, rights = {}) {
    const blocked = clientsToKill(readings, login, supportsKillClient).filter((k) => !k.supported || rights[k.label]);
    if (blocked.length === 0)
        return null;
    return `${blocked
        .map((b) => b.supported
        ? `pooler ${b.label} has ${b.clients} client(s) of "${login}", but ${rights[b.label]}`
        : `pooler ${b.label} (${b.version}) has ${b.clients} client(s) of "${login}" and no KILL_CLIENT (PgBouncer 1.24 or later has it)`)
        .join('; ')}, so they cannot be ended`;
}
/**
 * Before anything changes: asks each pooler that has KILL_CLIENT and holds
 * clients of these logins whether its console may run it (admin_users), so a
 * phase that will need KILL_CLIENT refuses up front rather than after its commit.
 */
async function probeKillRights(deps, readings, logins) {
    const rights = {};
    for (const login of logins)
        for (const k of clientsToKill(readings, login, supportsKillClient).filter((x) => x.supported)) {
            if (k.label in rights)
                continue;
            const why = await deps.poolers.killRights(k.label);
            if (why)
                rights[k.label] = why;
        }
    return rights;
}
async function killPoolerClients(deps, readings, login) {
    let n = 0;
    for (const k of clientsToKill(readings, login, supportsKillClient).filter((x) => x.supported))
        n += await deps.poolers.killClients(k.label, k.ids);
    return n;
}
/**
 * After a login is disabled: end its server connections that a listed pooler
 * holds idle, on poolers where it has no client left, so no authenticated
 * connection of it stays in any pool. (A pooler would hand such a connection
 * to a new client of the login that it still authenticates from an auth_file.)
 * Terminating an idle server connection is safe: PgBouncer drops it, and no
 * client is using it. Returns how many were ended.
 */
async function endIdlePooledServers(deps, login) {
    const readings = await deps.poolers.read();
    const unreadable = readings.filter((r) => r.error !== undefined).map((r) => `${r.label}: ${r.error}`);
    const clientFree = readings.filter((r) => r.snapshot && !r.snapshot.clients.some((c) => c.user === login));
    const j = judgeLogin(login, await readBackends(deps.session.client, [login]), clientFree);
    const pids = j.heldIdle.map((s) => s.pid);
    if (pids.length === 0)
        return { ended: 0, unreadable };
    let ended;
    try {
        ended = (await deps.session.client.query(TERMINATE_BACKENDS, [login, pids])).rows[0].terminated;
    }
    catch (e) {
        // After the commit nothing may fail the phase: say what is left and why.
        deps.reporter.warning(`Could not end ${pids.length} idle pooled server connection(s) of "${login}": ${e.message}. Grant pg_signal_backend to the admin role; until then they close at the pooler's server_idle_timeout.`);
        return { ended: 0, unreadable };
    }
    const end = deps.now().getTime() + 5000;
    while (deps.now().getTime() < end) {
        const left = (await readBackends(deps.session.client, [login])).filter((b) => pids.includes(b.pid));
        if (left.length === 0)
            break;
        await deps.sleep(50);
    }
    return { ended, unreadable };
}

;// CONCATENATED MODULE: ./src/phase-support/poolers-close.ts
/** close and abort with pgbouncer-urls: what they plan on, and what they end after the commit. */





/**
 * Reads every pooler (failing, with nothing changed, when one cannot be read)
 * and the family's backends. With terminate, also asks each pooler that holds
 * clients of these logins whether its console may run KILL_CLIENT.
 */
async function lookThroughPoolers(deps, logins, terminate = false) {
    if (!deps.poolers.count)
        return null;
    const readings = await deps.poolers.read();
    requireReadable(readings);
    return {
        readings,
        backends: await readBackends(deps.session.client, logins),
        killRights: terminate ? await probeKillRights(deps, readings, logins) : {},
    };
}
/**
 * The observation a plan sees: the login's idle pooled server connections are
 * not counted, its pooler clients are. With terminate, a pooler that holds
 * clients of the login and has no KILL_CLIENT makes the phase refuse.
 */
function seenThroughPoolers(obs, look, login, terminate) {
    if (!look || !login)
        return obs;
    if (terminate) {
        const refusal = killRefusal(look.readings, login, look.killRights);
        if (refusal) {
            throw new errors/* StateError */.qq(`terminate: true, but ${refusal}.`, obs.state.kind === 'ok' ? (0,domain_state/* describeState */.Jw)(obs.state.state) : 'not set up', `Wait for those clients to disconnect (verify-drain), give ${pooler_urls/* POOLER_INPUT */.H0} a console user in the pooler's admin_users (upgrade a pooler older than PgBouncer 1.24), or end them on the pooler yourself; or run close with force: true and without terminate, which closes while they stay connected (their next transaction then fails). ${pooler_urls/* POOLER_INPUT */.H0} was read; nothing was changed.`);
        }
    }
    const j = judgeLogin(login, look.backends, look.readings);
    return { ...obs, sessions: sessionsSeenThroughPoolers(obs.sessions, j, look.readings) };
}
/**
 * Inside close's transaction, with the family locked, just before the change:
 * a client that logged in to a pooler as the outgoing login since the first
 * look makes close refuse (unless force or terminate), nothing changed.
 */
async function recheckPoolerClients(deps, obs, cfg) {
    const login = obs.state.kind === 'ok' ? obs.state.state.active : null;
    if (!login || cfg.force)
        return;
    const readings = await deps.poolers.read();
    requireReadable(readings);
    const j = judgeLogin(login, [], readings);
    if (j.clients === 0)
        return;
    if (cfg.terminate) {
        const refusal = killRefusal(readings, login, await probeKillRights(deps, readings, [login]));
        if (!refusal)
            return;
        throw new errors/* StateError */.qq(`terminate: true, but ${refusal}.`, obs.state.kind === 'ok' ? (0,domain_state/* describeState */.Jw)(obs.state.state) : '', `Give ${pooler_urls/* POOLER_INPUT */.H0} a console user in the pooler's admin_users, or wait for those clients to disconnect. Nothing was changed.`);
    }
    const where = readings.filter((r) => r.snapshot?.clients.some((c) => c.user === login)).map((r) => r.label);
    throw new errors/* StateError */.qq(`The outgoing login "${login}" has ${j.clients} client(s) logged in to pooler ${where.join(', ')}.`, obs.state.kind === 'ok' ? (0,domain_state/* describeState */.Jw)(obs.state.state) : '', 'Wait for them with verify-drain, or run close with force: true to close while they stay connected. Nothing was changed.');
}
/**
 * abort with terminate, before anything changes: a pooler that has KILL_CLIENT
 * and clients of the login to disable, but a console user that may not run it,
 * makes abort refuse (it would fail after its commit otherwise).
 */
function requireKillRights(look, login, obs) {
    if (!look)
        return;
    const refusal = killRefusal(look.readings.filter((r) => look.killRights[r.label]), login, look.killRights);
    if (!refusal)
        return;
    throw new errors/* StateError */.qq(`terminate: true, but ${refusal}.`, obs.state.kind === 'ok' ? (0,domain_state/* describeState */.Jw)(obs.state.state) : 'not set up', `Give ${pooler_urls/* POOLER_INPUT */.H0} a console user in the pooler's admin_users, or run abort without terminate. ${pooler_urls/* POOLER_INPUT */.H0} was read; nothing was changed.`);
}
/**
 * After the login was disabled: end its pooled server connections that no
 * client uses. Returns notes for the summary.
 */
async function endPooled(deps, login) {
    if (!deps.poolers.count)
        return [];
    const notes = [];
    const { ended, unreadable } = await endIdlePooledServers(deps, login);
    if (ended)
        notes.push(`Ended ${ended} pooled server connection(s) of "${login}" that no client used, so no authenticated connection of it stays in a pool.`);
    if (unreadable.length)
        deps.reporter.warning(`${pooler_urls/* POOLER_INPUT */.H0}: could not read ${unreadable.join('; ')} after the change; its idle server connections of "${login}" were not ended.`);
    return notes;
}

;// CONCATENATED MODULE: ./src/phase-support/login-sessions.ts
/**
 * A login's sessions one by one, wherever the application reaches: the
 * primary, every replica in replica-urls, and every client logged in to a
 * pooler in pgbouncer-urls. close and abort read them before their
 * transaction and again after their commit (sessions can log in while the
 * transaction runs), and end them there with terminate.
 */






/**
 * The sessions of these logins that someone uses, from what was read: backends
 * that a listed pooler holds for its clients are not counted (the clients are,
 * and a pooler's idle server connections are ended separately), unless no
 * client of that login is on a pooler (a database entry forcing the user).
 */
function loginSessionsFrom(logins, primary, readings, replicas) {
    const sessions = [];
    for (const login of logins) {
        const j = judgeLogin(login, primary, readings);
        const held = new Map();
        for (const r of readings)
            for (const s of r.snapshot?.servers ?? [])
                if (s.user === login)
                    held.set(s.remotePid, held.get(s.remotePid) || s.inUse);
        for (const b of primary.filter((x) => x.login === login)) {
            const inUse = held.get(b.pid);
            if (inUse === false || (inUse === true && j.clients > 0))
                continue;
            sessions.push(backendSession('primary', b));
        }
        for (const r of readings)
            for (const c of r.snapshot?.clients.filter((x) => x.user === login) ?? [])
                sessions.push({
                    where: `pooler ${r.label}`,
                    key: `pooler ${r.label}#${c.id ?? `${c.addr ?? ''}:${c.port ?? ''}@${c.connectTime ?? ''}`}`,
                    login,
                    database: c.database,
                    applicationName: c.applicationName,
                    clientAddr: c.addr,
                });
        for (const b of replicas.filter((x) => x.login === login))
            sessions.push(backendSession(b.server, b));
    }
    const unreadable = readings.filter((r) => r.error !== undefined).map((r) => `${r.label}: ${r.error}`);
    return { sessions, unreadable, readings };
}
/** A backend as a login session; its key holds backend_start too, so a backend reusing an ended one's pid is new. */
function backendSession(where, b) {
    return {
        where,
        key: `${where}#${b.pid}@${b.started ?? ''}`,
        login: b.login,
        database: b.database,
        applicationName: b.applicationName,
        clientAddr: b.clientAddr,
        ...(b.addrHidden ? { addrHidden: true } : {}),
    };
}
/** Reads them now: the primary, the poolers (when listed), the replicas (when listed). */
async function readLoginSessions(deps, logins) {
    const primary = await readBackends(deps.session.client, logins);
    const readings = deps.poolers.count ? await deps.poolers.read() : [];
    const replicas = deps.replicas.count ? await deps.replicas.backends(logins) : [];
    return loginSessionsFrom(logins, primary, readings, replicas);
}
/** Replica backends as the session groups a plan and a summary count. */
function groupBackends(backends) {
    const out = [];
    for (const b of backends) {
        const g = out.find((x) => x.server === b.server &&
            x.login === b.login &&
            x.database === b.database &&
            x.applicationName === b.applicationName &&
            x.clientAddr === b.clientAddr &&
            Boolean(x.addrHidden) === Boolean(b.addrHidden));
        if (g)
            g.count++;
        else
            out.push({
                server: b.server,
                login: b.login,
                database: b.database,
                applicationName: b.applicationName,
                clientAddr: b.clientAddr,
                ...(b.addrHidden ? { addrHidden: true } : {}),
                count: 1,
            });
    }
    return out;
}
/**
 * After the commit that disabled the login (it can no longer log in): ends its
 * sessions everywhere, KILL_CLIENT on the poolers where the console may, and
 * reads again until none is left or the limit passes (a session that was
 * authenticating at the commit can still appear). Returns what was ended and
 * what is left, with the reason a pooler could not end its clients.
 */
async function endLoginEverywhere(deps, login, limitMs = 5000) {
    const ended = new Map();
    const refusals = new Set();
    const end = deps.now().getTime() + limitMs;
    for (;;) {
        const now = await readLoginSessions(deps, [login]);
        const done = () => ({ ended: [...ended.values()], left: now, refusals: [...refusals] });
        if (now.sessions.length === 0 || deps.now().getTime() >= end)
            return done();
        const fresh = now.sessions.filter((s) => !ended.has(s.key));
        const acted = [];
        const onPoolers = fresh.filter((s) => s.where.startsWith('pooler '));
        if (onPoolers.length) {
            const rights = await probeKillRights(deps, now.readings, [login]);
            const refusal = killRefusal(now.readings, login, rights);
            if (refusal)
                refusals.add(refusal);
            for (const k of clientsToKill(now.readings, login, supportsKillClient)) {
                if (!k.supported || rights[k.label])
                    continue;
                const mine = onPoolers.filter((s) => s.where === `pooler ${k.label}`);
                if (mine.length === 0)
                    continue;
                await deps.poolers.killClients(k.label, mine.map(family/* idOf */.TH));
                acted.push(...mine);
            }
        }
        const servers = fresh.filter((s) => !s.where.startsWith('pooler '));
        if (servers.some((s) => s.where === 'primary'))
            await deps.session.client.query(TERMINATE_SESSIONS, [login]);
        if (servers.some((s) => s.where !== 'primary') && deps.replicas.count)
            await deps.replicas.terminate(login);
        acted.push(...servers);
        for (const s of acted)
            ended.set(s.key, s);
        // Nothing more to end, and nothing ended still on its way out: what is left stays.
        if (acted.length === 0 && !now.sessions.some((s) => ended.has(s.key)))
            return done();
        await deps.sleep(50);
    }
}

;// CONCATENATED MODULE: ./src/phase-support/login-check.ts




/** How long the check waits for its own backend to leave pg_stat_activity after it disconnected. */
const CHECK_GONE_MS = 2000;
/** The application_name of open's login check: the action's own short session as the incoming login. */
const OPEN_CHECK_APP = 'pg-credential-rotation/open-check';
/** The wait for a check on the admin connection's server, run on that connection. */
function goneFromPrimary(admin) {
    return (pid, limitMs) => waitBackendGone(admin, pid, limitMs);
}
/**
 * Logs in as the login with its new password; returns what is wrong, or null.
 * On the admin connection's server, or on `on` (a replica of replica-urls, named `where`).
 * With `gone` (a wait on the same server: goneFromPrimary, or a replica's), returns only once the
 * check's own session is gone from pg_stat_activity, so it never counts as a session of the login.
 */
async function checkLogin(cfg, login, password, on, gone) {
    let c = null;
    let pid = null;
    const where = on ? ` on ${on.where}` : '';
    try {
        // Same host, port, database and TLS settings as the admin (or replica) connection, but not its session options.
        c = await connect(on?.target ?? cfg.admin, `login check as "${login}"${where}`, {
            applicationName: OPEN_CHECK_APP,
            user: login,
            password,
            withoutOptions: true,
            asLogin: true,
        });
        const row = (await c.query(WHO_AM_I)).rows[0];
        pid = row.pid;
        if (row.current_user !== cfg.group) {
            return `Logged in as "${login}"${where}, but current_user is "${(0,domain_escape/* oneLine */.TN)(String(row.current_user))}", not "${cfg.group}": the SET role default did not apply, so objects it creates would be owned by the login.`;
        }
        return null;
    }
    catch (e) {
        return `Logging in as "${login}" with the new password${where} failed: ${e.message}`;
    }
    finally {
        await db_close(c);
        if (gone && pid !== null)
            await gone(pid, CHECK_GONE_MS).catch(() => { });
    }
}
/**
 * The login check on every replica (after they replayed the commit); the problems found, one per
 * replica. Each returns once its session has left that replica's pg_stat_activity.
 */
async function checkLoginOnReplicas(cfg, replicas, login, password) {
    const problems = [];
    for (let i = 0; i < replicas.count; i++) {
        const p = await checkLogin(cfg, login, password, { target: replicas.target(i), where: replicas.describe(i) }, (pid, ms) => replicas.waitBackendGone(i, pid, ms));
        if (p)
            problems.push(p);
    }
    return problems;
}

;// CONCATENATED MODULE: ./src/phases/abort.ts












/**
 * The incoming login's sessions, read with the family locked. open's login check (its own short
 * session, OPEN_CHECK_APP) may still be connected when an abort follows at once or runs at the
 * same moment; open waits for it to leave, and so does abort: while every session it sees is
 * such a check, it looks again, for at most CHECK_GONE_MS. A session that stays is judged like
 * any other (an application that happens to use that name still stops the abort).
 */
async function sessionsWithoutOpenCheck(deps, incoming) {
    const until = deps.now().getTime() + CHECK_GONE_MS;
    for (;;) {
        await deps.session.client.query(CLEAR_STATS_SNAPSHOT);
        const now = await readLoginSessions(deps, [incoming]);
        const onlyChecks = now.sessions.length > 0 && now.sessions.every((s) => s.applicationName === OPEN_CHECK_APP);
        if (!onlyChecks || deps.now().getTime() >= until)
            return now;
        await deps.sleep(50);
    }
}
/** The incoming login's own session holding the family's lock is in use: ended only with force and terminate. */
function incomingLockHolder(cfg) {
    return {
        login: (obs) => (obs.state.kind === 'ok' ? (obs.state.state.rotation?.incoming ?? null) : null),
        end: cfg.terminate && cfg.force,
        remedy: 'Run abort with force: true and terminate: true (the login is in use)',
    };
}
/**
 * Cancels an open rotation (what a workflow runs after a failed or cancelled
 * deploy). Safe in any state: with no rotation open it does nothing and says so.
 * It never strands a deploy: while the incoming login has sessions anywhere
 * (primary, replicas, pooler clients) it refuses, changing nothing, unless
 * force. With terminate, also ends the incoming login's sessions.
 */
async function abort(cfg, deps) {
    // With pgbouncer-urls, every pooler must answer before anything changes.
    const look = await lookThroughPoolers(deps, cfg.logins, cfg.terminate);
    const inUse = { notes: [], seen: [] };
    const applied = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => {
        const plan = planAbort(obs, cfg, planContext(deps));
        if (plan.kind === 'change' && cfg.terminate)
            requireKillRights(look, plan.state.lastAborted.login, obs);
        return plan;
    }, {
        terminate: cfg.terminate,
        lockHolder: incomingLockHolder(cfg),
        // With the family locked, just before the change: who uses the incoming login now.
        beforeChanges: async (obs) => {
            if (obs.state.kind !== 'ok' || !obs.state.state.rotation)
                return;
            const now = await sessionsWithoutOpenCheck(deps, obs.state.state.rotation.incoming);
            requireReadable(now.readings);
            inUse.seen = now.sessions;
            inUse.notes = checkAbortInUse(now.sessions, obs.state.state, cfg);
        },
    });
    const { plan, before } = applied;
    if (plan.kind === 'noop') {
        const notes = [
            `Nothing to do: ${plan.reason}.`,
            ...(await replayedEarlierAbort(cfg, deps, plan.state, plan.reason)),
        ];
        return resultWithFamily(cfg, deps, {
            ...(before.state.kind === 'ok' ? (0,domain_state/* loginsNow */.xW)(plan.state) : {}),
            state: plan.state.rotation ? 'open' : 'idle',
        }, [], notes);
    }
    const aborted = plan.state.lastAborted.login;
    const committed = `"${aborted}" was disabled and rotation ${plan.state.lastAborted.id} aborted`;
    return afterCommit(committed, async () => {
        const notes = [...applied.notes, ...plan.notes, ...inUse.notes];
        // Before its sessions are read again and ended there: every replica has replayed the NOLOGIN.
        notes.push(...(await waitForReplicas(cfg, deps, abortNext(aborted))));
        notes.push(...(await incomingGone(cfg, deps, aborted, plan.state.active, inUse.seen)));
        return resultWithFamily(cfg, deps, { username: plan.state.active, previousUsername: aborted, rotationId: plan.state.lastAborted.id, state: 'idle' }, applied.executed.map((s) => s.display), notes);
    });
}
/**
 * abort's postcondition, after its commit (and after the replicas replayed it):
 * the aborted login's sessions are read again. With terminate, every one is
 * ended; what cannot be (a pooler without KILL_CLIENT) is named. Without it, a
 * session that logged in after abort's check (so no force: true covered it) is
 * a deploy that connected meanwhile: abort fails after its commit, naming it.
 */
async function incomingGone(cfg, deps, aborted, active, seen) {
    const notes = [];
    if (cfg.terminate) {
        const { ended, left, refusals } = await endLoginEverywhere(deps, aborted);
        const clients = ended.filter((x) => x.where.startsWith('pooler ')).length;
        if (clients)
            notes.push(`Ended ${clients} pooler client(s) of "${aborted}" with KILL_CLIENT.`);
        if (ended.length > clients)
            notes.push(`Signalled ${ended.length - clients} sessions of "${aborted}" to terminate.`);
        if (left.sessions.length)
            notes.push(`Not ended: ${(0,family/* describeLoginSessions */.M1)(left.sessions)}${refusals.length ? ` (${refusals.join('; ')})` : ''}; they fail at their next transaction that needs a new server connection.`);
        notes.push(...(await endPooled(deps, aborted)));
        return notes;
    }
    notes.push(...(await endPooled(deps, aborted)));
    const known = new Set(seen.map((s) => s.key));
    const appeared = (await readLoginSessions(deps, [aborted])).sessions.filter((s) => !known.has(s.key));
    if (appeared.length)
        throw new Error(`"${aborted}" has ${appeared.length} session(s) that logged in while abort ran: ${(0,family/* describeLoginSessions */.M1)(appeared)}. A deploy may be using the credentials abort just disabled: they keep working until they disconnect, and cannot log in again. Move the application back to the credentials of "${active}".`);
    return notes;
}
/** A re-run after an abort whose replay wait timed out: wait for the replicas again. */
async function replayedEarlierAbort(cfg, deps, state, reason) {
    const last = state.lastAborted;
    if (!deps.replicas.count || !last)
        return [];
    try {
        return await waitForReplicas(cfg, deps, abortNext(last.login));
    }
    catch (e) {
        if (!(e instanceof ReplicaLagError))
            throw e;
        throw new errors/* PartialFailure */.CI(`Nothing to do: ${reason}. Rotation ${last.id} was aborted earlier, but ${e.message}`);
    }
}
/** What to do when a replica did not replay abort's commit in time. */
function abortNext(login) {
    return `Until it replays the commit, "${login}" still logs in on that replica. Run abort again: it waits for the replicas again.`;
}

// EXTERNAL MODULE: ./src/inputs/config.ts
var config = __webpack_require__(2567);
;// CONCATENATED MODULE: ./src/github/writeback.ts
/** GitHub requests made while the family lock is held: 10 s each, one retry. */
const UNDER_LOCK = { requestTimeoutMs: 10_000, retryDelaysMs: [1000] };
/**
 * Writes the issued credentials to GitHub secrets (github-secrets maps secret
 * names to outputs). The GitHub client is loaded only here, when write-back is
 * configured.
 */
async function writeBack(cfg, creds, deps, limits = {}) {
    const { reporter } = deps;
    const gh = cfg.github;
    if (!gh)
        return [];
    const { writeSecrets } = await Promise.all(/* import() */[__webpack_require__.e(71), __webpack_require__.e(298)]).then(__webpack_require__.bind(__webpack_require__, 298));
    const value = {
        username: creds.username,
        password: creds.password,
        'database-url': creds.databaseUrl,
    };
    const secrets = Object.fromEntries(gh.secrets.map((m) => [m.name, value[m.output]]));
    const { written } = await writeSecrets({
        token: gh.token,
        apiUrl: gh.apiUrl,
        repository: gh.repository,
        environment: gh.environment ?? undefined,
        secrets,
        reporter,
        clock: deps,
        ...limits,
    });
    const where = gh.environment ? `environment "${gh.environment}" of ${gh.repository}` : gh.repository;
    reporter.info(`Wrote ${written.join(', ')} to the GitHub secrets of ${where}.`);
    return written;
}

;// CONCATENATED MODULE: ./src/postgres/writeback-record.ts



/**
 * Sets (or, with null, clears) the state's `writtenBack` field on a second,
 * autocommit connection, so the record survives the phase's own transaction
 * failing afterwards. Close calls it while its transaction holds the family
 * lock and has not written the state yet, so no other phase can interleave;
 * it refuses unless the state still belongs to the open rotation `rotationId`.
 */
async function recordWriteBack(session, group, rotationId, record) {
    const client = await session.another();
    try {
        await client.query(RECORD_TIMEOUTS);
        const comment = (await client.query(READ_STATE_COMMENT, [group])).rows[0]?.comment ?? null;
        const read = (0,domain_state/* readState */.un)(comment, group);
        if (read.kind !== 'ok' || read.state.rotation?.id !== rotationId) {
            throw new Error(`the state of "${group}" is no longer that of rotation ${rotationId}`);
        }
        const { writtenBack: _previous, ...rest } = read.state;
        const next = record ? { ...rest, writtenBack: record } : rest;
        await client.query(renderStep({ kind: 'write-state', group, state: next }, 0).sql);
    }
    finally {
        await db_close(client);
    }
}

;// CONCATENATED MODULE: ./src/domain/userlist.ts
/** The pgbouncer-userlist output: the lines of `entries`, in the order given, without a trailing newline. */
function renderUserlist(entries) {
    return entries.map((e) => `${quote(e.login)} ${quote(e.verifier)}`).join('\n');
}
/** The verifier a userlist (as renderUserlist wrote it) gives `login`, or null. */
function verifierInUserlist(userlist, login) {
    for (const line of userlist.split('\n')) {
        const m = /^"((?:[^"]|"")*)" "((?:[^"]|"")*)"$/.exec(line);
        if (m && m[1].replace(/""/g, '"') === login)
            return m[2].replace(/""/g, '"');
    }
    return null;
}
/** Only SCRAM verifiers go into the list: an md5 hash or a plaintext password cannot do SCRAM pass-through. */
function isScramVerifier(secret) {
    return (typeof secret === 'string' && /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(secret));
}
const quote = (s) => `"${s.replace(/"/g, '""')}"`;

;// CONCATENATED MODULE: ./src/phase-support/userlist.ts




const USERLIST_OUTPUT = 'pgbouncer-userlist';
/** Reads the stored passwords of `roles` from pg_authid, or null when the admin may not (it is superuser-only). */
async function readStoredSecrets(client, roles) {
    try {
        if (!(await client.query(CAN_READ_AUTHID)).rows[0]?.readable)
            return null;
        const rows = (await client.query(READ_VERIFIERS, [roles])).rows;
        return Object.fromEntries(rows.map((r) => [r.name, r.secret]));
    }
    catch {
        return null;
    }
}
/** The verifier of `login` from pg_authid, else from a sealed copy; or why it is unknown. */
function knownVerifier(cfg, login, sources) {
    if (sources.stored) {
        const secret = sources.stored[login] ?? null;
        if (isScramVerifier(secret))
            return { login, verifier: secret };
        const what = secret === null
            ? 'has no password'
            : /^md5/.test(String(secret))
                ? 'has an md5 password'
                : 'has no SCRAM verifier';
        return {
            login,
            missing: `it ${what} in pg_authid, and PgBouncer needs the login's SCRAM verifier for SCRAM pass-through; set a SCRAM password (password_encryption = scram-sha-256) or let a rotation issue one`,
        };
    }
    let problem = '';
    for (const copy of sources.sealed) {
        if (!cfg.sealKey) {
            problem = 'the state keeps it sealed, but this step has no seal-key to open it';
            continue;
        }
        try {
            if (copy.kind === 'verifier') {
                const v = unsealVerifier(copy.sealed, cfg.sealKey, { family: cfg.group });
                if (v.username === login && isScramVerifier(v.verifier))
                    return { login, verifier: v.verifier };
            }
            else {
                const { creds } = unsealCredentials(copy.sealed, cfg.sealKey, { family: cfg.group });
                const v = creds.verifier ?? (creds.userlist ? verifierInUserlist(creds.userlist, login) : null);
                if (creds.username === login && isScramVerifier(v))
                    return { login, verifier: v };
            }
        }
        catch (e) {
            problem = `its sealed copy could not be opened (${e.message})`;
        }
    }
    const hint = `a superuser can read it (SELECT rolpassword FROM pg_authid WHERE rolname = ${(0,names/* quoteLiteral */.ce)(login)}) to write its line by hand; pass seal-key to setup, open and close so the state keeps each verifier the action sets, sealed, for the next rotation`;
    return {
        login,
        missing: `the admin cannot read pg_authid (superuser only), and ${problem || 'the state keeps no sealed copy of it (its password was set without seal-key, or outside this action)'}; ${hint}`,
    };
}
/**
 * The pgbouncer-userlist output for `entries` (in that order), masked before it
 * exists anywhere else, and a note for the summary; undefined output when a
 * verifier is missing or the server computes them.
 */
function userlistOutput(cfg, reporter, entries) {
    if (cfg.passwordEncryption === 'server') {
        return {
            note: `${USERLIST_OUTPUT}: not emitted: with password-encryption: server the server computes the SCRAM verifier from the password and the action never sees it. For PgBouncer, use auth_query (docs/poolers.md), or password-encryption: scram-sha-256.`,
        };
    }
    const missing = entries.find((e) => 'missing' in e);
    if (missing) {
        return {
            note: `${USERLIST_OUTPUT}: not emitted, because the action does not know the SCRAM verifier of ${(0,names/* quoteIdent */.v4)(missing.login)}, which the list must keep (a list without it would lock it out of PgBouncer): ${missing.missing}.`,
        };
    }
    const known = entries;
    for (const e of known)
        reporter.secret(e.verifier);
    const userlist = renderUserlist(known);
    for (const line of userlist.split('\n'))
        reporter.secret(line);
    reporter.secret(userlist);
    return {
        userlist,
        note: `${USERLIST_OUTPUT}: the auth_file lines of ${known.map((e) => (0,names/* quoteIdent */.v4)(e.login)).join(' and ')}, with their SCRAM verifiers as PostgreSQL stores them.`,
    };
}

;// CONCATENATED MODULE: ./src/phases/close.ts

















/**
 * Disables the outgoing login (NOLOGIN and a password nobody keeps). Refuses
 * while it has sessions (on the primary or any replica) unless terminate or
 * force; with terminate, its sessions are ended after the commit, when they can
 * no longer log back in.
 */
async function closePhase(cfg, deps) {
    const watched = [cfg.group, ...cfg.logins];
    const progress = { written: [], afterWrite: '' };
    const replicaBackends = deps.replicas.count ? await deps.replicas.backends(watched) : [];
    const onReplicas = groupBackends(replicaBackends);
    const look = await lookThroughPoolers(deps, watched, cfg.terminate);
    // Who is connected before the close: a session not among these after the commit logged in during it.
    const start = loginSessionsFrom(watched, look?.backends ?? (await readBackends(deps.session.client, watched)), look?.readings ?? [], replicaBackends);
    const applied = await applyClose(cfg, deps, onReplicas, look, progress);
    const { plan, before } = applied;
    if (plan.kind === 'noop')
        return close_alreadyClosed(cfg, deps, plan, before);
    const outgoing = before.state.kind === 'ok' ? before.state.state.active : '';
    const written = progress.written.length
        ? `; GitHub secrets ${progress.written.join(', ')} hold the credentials of "${plan.state.active}"`
        : '';
    const committed = `"${outgoing}" was disabled and rotation ${plan.state.lastClosed.id} closed${written}`;
    return afterCommit(committed, async () => {
        const previousState = before.state.kind === 'ok' ? before.state.state : null;
        const list = await activeUserlist(cfg, deps, plan.state.active, previousState);
        const notes = [...applied.notes, ...plan.notes, list.note];
        for (const n of notes)
            deps.reporter.info(n);
        // Before its sessions are read again and ended there: every replica has replayed the NOLOGIN.
        notes.push(...(await waitForReplicas(cfg, deps, closeNext(cfg, outgoing))));
        const gone = await outgoingGone(cfg, deps, outgoing, plan.state.lastClosed.id, start);
        notes.push(...gone.notes);
        const outputs = {
            username: plan.state.active,
            pgbouncerUserlist: list.userlist,
            previousUsername: outgoing,
            rotationId: plan.state.lastClosed.id,
            state: 'idle',
            remainingConnections: gone.remaining,
        };
        if (progress.written.length)
            notes.push(`GitHub secrets ${progress.written.join(', ')} hold the credentials of "${plan.state.active}" (written before "${outgoing}" was disabled).`);
        return resultWithFamily(cfg, deps, outputs, applied.executed.map((s) => s.display), notes);
    });
}
/**
 * close's postcondition, after its commit (and after the replicas replayed it):
 * the outgoing login's sessions are read again everywhere the application
 * reaches, since a session can log in while close's transaction runs. With
 * terminate, every one is ended (those that logged in during the close too);
 * without, one that was not there when close began makes close fail, saying
 * what was committed, which sessions remain and how to end them. Sessions that
 * force: true accepted stay, and are the remaining connections.
 */
async function outgoingGone(cfg, deps, outgoing, rotationId, start) {
    const notes = [];
    const rerun = `run close again with terminate: true and rotation-id: ${rotationId} to end them`;
    if (cfg.terminate) {
        const { ended, left, refusals } = await endLoginEverywhere(deps, outgoing);
        const known = new Set(start.sessions.map((s) => s.key));
        const during = ended.filter((s) => !known.has(s.key)).length;
        const clients = ended.filter((x) => x.where.startsWith('pooler ')).length;
        if (clients)
            notes.push(`Ended ${clients} pooler client(s) of "${outgoing}" with KILL_CLIENT.`);
        if (ended.length > clients)
            notes.push(`Signalled ${ended.length - clients} sessions of "${outgoing}" to terminate.`);
        if (during)
            notes.push(`${during} of them logged in while close ran, after its first look.`);
        notes.push(...(await endPooled(deps, outgoing)));
        requireNoneLeft(outgoing, left, refusals, rerun);
        return { notes, remaining: 0 };
    }
    notes.push(...(await endPooled(deps, outgoing)));
    const now = await readLoginSessions(deps, [outgoing]);
    const known = new Set(start.sessions.map((s) => s.key));
    const appeared = now.sessions.filter((s) => !known.has(s.key));
    if (appeared.length)
        throw new Error(`"${outgoing}" still has ${appeared.length} session(s) that logged in during the close: ${(0,family/* describeLoginSessions */.M1)(appeared)}. They keep working until they disconnect (the login can no longer log in); ${rerun}.`);
    if (now.unreadable.length)
        requireNoneLeft(outgoing, now, [], rerun);
    return { notes, remaining: now.sessions.length };
}
/** After the commit, what could not be ended (or read) fails the phase, naming it. */
function requireNoneLeft(outgoing, left, refusals, rerun) {
    const parts = [];
    if (left.sessions.length)
        parts.push(`${left.sessions.length} session(s) of "${outgoing}" could not be ended: ${(0,family/* describeLoginSessions */.M1)(left.sessions)}${refusals.length ? ` (${refusals.join('; ')})` : ''}`);
    if (left.unreadable.length)
        parts.push(`${pooler_urls/* POOLER_INPUT */.H0}: could not read ${left.unreadable.map((u) => `pooler ${u}`).join('; ')} after the commit, so its clients of "${outgoing}" are unknown`);
    if (parts.length)
        throw new Error(`${parts.join('; ')}. Fix that, then ${rerun}.`);
}
/** The close transaction: the plan sees replica sessions and pooler clients; the GitHub write-back runs under its lock. */
async function applyClose(cfg, deps, onReplicas, look, progress) {
    const github = cfg.github;
    try {
        return await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => planClose(seenThroughPoolers({ ...obs, sessions: [...obs.sessions, ...onReplicas] }, look, obs.state.kind === 'ok' ? obs.state.state.active : null, cfg.terminate), cfg, planContext(deps)), {
            // With poolers, close ends the old login's idle pooled server connections: that needs pg_signal_backend too.
            terminate: cfg.terminate || look !== null,
            // The outgoing login's own session holding the family's lock: with terminate, ended like its others.
            lockHolder: {
                login: (obs) => (obs.state.kind === 'ok' && obs.state.state.rotation ? obs.state.state.active : null),
                end: cfg.terminate,
                remedy: 'Run close with terminate: true',
            },
            // With the family locked, so no abort or other phase can slip in between the write and the close.
            beforeChanges: github || look
                ? async (obs) => {
                    if (look)
                        await recheckPoolerClients(deps, obs, cfg);
                    if (github)
                        await writeBackBeforeClose(cfg, github, deps, obs, progress);
                }
                : undefined,
            durable: () => (progress.written.length ? progress.afterWrite : null),
        });
    }
    catch (e) {
        // A failure after the secrets were written must say so, whatever failed.
        if (progress.written.length && !(0,errors/* wasCommitted */.ii)(e))
            throw new errors/* PartialFailure */.CI(`${e.message} Meanwhile ${progress.afterWrite}.`);
        throw e;
    }
}
/** What to do when a replica did not replay close's commit in time. */
function closeNext(cfg, outgoing) {
    const sessions = cfg.terminate ? ` and its sessions there were not ended` : '';
    const again = cfg.terminate ? ` and ends "${outgoing}"'s sessions there` : '';
    return `Until it replays the commit, "${outgoing}" still logs in on that replica${sessions}. Run close again with the same rotation-id: it waits for the replicas again${again}.`;
}
/** A re-run after a close whose replay wait timed out: wait for the replicas again, before its sessions are read. */
async function replayedEarlierClose(cfg, deps, rotationId, previous) {
    if (!deps.replicas.count)
        return [];
    try {
        return await waitForReplicas(cfg, deps, closeNext(cfg, previous));
    }
    catch (e) {
        if (!(e instanceof ReplicaLagError))
            throw e;
        throw new errors/* PartialFailure */.CI(`Rotation ${rotationId} was closed earlier ("${previous}" is disabled on the primary), but ${e.message}`);
    }
}
/**
 * pgbouncer-userlist after close: the active login's line only (the disabled one
 * is left out). Its verifier from pg_authid, else from the copy open sealed into
 * the state (or the state's copy after close), else from sealed-credentials.
 */
async function activeUserlist(cfg, deps, active, state) {
    if (cfg.passwordEncryption === 'server')
        return userlistOutput(cfg, deps.reporter, []);
    const stored = await readStoredSecrets(deps.session.client, [active]);
    const sealed = [];
    if (state?.rotation?.incoming === active && state.rotation.verifier)
        sealed.push({ kind: 'verifier', sealed: state.rotation.verifier });
    if (state?.activeVerifier?.login === active)
        sealed.push({ kind: 'verifier', sealed: state.activeVerifier.sealed });
    if (cfg.sealedCredentials)
        sealed.push({ kind: 'credentials', sealed: cfg.sealedCredentials });
    return userlistOutput(cfg, deps.reporter, [knownVerifier(cfg, active, { stored, sealed })]);
}
/**
 * A re-run with the rotation-id close already finished: report the rotation it
 * closed. With terminate, the closed login's sessions that are still there
 * (one that logged in during that close) are ended now, while it stays disabled.
 */
async function close_alreadyClosed(cfg, deps, plan, before) {
    const last = plan.state.lastClosed;
    const previous = last.previous ?? (0,domain_state/* otherLogin */.A6)(plan.state, last.active);
    const list = await activeUserlist(cfg, deps, plan.state.active, plan.state);
    const notes = [
        `Nothing to do: ${plan.reason}.`,
        list.note,
        ...(await replayedEarlierClose(cfg, deps, last.id, previous)),
    ];
    let remaining = 0;
    const disabled = before.logins[previous]?.canLogin === false || (previous === cfg.group && before.group?.canLogin === false);
    if (disabled && cfg.terminate) {
        const gone = await outgoingGone(cfg, deps, previous, last.id, { sessions: [], unreadable: [], readings: [] });
        notes.push(...gone.notes);
    }
    else if (disabled)
        remaining = (await readLoginSessions(deps, [previous])).sessions.length;
    return resultWithFamily(cfg, deps, {
        username: plan.state.active,
        pgbouncerUserlist: list.userlist,
        previousUsername: previous,
        rotationId: last.id,
        state: 'idle',
        remainingConnections: remaining,
    }, [], notes);
}
/**
 * Before the old login is disabled (inside close's transaction, with the family
 * locked), the secret store gets the new credentials: unsealed from open's
 * sealed-credentials, checked to belong to the open rotation's incoming login
 * and to log in, then written. If any of that fails, the transaction rolls back
 * and the old login stays enabled, so the secret store never holds a credential
 * that cannot log in. (The new credentials log in whether or not the close then
 * commits.) The write is recorded in the state by separate autocommit statements
 * (pending before it, confirmed after), so a close that then fails leaves a record
 * that makes abort refuse to disable the login GitHub now names.
 */
async function writeBackBeforeClose(cfg, github, deps, obs, progress) {
    const state = obs.state.kind === 'ok' ? obs.state.state : null;
    const rotation = state?.rotation;
    if (!state || !rotation)
        return;
    const creds = await credentialsToWrite(cfg, deps, state.active, rotation);
    const names = github.secrets.map((m) => m.name);
    const record = (secrets, pending) => ({
        login: creds.username,
        rotationId: rotation.id,
        secrets,
        at: deps.now().toISOString(),
        ...(pending ? { pending } : {}),
    });
    try {
        await recordWriteBack(deps.session, cfg.group, rotation.id, record(names, true));
    }
    catch (e) {
        throw new errors/* DatabaseError */.a$(`Could not record the coming GitHub write in the state comment (${e.message}), so nothing was written to GitHub and nothing was changed.`, 'Run close again.');
    }
    try {
        progress.written = await writeBack(cfg, creds, deps, UNDER_LOCK);
    }
    catch (e) {
        throw await failedWrite(cfg, deps, e, state.active, rotation.id, creds.username);
    }
    progress.afterWrite = `GitHub secrets ${progress.written.join(', ')} now hold the credentials of "${creds.username}" (recorded in the state comment); "${state.active}" is still enabled and rotation ${rotation.id} is still open. Run close again; abort refuses to disable "${creds.username}" unless force: true`;
    await recordWriteBack(deps.session, cfg.group, rotation.id, record(progress.written, false)).catch((e) => deps.reporter.warning(`The GitHub write is recorded as pending only (confirming it failed: ${e.message}).`));
}
/** open's sealed credentials, masked, checked to be this rotation's incoming login and to log in. */
async function credentialsToWrite(cfg, deps, active, rotation) {
    const { sealed, key } = (0,config/* sealedInput */.XU)(cfg);
    const { creds } = unsealCredentials(sealed, key, {
        family: cfg.group,
        rotationId: rotation.id,
    });
    deps.reporter.secret(creds.password);
    deps.reporter.secret(creds.databaseUrl);
    if (creds.username !== rotation.incoming) {
        throw new errors/* InputError */.dz('sealed-credentials', `holds credentials of "${creds.username}", but rotation ${rotation.id} hands out "${rotation.incoming}"; pass the sealed-credentials output of this rotation's open`);
    }
    const problem = await checkLogin(cfg, creds.username, creds.password);
    if (problem) {
        throw new errors/* DatabaseError */.a$(`${problem} The sealed credentials no longer log in (was open re-run and the password re-issued?), so they are not written to GitHub and "${active}" stays enabled.`, 'Pass the sealed-credentials output of the latest open of this rotation.');
    }
    return creds;
}
/**
 * The error for a GitHub write that failed. When GitHub answered with a refusal
 * before writing anything, the pending record is cleared: nothing changed. Otherwise
 * (some secrets written, or no answer) the record stays and the message says so.
 */
async function failedWrite(cfg, deps, e, active, rotationId, incoming) {
    const err = e;
    const partial = err.written ?? [];
    if (partial.length === 0 && err.status !== undefined && err.status < 500) {
        const cleared = await recordWriteBack(deps.session, cfg.group, rotationId, null).then(() => true, () => false);
        if (cleared)
            return new Error(`${err.message} Nothing was closed: the old login stays enabled, so the secrets GitHub holds still log in. Fix the token or permissions and run close again.`);
    }
    const what = partial.length
        ? `GitHub secrets ${partial.join(', ')} now hold the credentials of "${incoming}"; the others were not written`
        : `GitHub may hold the credentials of "${incoming}" (no answer from GitHub)`;
    return new errors/* PartialFailure */.CI(`${err.message} ${what}. The close was not applied: "${active}" is still enabled and rotation ${rotationId} is still open; the write is recorded in the state comment, so abort refuses to disable "${incoming}" unless force: true. Fix GitHub access and run close again.`);
}

;// CONCATENATED MODULE: ./src/phases/open.ts













/**
 * Gives the standby login a new password and LOGIN, then logs in with it and
 * checks that the session runs as the group role. If that check fails the
 * rotation is undone and the phase fails. With seal-key the credentials are
 * also kept, sealed, in the state, so a re-run of this run's open emits them
 * again instead of changing the password.
 */
async function open_open(cfg, deps) {
    const password = generatePassword(cfg.passwordLength);
    deps.reporter.secret(password);
    const { applied, sealed, verifier, list } = await applyOpen(cfg, deps, password);
    const { plan } = applied;
    if (plan.kind === 'reemit')
        return reemit(cfg, deps, plan);
    if (applied.before.state.kind !== 'ok')
        throw new Error('internal: open planned without a state');
    const previous = applied.before.state.state;
    const rotation = plan.state.rotation;
    const incoming = rotation.incoming;
    const notes = [...plan.notes, list.note];
    for (const n of notes)
        deps.reporter.info(n);
    const outputs = {
        ...credentialOutputs(cfg, deps.reporter, {
            username: incoming,
            password,
            rotationId: rotation.id,
            sealed,
            verifier,
            userlist: list.userlist,
        }),
        previousUsername: plan.state.active,
        rotationId: rotation.id,
        state: 'open',
    };
    const committed = `Committed: rotation ${rotation.id} is open and "${incoming}" has LOGIN and a new password, which this step did not report`;
    // Nothing is reported before the login check passed on the primary and on every replica, after they replayed the commit.
    const replayed = await afterCommit(committed, async () => {
        let problem = await checkLogin(cfg, incoming, password, undefined, goneFromPrimary(deps.session.client));
        let notes = [];
        if (!problem && deps.replicas.count) {
            notes = await waitForReplicas(cfg, deps, OPEN_NEXT);
            problem = (await checkLoginOnReplicas(cfg, deps.replicas, incoming, password)).join(' ') || null;
        }
        if (problem)
            await undoOpen(cfg, deps, problem, plan.state.active, incoming, rotation.id, previous);
        return notes;
    });
    const now = await confirmStillOpen(cfg, deps, rotation.id, incoming);
    deps.reporter.info(`Logged in as "${incoming}" with the new password: current_user is "${cfg.group}".`);
    return afterCommit(committed, () => resultWithFamily(cfg, deps, outputs, applied.executed.map((s) => s.display), [...notes, ...replayed, ...defaultAppUrlNotice(cfg, deps.reporter)], undefined, {}, now));
}
/** What to do when the replicas did not replay open's commit in time. */
const OPEN_NEXT = 'Re-run open in the same workflow run: with seal-key it emits the same credentials once every replica has replayed them (without seal-key, run abort and open again); or run abort.';
/** The login check failed after the commit: undo the rotation (the incoming login NOLOGIN again) and fail. */
async function undoOpen(cfg, deps, problem, active, incoming, rotationId, previous) {
    const undo = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => {
        const p = planRevertOpen(obs, cfg, rotationId, previous);
        if (!p)
            throw new errors/* DatabaseError */.a$(`${problem} The rotation could not be undone because its state changed meanwhile; run the status phase and abort.`, undefined, undefined, true);
        return p;
    });
    throw new errors/* DatabaseError */.a$(`${problem} The rotation was undone: "${incoming}" is NOLOGIN again and "${active}" stays active (${undo.executed.length} statements).`, 'Run setup to repair the family, check pg_hba.conf allows the login roles, then open again.', undefined, true);
}
/**
 * The open transaction. The new password's verifier is computed once, so the one
 * set is the one sealed (with seal-key: in the credentials and, alone, in the
 * state for the next rotation) and listed in pgbouncer-userlist next to the
 * outgoing login's, read from pg_authid where the admin may.
 */
async function applyOpen(cfg, deps, password) {
    const scram = cfg.passwordEncryption === 'scram-sha-256';
    const verifierFor = verifierOnce(password);
    const stored = scram ? await readStoredSecrets(deps.session.client, [cfg.group, ...cfg.logins]) : null;
    const out = { list: { note: '' } };
    const decide = (obs) => {
        const plan = planOpen(obs, cfg, planContext(deps));
        if (plan.kind !== 'issue')
            return plan;
        const verifier = (out.verifier = scram ? verifierFor(obs.scramIterations) : undefined);
        const entries = openUserlist(cfg, obs, plan.state.active, plan.login, verifier, stored);
        out.list = userlistOutput(cfg, deps.reporter, entries);
        if (!cfg.sealKey)
            return plan;
        const binding = { family: cfg.group, rotationId: plan.state.rotation.id };
        const databaseUrl = (0,urls/* buildDatabaseUrl */.p5)(cfg.appUrl, plan.login, password);
        const creds = { username: plan.login, password, databaseUrl, verifier, userlist: out.list.userlist };
        out.sealed = sealCredentials(creds, cfg.sealKey, binding);
        const sealedVerifier = verifier ? sealVerifier(plan.login, verifier, cfg.sealKey, binding) : undefined;
        return withSealed(plan, out.sealed, sealedVerifier);
    };
    const applied = await applyInTransaction(deps.session, cfg, deps.reporter, decide, {
        password,
        verifier: verifierFor,
    });
    return { applied, ...out };
}
/** A re-run of this run's open: the credentials sealed in the state, checked to log in, emitted again. */
async function reemit(cfg, deps, plan) {
    const rotationId = plan.state.rotation.id;
    if (!cfg.sealKey) {
        throw new errors/* InputError */.dz('seal-key', `is required to re-run open for rotation ${rotationId}: the state keeps its credentials sealed with the seal-key of the first attempt (nothing was changed)`);
    }
    const { creds } = unsealCredentials(plan.sealed, cfg.sealKey, { family: cfg.group, rotationId });
    deps.reporter.secret(creds.password);
    deps.reporter.secret(creds.databaseUrl);
    const notes = [...plan.notes];
    if (creds.userlist) {
        for (const line of creds.userlist.split('\n'))
            deps.reporter.secret(line);
        deps.reporter.secret(creds.userlist);
        notes.push('pgbouncer-userlist: emitted again as the first attempt sealed it.');
    }
    const problem = await checkLogin(cfg, creds.username, creds.password, undefined, goneFromPrimary(deps.session.client));
    if (problem) {
        throw new errors/* DatabaseError */.a$(`${problem} The credentials sealed in the state for rotation ${rotationId} no longer log in (changed outside this action?); nothing was changed.`, 'Check with the status phase; abort and open again.');
    }
    let replayed = [];
    if (deps.replicas.count) {
        try {
            replayed = await waitForReplicas(cfg, deps, OPEN_NEXT);
        }
        catch (e) {
            if (!(e instanceof ReplicaLagError))
                throw e;
            throw new errors/* DatabaseError */.a$(`Rotation ${rotationId} stays open and its sealed credentials were not emitted again: ${e.message} Nothing was changed by this run.`);
        }
        const onReplicas = await checkLoginOnReplicas(cfg, deps.replicas, creds.username, creds.password);
        if (onReplicas.length)
            throw new errors/* DatabaseError */.a$(`${onReplicas.join(' ')} The credentials sealed in the state for rotation ${rotationId} were not emitted again; nothing was changed.`, 'Check pg_hba.conf on the replica allows the login roles; then re-run open, or abort.');
    }
    const now = await confirmStillOpen(cfg, deps, rotationId, plan.login);
    const outputs = {
        username: creds.username,
        password: creds.password,
        databaseUrl: creds.databaseUrl,
        pgbouncerUserlist: creds.userlist,
        sealedCredentials: plan.sealed,
        previousUsername: plan.state.active,
        rotationId,
        state: 'open',
    };
    return resultWithFamily(cfg, deps, outputs, [], [...notes, ...replayed], undefined, {}, now);
}
/**
 * The lines open hands out: both logins, in the family's order, the incoming one
 * with the verifier open sets, the outgoing one (after adoption, the group role)
 * as pg_authid or the state's sealed copy knows it.
 */
function openUserlist(cfg, obs, outgoing, incoming, verifier, stored) {
    const state = obs.state.kind === 'ok' ? obs.state.state : null;
    const copy = state?.activeVerifier?.login === outgoing ? state.activeVerifier.sealed : undefined;
    const old = knownVerifier(cfg, outgoing, { stored, sealed: copy ? [{ kind: 'verifier', sealed: copy }] : [] });
    const fresh = verifier ? { login: incoming, verifier } : { login: incoming, missing: 'no verifier' };
    const order = [cfg.group, ...cfg.logins];
    return [old, fresh].sort((a, b) => order.indexOf(a.login) - order.indexOf(b.login));
}
/**
 * After the login check, from the committed state: a concurrent abort (or a close onto another login) would have ended
 * the rotation. Returns that read: it is the family as the phase leaves it, which the result shows (no second read).
 */
async function confirmStillOpen(cfg, deps, rotationId, incoming) {
    if (deps.afterLoginCheck)
        await deps.afterLoginCheck();
    // A read of the committed state is enough: an abort still in flight has not happened yet, and one that
    // commits after this read would race any check alike, so taking the family lock here would buy nothing.
    const now = await observe(deps.session.client, { group: cfg.group, logins: cfg.logins });
    planConfirmOpen(now, rotationId, incoming);
    return now;
}

;// CONCATENATED MODULE: ./src/postgres/adoption.ts


async function readAdoptionFacts(client, group, config) {
    const role = (await client.query(READ_ADOPTION_ROLE, [group])).rows[0];
    let hbaRules = null;
    if (role?.can_read_hba) {
        try {
            hbaRules = (await client.query(READ_HBA_RULES_FOR_ROLE, [group])).rows;
        }
        catch {
            hbaRules = null; // a managed service may refuse it even so
        }
    }
    const mentions = (await client.query(READ_SESSION_USER_MENTIONS, [group])).rows;
    return {
        database: role?.database ?? '',
        replication: Boolean(role?.replication),
        hbaRules,
        sessionUserMentions: mentions,
        defaultAcls: role?.default_acls ?? 0,
        config,
    };
}
/** The warnings (first) and notes for setup's log and summary. Pure. */
function adoptionFindings(f, group, logins, now) {
    const warnings = [];
    const notes = [];
    const both = logins.map((l) => `"${l}"`).join(' and ');
    if (f.hbaRules === null) {
        notes.push(`Adoption check skipped: the admin may not read pg_hba_file_rules (superuser only unless granted), so rules in pg_hba.conf that name "${group}" were not looked for. Check that ${both} (or +${group}) are allowed wherever "${group}" is.`);
    }
    else if (f.hbaRules.length) {
        const rules = f.hbaRules
            .map((r) => (0,domain_escape/* oneLine */.TN)(`line ${r.line_number} (${r.type} ${r.database}${r.address ? ` ${r.address}` : ''} ${r.auth_method})`))
            .join(', ');
        warnings.push(`pg_hba.conf names "${group}" on ${rules}: ${both} do not match those rules. Add them, or use +${group} (its members), and reload the configuration before the first open.`);
    }
    const until = f.config?.validUntil;
    if (until && until !== 'infinity') {
        const expired = Date.parse(until) <= now.getTime();
        warnings.push(`"${group}" has VALID UNTIL ${until}${expired ? ' (already passed)' : ''}: it keeps it while it is the active login, so finish the first rotation before then. The logins get no VALID UNTIL: their passwords are replaced by each rotation.`);
    }
    if (f.replication)
        warnings.push(`"${group}" has REPLICATION, which is checked for the role a session logs in as: ${both} do not get it. Replication connections must keep another role.`);
    if (f.sessionUserMentions.length) {
        const shown = f.sessionUserMentions
            .slice(0, 20)
            .map((m) => (0,domain_escape/* oneLine */.TN)(`${m.kind} ${m.name}`))
            .join(', ');
        const more = f.sessionUserMentions.length > 20 ? ' and more' : '';
        warnings.push(`session_user becomes the login's name (${both}) instead of "${group}", and these objects in database "${(0,domain_escape/* oneLine */.TN)(f.database)}" mention it: ${shown}${more}. Compare current_user (the group) where the role is meant, or accept either login.`);
    }
    else {
        notes.push(`No policy, function, column default or view in database "${(0,domain_escape/* oneLine */.TN)(f.database)}" that "${group}" owns or that names it mentions session_user (which becomes the login's name); other databases were not checked.`);
    }
    if (f.defaultAcls > 0) {
        notes.push(`${f.defaultAcls} default privilege rule(s) are defined for "${group}" (ALTER DEFAULT PRIVILEGES FOR ROLE): they keep applying, because sessions of ${both} create objects as "${group}" (SET role); a session that switches to its login itself would create objects without them.`);
    }
    return { warnings, notes };
}

;// CONCATENATED MODULE: ./src/phase-support/remaining-grants.ts
/** After setup: the grants the family still needs that setup cannot run, as statements and who runs them. */



/**
 * One note listing, in the order docs/managed-services.md gives them (step 5), the
 * statements the group role still needs in the admin's database, each with who may
 * run it (a superuser, or the owner of the schema or the database: a GRANT the rotation
 * admin runs on objects it does not own only warns "no privileges were granted");
 * null when nothing is missing.
 */
async function remainingGrants(client, group) {
    const row = (await client.query(READ_GROUP_GRANTS, [group])).rows[0];
    if (!row)
        return null;
    const g = (0,names/* quoteIdent */.v4)(group);
    const db = (0,names/* quoteIdent */.v4)(row.database);
    const lines = [];
    if (row.has_public && !(row.schema_usage && row.schema_create)) {
        const owner = row.schema_owner ? ` or the owner of schema public, ${(0,names/* quoteIdent */.v4)(row.schema_owner)}` : '';
        lines.push(`as a superuser${owner}: GRANT USAGE, CREATE ON SCHEMA public TO ${g};`);
    }
    if (!row.can_connect)
        lines.push(`as a superuser or the owner of database ${db}, ${(0,names/* quoteIdent */.v4)(row.database_owner)}: GRANT CONNECT ON DATABASE ${db} TO ${g};`);
    if (lines.length === 0)
        return null;
    return (0,domain_escape/* oneLine */.TN)(`Remaining grants for "${group}" in database ${db} (setup cannot run them: they are on objects the rotation admin does not own; run them once, before the application uses the family, and the same in every other database it uses; see docs/managed-services.md, Prerequisites in order, step 5): ${lines.join(' ')}`);
}

;// CONCATENATED MODULE: ./src/phases/setup.ts

















/**
 * Creates what is missing of the family; issues a password only to a family
 * that has none in use. With fix-ownership, then moves objects owned by the
 * login roles to the group role, database by database.
 */
async function setup(cfg, deps) {
    const { applied, verifier } = await applySetup(cfg, deps);
    const { plan } = applied;
    const { outputs, planNotes } = setupOutputs(cfg, deps, applied, verifier);
    const changes = applied.executed.map((s) => s.display);
    const notes = plan.kind === 'noop' ? [`Nothing to do: ${plan.reason}.`, ...planNotes] : [...planNotes];
    if (outputs.databaseUrl)
        notes.push(...defaultAppUrlNotice(cfg, deps.reporter));
    let failure;
    // After the commit, before the credentials go anywhere: every replica has replayed it, and they log in there.
    if (applied.executed.length > 0 && deps.replicas.count)
        failure = await replicasCaughtUp(cfg, deps, outputs, notes);
    if (cfg.github && failure) {
        notes.push('github-secrets: nothing written, because the new credentials do not log in on every replica yet.');
    }
    else if (cfg.github) {
        if (outputs.password && outputs.databaseUrl) {
            // After the commit: the secret store only ever receives a credential that logs in.
            try {
                await writeBack(cfg, { username: outputs.username, password: outputs.password, databaseUrl: outputs.databaseUrl }, deps);
            }
            catch (e) {
                // The roles are committed: report the outputs (the only copy of the password) and fail the step.
                const partial = e.written ?? [];
                const github = partial.length
                    ? `GitHub holds the new credentials only in ${partial.join(', ')}`
                    : 'GitHub was not updated';
                failure = `${e.message} The family is set up (committed) and "${outputs.username}" has its new password, but ${github}: take the password from this step's masked password output (or sealed-credentials), or rotate (open, close) once write-back works.`;
            }
        }
        else {
            notes.push('github-secrets: nothing written, because setup issued no new password (the family was already set up).');
        }
    }
    if (cfg.fixOwnership) {
        try {
            changes.push(...(await fixOwnership(cfg, deps, notes)));
        }
        catch (e) {
            // After the commit: keep the outputs (a new password is in them) and fail the step.
            failure = [failure, e.message].filter(Boolean).join(' ');
        }
    }
    if (cfg.adopt && plan.state.adoptedFrom === cfg.group && plan.state.active === cfg.group)
        notes.push(...(await checkAdoption(cfg, deps, applied.before.configs?.[cfg.group])));
    notes.push(...(await remainingGrantsNote(cfg, deps)));
    if (applied.executed.length === 0)
        return resultWithFamily(cfg, deps, outputs, changes, notes, failure);
    const issued = outputs.password ? ` and "${outputs.username}" has a new password, which this step did not report` : '';
    return afterCommit(`Committed: setup's role changes${issued}`, () => resultWithFamily(cfg, deps, outputs, changes, notes, failure));
}
/**
 * Waits for every replica to replay setup's commit and, when setup issued a
 * password, logs in with it on each. Returns what failed (the step then fails
 * after reporting the outputs, the only copy of the password), or undefined.
 */
async function replicasCaughtUp(cfg, deps, outputs, notes) {
    const issued = outputs.password
        ? `"${outputs.username}" has a new password (in this step's masked outputs)`
        : 'no password was issued';
    try {
        notes.push(...(await waitForReplicas(cfg, deps, 'Use the new credentials only once that replica has replayed the commit (SELECT pg_last_wal_replay_lsn() there), or rotate (open, close) once it keeps up.')));
    }
    catch (e) {
        return `Committed: setup's role changes (${issued}), but ${e.message}`;
    }
    if (!outputs.password)
        return undefined;
    const problems = await checkLoginOnReplicas(cfg, deps.replicas, outputs.username, outputs.password);
    if (!problems.length)
        return undefined;
    return `${problems.join(' ')} setup's role changes are committed and ${issued}, but it does not log in on that replica. Check pg_hba.conf on the replica, then rotate (open, close).`;
}
/** The outputs of setup (with the credentials and pgbouncer-userlist when it issued a password) and its plan's notes, logged. */
function setupOutputs(cfg, deps, applied, verifier) {
    const { plan, password } = applied;
    const list = plan.kind === 'issue' && password
        ? userlistOutput(cfg, deps.reporter, [
            verifier ? { login: plan.login, verifier } : { login: plan.login, missing: 'no verifier' },
        ])
        : null;
    const planNotes = list ? [...plan.notes, list.note] : plan.notes;
    for (const n of planNotes)
        deps.reporter.info(n);
    const outputs = {
        ...(0,domain_state/* loginsNow */.xW)(plan.state),
        state: plan.state.rotation ? 'open' : 'idle',
        ...(plan.kind === 'issue' && password
            ? credentialOutputs(cfg, deps.reporter, {
                username: plan.login,
                password,
                rotationId: 'setup',
                verifier,
                userlist: list?.userlist,
            })
            : {}),
    };
    return { outputs, planNotes };
}
/**
 * The setup transaction. The password is generated here (used only if setup
 * issues one) so that, with seal-key, its verifier is sealed into the state it
 * writes, for the first open's pgbouncer-userlist.
 */
async function applySetup(cfg, deps) {
    const newPassword = generatePassword(cfg.passwordLength);
    deps.reporter.secret(newPassword);
    const verifierFor = verifierOnce(newPassword);
    let verifier;
    const applied = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => {
        const plan = planSetup(obs, cfg, planContext(deps));
        if (plan.kind !== 'issue' || cfg.passwordEncryption !== 'scram-sha-256')
            return plan;
        verifier = verifierFor(obs.scramIterations);
        if (!cfg.sealKey)
            return plan;
        const sealed = sealVerifier(plan.login, verifier, cfg.sealKey, { family: cfg.group, rotationId: 'setup' });
        return withActiveVerifier(plan, sealed);
    }, { password: newPassword, verifier: verifierFor });
    return { applied, verifier };
}
/** The grants the group still needs that setup cannot run, in the log and the summary (never fails: setup has committed). */
async function remainingGrantsNote(cfg, deps) {
    let note;
    try {
        note = await remainingGrants(deps.session.client, cfg.group);
    }
    catch (e) {
        note = `Could not check which grants the group role still needs (${(0,domain_escape/* oneLine */.TN)(e.message)}); see docs/managed-services.md, Prerequisites in order, step 5.`;
    }
    if (note)
        deps.reporter.info(note);
    return note ? [note] : [];
}
/** Warns (never fails: the adoption has committed) about what else changes for the application. */
async function checkAdoption(cfg, deps, config) {
    let found;
    try {
        found = adoptionFindings(await readAdoptionFacts(deps.session.client, cfg.group, config), cfg.group, cfg.logins, deps.now());
    }
    catch (e) {
        found = {
            warnings: [
                `the adoption checks could not run (${(0,domain_escape/* oneLine */.TN)(e.message)}); check pg_hba.conf, VALID UNTIL, session_user and default privileges by hand (docs/migrating.md).`,
            ],
            notes: [],
        };
    }
    for (const w of found.warnings)
        deps.reporter.warning(`Adoption: ${w}`);
    return [...found.warnings.map((w) => `Warning (adoption): ${w}`), ...found.notes];
}
/** REASSIGN OWNED BY the login roles TO the group role, in each database where they own objects. */
async function fixOwnership(cfg, deps, notes) {
    const main = deps.session.client;
    const owned = (await main.query(READ_OWNERSHIP, [cfg.logins])).rows;
    if (owned.length === 0) {
        notes.push('fix-ownership: the login roles own nothing.');
        return [];
    }
    const current = (await main.query(CURRENT_DATABASE)).rows[0].db;
    const databases = [...new Set(owned.map((o) => o.database || current))];
    const statement = reassignOwned(cfg.logins, cfg.group);
    const done = [];
    for (const db of databases) {
        let client = null;
        try {
            client = db === current ? main : await deps.session.forDatabase(db);
            // The phase's lock and statement timeouts bound REASSIGN OWNED in every database.
            await client.query(BEGIN_PHASE);
            await client.query(statement);
            await client.query(COMMIT);
        }
        catch (e) {
            await client?.query(ROLLBACK).catch(() => { });
            const earlier = done.length ? `, and REASSIGN OWNED committed in ${done.length} earlier database(s)` : '';
            throw statementError(e, `${statement} (database "${(0,domain_escape/* oneLine */.TN)(db)}")`, `setup's role changes were committed (see what changed${earlier}); run setup with fix-ownership again`);
        }
        finally {
            if (client && client !== main)
                await db_close(client);
        }
        done.push(`${statement}; -- in database "${(0,domain_escape/* oneLine */.TN)(db)}"`);
    }
    const total = owned.reduce((n, o) => n + o.objects, 0);
    notes.push(`fix-ownership: moved ${total} object(s) in ${databases.length} database(s) to "${cfg.group}".`);
    return done;
}

;// CONCATENATED MODULE: ./src/domain/config-drift.ts


function findConfigDrift(obs, group, logins, grants = [], memberships = []) {
    const configs = obs.configs ?? {};
    const state = obs.state.kind === 'ok' ? obs.state.state : null;
    const reference = state?.active ?? logins[0];
    const drift = [...groupSettings(configs[group], group, reference)];
    for (const login of logins) {
        const own = configs[login];
        if (!own)
            continue;
        for (const s of own.settings) {
            if (isRoleSetting(s) && s.database !== null && s.value !== group) {
                drift.push({
                    kind: 'missing-default-role',
                    role: login,
                    detail: `in database "${(0,domain_escape/* oneLine */.TN)(s.database)}" its SET role default is "${(0,domain_escape/* oneLine */.TN)(s.value)}", not "${group}"`,
                });
            }
        }
        if (login !== reference && configs[reference])
            drift.push(...differences(configs[reference], own, reference, login));
        if (own.validUntil !== null && own.validUntil !== 'infinity') {
            drift.push({
                kind: 'valid-until',
                role: login,
                detail: `VALID UNTIL ${own.validUntil}: every password open issues to it expires then; rotation replaces passwords, so remove it (ALTER ROLE ... VALID UNTIL 'infinity')`,
            });
        }
    }
    for (const g of grants) {
        const more = g.objects > g.examples.length ? ` and ${g.objects - g.examples.length} more` : '';
        drift.push({
            kind: 'direct-privileges',
            role: g.login,
            detail: `has ${g.kind} privileges granted to it directly in database "${(0,domain_escape/* oneLine */.TN)(g.database)}" on ${g.objects} object(s) (${g.examples.map(domain_escape/* oneLine */.TN).join(', ')}${more}); the other login lacks them: grant them to "${group}" and revoke them from the login`,
        });
    }
    for (const m of memberships) {
        drift.push({
            kind: 'direct-membership',
            role: m.login,
            detail: `is a member of "${(0,domain_escape/* oneLine */.TN)(m.role)}" directly; the other login is not: grant "${(0,domain_escape/* oneLine */.TN)(m.role)}" to "${group}" instead`,
        });
    }
    return drift;
}
function groupSettings(config, group, active) {
    // While the adopted group role is still the active login its settings apply to its sessions.
    if (!config?.settings.length || active === group)
        return [];
    return [
        {
            kind: 'group-settings',
            role: group,
            detail: `has settings that never apply to a session (settings apply to the role a session logs in as, and sessions log in as the logins): ${config.settings.map(describeSetting).join(', ')}; set them on the active login (the next open copies them to the other) and reset them here`,
        },
    ];
}
function differences(ref, own, reference, login) {
    const out = [];
    const diffs = settingDifferences(ref, own);
    if (diffs.length) {
        const shown = (v) => (v === null ? 'not set' : `"${(0,domain_escape/* oneLine */.TN)(v)}"`);
        out.push({
            kind: 'settings-differ',
            role: login,
            detail: `settings differ from the active login "${reference}": ${diffs.map((d) => `${d.setting} ${shown(d.b)} here, ${shown(d.a)} on "${reference}"`).join('; ')}; the next open that hands out "${login}" copies them from "${reference}"`,
        });
    }
    if (ref.connectionLimit !== own.connectionLimit) {
        const shown = (n) => (n === -1 ? 'none' : String(n));
        out.push({
            kind: 'connection-limit-differs',
            role: login,
            detail: `connection limit ${shown(own.connectionLimit)}, but ${shown(ref.connectionLimit)} on the active login "${reference}"`,
        });
    }
    return out;
}

;// CONCATENATED MODULE: ./src/domain/drift.ts

/**
 * Where the family differs from what the rotation relies on. Pure: from an
 * observation and the objects each role owns (pg_shdepend).
 */
function findDrift(obs, group, logins, ownership) {
    const drift = [];
    const state = obs.state.kind === 'ok' ? obs.state.state : null;
    if (obs.state.kind === 'invalid')
        drift.push({ kind: 'unreadable-state', role: group, detail: obs.state.reason });
    if (!obs.group)
        drift.push({ kind: 'missing-role', role: group, detail: 'the group role does not exist' });
    for (const l of logins) {
        const r = obs.logins[l];
        if (!r) {
            drift.push({ kind: 'missing-role', role: l, detail: 'the login role does not exist' });
            continue;
        }
        if (!r.member)
            drift.push({ kind: 'not-member', role: l, detail: `not a member of "${group}"` });
        else if (!r.canSet)
            drift.push({ kind: 'cannot-set', role: l, detail: `its membership in "${group}" does not allow SET ROLE` });
        if (r.defaultRole !== group)
            drift.push({
                kind: 'missing-default-role',
                role: l,
                detail: r.defaultRole === null ? 'no SET role default' : `SET role default is "${r.defaultRole}"`,
            });
    }
    for (const o of ownership) {
        if (logins.includes(o.role)) {
            drift.push({
                kind: 'owns-objects',
                role: o.role,
                detail: `owns ${o.objects} object(s) ${o.database ? `in database "${o.database}"` : '(shared: databases or tablespaces)'}; run setup with fix-ownership: true`,
            });
        }
    }
    if (state) {
        const expected = new Set([state.active, ...(state.rotation ? [state.rotation.incoming] : [])]);
        const roles = [[group, obs.group], ...logins.map((l) => [l, obs.logins[l]])];
        for (const [name, r] of roles) {
            if (!r)
                continue;
            if (r.canLogin && !expected.has(name))
                drift.push({
                    kind: 'unexpected-login',
                    role: name,
                    detail: `can log in, but the state says only ${[...expected].join(' and ')} should`,
                });
            if (!r.canLogin && expected.has(name))
                drift.push({
                    kind: 'active-cannot-login',
                    role: name,
                    detail: 'the state says it is in use, but it is NOLOGIN',
                });
        }
    }
    drift.push(...foreignControl(obs, group, logins));
    return drift;
}
/** Roles other than the admin or a superuser that hold ADMIN OPTION on, or are unexpected members of, the family's roles. */
function foreignControl(obs, group, logins) {
    return (0,family/* foreignGrantees */.iH)(obs, group, logins).map((f) => ({
        kind: f.kind,
        role: f.role,
        detail: f.kind === 'foreign-admin'
            ? `${(0,family/* describeForeignGrantee */.oL)(f)}: it may change its password and LOGIN (PostgreSQL 16+) and grant it`
            : `${(0,family/* describeForeignGrantee */.oL)(f)}: it may act as it${f.role === group ? " and use the group's privileges" : ''}`,
    }));
}

;// CONCATENATED MODULE: ./src/phase-support/poolers-status.ts
/** status with pgbouncer-urls: per pooler its version, pool modes, clients and server connections per login. */



async function poolerStatus(deps, logins) {
    const readings = await deps.poolers.read();
    const views = poolerViews(readings, logins);
    deps.reporter.info(describePoolers(views, logins));
    return readings.map((r, i) => {
        if (!r.snapshot) {
            deps.reporter.warning(`${pooler_urls/* POOLER_INPUT */.H0}: pooler ${r.label} (entry ${r.line}) cannot be read: ${r.error}`);
            return { ...views[i], poolModes: [], forcedUsers: [] };
        }
        const mine = r.snapshot.pools.filter((p) => logins.includes(p.user));
        const poolModes = [
            ...new Set((mine.length ? mine : r.snapshot.pools.filter((p) => p.database !== 'pgbouncer')).map((p) => p.poolMode)),
        ];
        for (const f of r.snapshot.forcedUsers) {
            deps.reporter.warning(`pooler ${r.label}: database entry "${(0,domain_escape/* oneLine */.TN)(f.database)}" forces user "${(0,domain_escape/* oneLine */.TN)(f.user)}"; the server sees only that user, so drain and close cannot tell its clients' logins apart.`);
        }
        return { ...views[i], poolModes, forcedUsers: r.snapshot.forcedUsers };
    });
}

;// CONCATENATED MODULE: ./src/phases/status.ts








/** Read-only: which login is active, which can log in, the open rotation, sessions, last rotations, drift. */
async function status_status(cfg, deps) {
    const client = deps.session.client;
    const obs = await observe(client, { group: cfg.group, logins: cfg.logins });
    const ownership = (await client.query(READ_OWNERSHIP, [cfg.logins])).rows;
    const direct = await readDirectGrants(client, cfg.group, cfg.logins);
    const drift = [
        ...findDrift(obs, cfg.group, cfg.logins, ownership),
        ...findConfigDrift(obs, cfg.group, cfg.logins, direct.grants, direct.memberships),
    ];
    const state = obs.state.kind === 'ok' ? obs.state.state : null;
    const result = await resultWithFamily(cfg, deps, {
        ...(state ? (0,domain_state/* loginsNow */.xW)(state) : {}),
        state: state?.rotation ? 'open' : 'idle',
        rotationId: state?.rotation?.id,
    }, [], []);
    const roles = obs.group ? [[cfg.group, obs.group.canLogin]] : [];
    for (const l of cfg.logins) {
        const r = obs.logins[l];
        if (r)
            roles.push([l, r.canLogin]);
    }
    const report = {
        group: cfg.group,
        state: state ? (state.rotation ? 'open' : 'idle') : obs.state.kind === 'invalid' ? 'unreadable' : 'not set up',
        description: obs.state.kind === 'invalid'
            ? `state comment ${obs.state.tampered ? 'tampered with' : 'unreadable'}: ${obs.state.reason}`
            : (0,domain_state/* describeState */.Jw)(state),
        active: state?.active ?? null,
        canLogin: Object.fromEntries(roles),
        rotation: (0,domain_state/* publicRotation */.kK)(state?.rotation ?? null),
        lastClosed: state?.lastClosed ?? null,
        lastAborted: state?.lastAborted ?? null,
        passwordSetAt: state?.passwordSetAt ?? {},
        writtenBack: state?.writtenBack ?? null,
        sessions: result.sessions.map((s) => ({
            login: s.login,
            server: s.server ?? 'primary',
            database: s.database,
            applicationName: s.applicationName,
            clientAddr: s.clientAddr,
            ...(s.addrHidden ? { addrHidden: true } : {}),
            count: s.count,
        })),
        drift,
        ...(await peerStatus(cfg, deps)),
    };
    if (obs.state.kind === 'invalid')
        deps.reporter.warning(`The state comment on role "${cfg.group}" ${obs.state.tampered ? 'was tampered with' : 'cannot be read'}: ${obs.state.reason}. Other phases refuse to act until it is reset.`);
    if (report.writtenBack)
        deps.reporter.warning((0,domain_state/* describeWrittenBack */.Kc)(report.writtenBack));
    if (drift.length)
        deps.reporter.warning(`Drift: ${drift.map((d) => `${d.role}: ${d.detail}`).join('; ')}`);
    return { ...result, status: report };
}
/** What status shows of the servers in front of and beside the primary: pgbouncer-urls and replica-urls. */
async function peerStatus(cfg, deps) {
    return {
        ...(deps.poolers.count ? { poolers: await poolerStatus(deps, [cfg.group, ...cfg.logins]) } : {}),
        ...(deps.replicas.count ? { replicas: await replicaStatus(deps) } : {}),
    };
}

;// CONCATENATED MODULE: ./src/phases/unseal.ts


/**
 * Opens sealed-credentials (from setup or open in another job) and emits
 * username, password and database-url, the secrets masked first. Needs no database.
 */
function unseal(cfg, reporter) {
    const { sealed, key } = (0,config/* sealedInput */.XU)(cfg);
    const { creds, binding } = unsealCredentials(sealed, key, {
        family: cfg.group,
        rotationId: cfg.rotationId ?? undefined,
    });
    reporter.secret(creds.password);
    reporter.secret(creds.databaseUrl);
    if (creds.userlist) {
        for (const line of creds.userlist.split('\n'))
            reporter.secret(line);
        reporter.secret(creds.userlist);
    }
    return {
        phase: 'unseal',
        group: cfg.group,
        outputs: {
            username: creds.username,
            password: creds.password,
            databaseUrl: creds.databaseUrl,
            pgbouncerUserlist: creds.userlist,
            rotationId: binding.rotationId === 'setup' ? undefined : binding.rotationId,
        },
        changes: [],
        notes: [
            `Unsealed the credentials of "${creds.username}" (${binding.rotationId === 'setup' ? 'issued by setup' : `rotation ${binding.rotationId}`}).`,
            creds.userlist
                ? 'pgbouncer-userlist: the auth_file lines the sealing phase emitted.'
                : 'pgbouncer-userlist: not emitted: the sealing phase had none (see its notes; values sealed by releases before this output hold none).',
        ],
        roles: { group: null, logins: [] },
        sessions: [],
        offline: true,
    };
}

// EXTERNAL MODULE: ./src/inputs/duration.ts
var duration = __webpack_require__(1601);
;// CONCATENATED MODULE: ./src/phase-support/sessions.ts
/** Sessions of the family's logins across the primary and every replica, and ending them. */



async function sessionsEverywhere(logins, deps) {
    const primary = await readSessions(deps.session.client, logins);
    return deps.replicas.count ? [...primary, ...(await deps.replicas.sessions(logins))] : primary;
}
async function terminateEverywhere(login, deps) {
    const n = (await deps.session.client.query(TERMINATE_SESSIONS, [login])).rows[0].terminated;
    return n + (deps.replicas.count ? await deps.replicas.terminate(login) : 0);
}
/** Terminated backends exit asynchronously: wait briefly until pg_stat_activity no longer lists them. */
async function waitGone(login, deps, limitMs = 5000) {
    const end = deps.now().getTime() + limitMs;
    while (deps.now().getTime() < end) {
        if (sessionCount(await sessionsEverywhere([login], deps), login) === 0)
            return;
        await deps.sleep(50);
    }
}

;// CONCATENATED MODULE: ./src/phase-support/poolers-drain.ts
/** verify-drain's use of pgbouncer-urls: each poll's judgement, terminate-after, and the failure message. */




async function pooledCounts(deps, outgoing, incoming) {
    return (await pollPooled(deps, outgoing, incoming)).judgement;
}
/**
 * terminate-after with poolers: the outgoing login's pooler clients are ended
 * with KILL_CLIENT; a pooler that has such clients and no KILL_CLIENT makes
 * verify-drain refuse (returns why) instead of ending only the server side.
 */
async function pooledTermination(deps, outgoing) {
    const readings = await deps.poolers.read();
    const unreadable = readings.filter((r) => r.error !== undefined);
    if (unreadable.length)
        return `${pooler_urls/* POOLER_INPUT */.H0}: ${unreadable.map((r) => `pooler ${r.label}: ${r.error}`).join('; ')}, so its clients cannot be ended`;
    const refusal = killRefusal(readings, outgoing, await probeKillRights(deps, readings, [outgoing]));
    if (refusal)
        return refusal;
    const n = await killPoolerClients(deps, readings, outgoing);
    if (n)
        deps.reporter.warning(`terminate-after: ended ${n} pooler client(s) of "${outgoing}" with KILL_CLIENT.`);
    return null;
}
/** Why verify-drain failed with poolers; `when` is "after 15m" or "at the first look". */
function poolerFailure(j, outgoing, incoming, fresh, min, when) {
    if (j.unreadable.length) {
        return `${pooler_urls/* POOLER_INPUT */.H0}: ${j.unreadable.map((u) => `pooler ${u}`).join('; ')}; without it "${outgoing}" cannot be shown drained (${when})`;
    }
    const o = j.outgoing;
    if (o.count > 0) {
        const perPooler = j.views
            .filter((v) => (v.clients[outgoing] ?? 0) > 0)
            .map((v) => `${v.label}: ${v.clients[outgoing]}`);
        const parts = [
            o.clients ? `${o.clients} client(s) logged in to the poolers (${perPooler.join(', ')})` : '',
            o.unpooled ? `${o.unpooled} session(s) that no listed pooler holds` : '',
            o.clients === 0 && o.heldInUse
                ? `${o.heldInUse} pooled server connection(s) in use by another login's clients (a database entry forces this user)`
                : '',
        ].filter(Boolean);
        return `"${outgoing}" still has ${o.count} connection(s) ${when}: ${parts.join(', ')}`;
    }
    return `"${incoming}" has ${fresh} connection(s), fewer than min-new-connections (${min}), ${when}`;
}
/** Without pgbouncer-urls: when the remaining sessions look like a pooler's idle server connections, say so. */
async function unpooledHint(deps, outgoing) {
    if (deps.poolers.count)
        return '';
    try {
        const addr = looksPooled(await readBackends(deps.session.client, [outgoing]), outgoing);
        if (!addr)
            return '';
        return ` (all idle and all from ${addr}, as a connection pooler's idle server connections are: if a pooler such as PgBouncer is in front of the database, list its admin console in ${pooler_urls/* POOLER_INPUT */.H0} so verify-drain counts its clients instead; see docs/poolers.md)`;
    }
    catch {
        return '';
    }
}
/**
 * What to run when the drain failed: close with terminate ends the old login's
 * sessions, but behind a pooler without KILL_CLIENT that still has its clients
 * it refuses, so the advice names force instead.
 */
function closeAdvice(pooled, outgoing) {
    const stuck = (pooled?.views ?? []).filter((v) => (v.clients[outgoing] ?? 0) > 0 && !supportsKillClient(parseVersion(v.version)));
    if (stuck.length === 0)
        return 'close with terminate: true';
    const where = stuck.map((v) => `${v.label} (${(0,domain_escape/* oneLine */.TN)(v.version)})`).join(', ');
    return `close with force: true (terminate would refuse: ${where} cannot end pooler clients without KILL_CLIENT)`;
}

// EXTERNAL MODULE: ./src/domain/reporter.ts
var reporter = __webpack_require__(9231);
;// CONCATENATED MODULE: ./src/phases/verify-drain.ts
















/** SQLSTATE lock_not_available: lock_timeout passed. */
const LOCK_NOT_AVAILABLE = '55P03';
/**
 * Polls pg_stat_activity (every database, the primary and each replica) until
 * the outgoing login has no sessions (and the incoming one has
 * min-new-connections), or the timeout. Each poll is its own statement outside
 * any transaction, after clearing the stats snapshot, so it sees fresh
 * activity. Reconnects if a server restarts while waiting.
 */
async function verifyDrain(cfg, deps) {
    const obs = await observe(deps.session.client, { group: cfg.group, logins: cfg.logins });
    const target = planDrain(obs, cfg);
    if (target.kind === 'noop')
        return verify_drain_alreadyClosed(cfg, deps, target, obs);
    // terminate-after ends sessions under the family's lock (the serializing ALTER ROLE of every
    // phase that changes something): it needs what such a phase needs, checked before the wait.
    const missing = cfg.terminateAfterMs !== null
        ? missingPrivilege(obs, cfg.group, cfg.logins, { changes: true, terminate: true })
        : null;
    if (missing) {
        throw new errors/* DatabaseError */.a$(`The admin role lacks ${missing.privilege}, which terminate-after needs; nothing was changed.`, `Grant it (as a superuser or a role that may): ${missing.grant};`, '42501');
    }
    const watch = await watchDrain(cfg, deps, target, obs);
    if (watch.rotation.kind === 'closed')
        return closedMeanwhile(cfg, deps, watch.rotation.state, watch);
    if (watch.rotation.kind === 'over') {
        const r = watch.rotation;
        throw afterTerminations(watch, new errors/* StateError */.qq(`verify-drain stopped waiting: ${r.reason}, by another run, while it waited for "${watch.outgoing}" to drain.`, (0,domain_state/* describeState */.Jw)(r.state), r.next));
    }
    return drainResult(cfg, deps, target.rotationId, watch);
}
/** Any failure after terminate-after ended sessions says so: it is not one that changed nothing. */
function afterTerminations(watch, e) {
    if (!watch.terminated || (0,errors/* wasCommitted */.ii)(e) || !(e instanceof Error))
        return e;
    return new errors/* PartialFailure */.CI(`${e.message} Before that, terminate-after had ended ${watch.terminated} session(s) of "${watch.outgoing}" while the rotation was open.`);
}
/** A state that cannot be acted on (tampered, cleared), read at poll `at` or at the termination after it. */
function changedWhileWaiting(e, where) {
    if (!(e instanceof errors/* StateError */.qq))
        return e;
    return new errors/* StateError */.qq(`verify-drain stopped waiting ${where}: ${stateProblem(e)}`, e.state, e.next);
}
/** A StateError's own message, without the state and the advice its constructor appended. */
function stateProblem(e) {
    const appended = ` The family is ${e.state}. ${e.next}`;
    return e.message.endsWith(appended) ? e.message.slice(0, -appended.length) : e.message;
}
/**
 * The watched rotation was closed by another run while verify-drain waited. Drained as a
 * poll would judge it: nothing left of the outgoing login where this run looks, and
 * min-new-connections met (a close with force, or one that did not look at the replicas or
 * poolers this run names, may leave connections).
 */
function closedMeanwhile(cfg, deps, state, watch) {
    const last = state.lastClosed;
    const { old: remaining, fresh, blocked } = drainCounts(watch.sessions, watch.pooled, watch.outgoing, watch.incoming);
    const drained = remaining === 0 && fresh >= cfg.minNewConnections && !blocked;
    const what = `rotation ${last.id} was closed at ${last.closedAt} by another run while this verify-drain waited (poll ${watch.polls})`;
    let failure;
    if (!drained) {
        const left = remaining > 0 || blocked
            ? `"${watch.outgoing}" still has ${remaining} connection(s)${blocked ? ' (and a pooler could not be read)' : ''}: they keep working until they disconnect (see the remaining: lines)`
            : `"${watch.incoming}" has ${fresh} connection(s), fewer than min-new-connections (${cfg.minNewConnections})`;
        failure = `Not drained: ${what}, and ${left}.`;
        warnRemaining(deps, watch);
    }
    const notes = [...(drained ? [`Nothing left to wait for: ${what}.`] : []), ...terminatedNotes(cfg, watch)];
    return resultWithFamily(cfg, deps, { ...closedOutputs(state), remainingConnections: remaining, drained }, [], notes, failure, watch.pooled ? { poolers: watch.pooled.views } : {}, watch.observed ?? undefined);
}
/** The outputs of a closed rotation: the login it left active, the one it disabled, its id. */
function closedOutputs(state) {
    const last = state.lastClosed;
    return {
        username: last.active,
        previousUsername: last.previous ?? (0,domain_state/* otherLogin */.A6)(state, last.active),
        rotationId: last.id,
        state: 'idle',
    };
}
/** What terminate-after ended while verify-drain waited, for the result's notes. */
function terminatedNotes(cfg, watch) {
    return watch.terminated && cfg.terminateAfterMs !== null
        ? [`Terminated ${watch.terminated} sessions of "${watch.outgoing}" after ${(0,duration/* formatDuration */.a)(cfg.terminateAfterMs)}.`]
        : [];
}
/** A re-run with the rotation-id close already finished: drained, and nothing to wait for. */
function verify_drain_alreadyClosed(cfg, deps, target, obs) {
    return resultWithFamily(cfg, deps, { ...closedOutputs(target.state), remainingConnections: 0, drained: true }, [], [`Nothing to do: ${target.reason}.`], undefined, {}, obs);
}
/** Polls until drained, a pooler cannot be read at the first look, terminate-after is refused, or the timeout. */
async function watchDrain(cfg, deps, target, initial) {
    const { outgoing, incoming, rotationId } = target;
    const start = deps.now().getTime();
    const deadline = start + cfg.timeoutMs;
    // The timeout bounds the whole wait, a slow or silent pooler console included.
    deps.poolers.setDeadline(deadline);
    const watch = {
        outgoing,
        incoming,
        rotationId,
        rotation: watchedRotation(initial, cfg, rotationId),
        start,
        deadline,
        sessions: [],
        pooled: null,
        observed: null,
        initial,
        refusal: null,
        polls: 0,
        terminated: 0,
    };
    const where = deps.replicas.count ? ` on the primary and ${deps.replicas.count} replica(s)` : '';
    deps.reporter.info(`Waiting up to ${(0,duration/* formatDuration */.a)(cfg.timeoutMs)} for "${outgoing}" to drain${where} (polling every ${(0,duration/* formatDuration */.a)(cfg.intervalMs)})${cfg.minNewConnections ? ` and for "${incoming}" to reach ${cfg.minNewConnections} sessions` : ''}.`);
    try {
        await pollUntilDone(cfg, deps, watch);
    }
    catch (e) {
        throw afterTerminations(watch, e);
    }
    return watch;
}
async function pollUntilDone(cfg, deps, watch) {
    const { outgoing, incoming, start } = watch;
    const terminateAfter = cfg.terminateAfterMs;
    for (;;) {
        if (!(await poll(cfg, deps, watch)))
            continue;
        watch.polls++;
        if (watch.rotation.kind !== 'open')
            break;
        const { old, fresh, blocked } = drainCounts(watch.sessions, watch.pooled, outgoing, incoming);
        const elapsed = deps.now().getTime() - start;
        const left = (0,duration/* formatDuration */.a)(Math.max(0, watch.deadline - start - elapsed));
        (0,reporter/* reportProgress */.w)(deps.reporter, `poll ${watch.polls} at ${(0,duration/* formatDuration */.a)(elapsed)} (${left} left): "${outgoing}" ${(0,family/* describeSessions */.Pj)(watch.sessions, outgoing)}, "${incoming}" ${(0,family/* describeSessions */.Pj)(watch.sessions, incoming)}${watch.pooled ? `; ${describePoolers(watch.pooled.views, [outgoing, incoming])}` : ''}`);
        if (old === 0 && fresh >= cfg.minNewConnections && !blocked)
            break;
        // A pooler that cannot be read at the first look is misconfigured (URI, password, stats_users): fail now.
        if (watch.polls === 1 && blocked)
            break;
        const terminating = old > 0 && terminateAfter !== null && elapsed >= terminateAfter;
        if (terminating && !(await terminateOutgoing(cfg, deps, watch, terminateAfter))) {
            // Closed by another run while the termination waited for the lock: report what is true
            // now, not what the poll before the close saw.
            // (terminateOutgoing re-read the state: `as` undoes the narrowing from the check above.)
            if (watch.rotation.kind === 'closed')
                while (!(await poll(cfg, deps, watch)))
                    ;
            break;
        }
        const now = deps.now().getTime();
        if (now >= watch.deadline)
            break;
        // After signalling terminations, look again soon to confirm they are gone.
        await deps.sleep(Math.min(terminating ? Math.min(cfg.intervalMs, 200) : cfg.intervalMs, watch.deadline - now));
    }
}
/**
 * One look at both logins' sessions (a read of the family, after clearing the stats
 * snapshot, so it sees fresh activity) and, with poolers, their clients. A lost
 * connection is renewed before the deadline and the look reported as not taken (false).
 */
async function poll(cfg, deps, watch) {
    const logins = [watch.outgoing, watch.incoming];
    try {
        let obs = watch.initial;
        watch.initial = null;
        if (!obs) {
            await deps.session.client.query(CLEAR_STATS_SNAPSHOT);
            obs = await observe(deps.session.client, { group: cfg.group, logins: cfg.logins });
            // The read carries the state comment: stop if another run ended the rotation meanwhile.
            try {
                watch.rotation = watchedRotation(obs, cfg, watch.rotationId);
            }
            catch (e) {
                throw changedWhileWaiting(e, `at poll ${watch.polls + 1}`);
            }
        }
        watch.observed = obs;
        watch.sessions = obs.sessions.filter((s) => logins.includes(s.login));
        if (deps.replicas.count)
            watch.sessions.push(...(await deps.replicas.sessions(logins)));
        watch.pooled = deps.poolers.count ? await pooledCounts(deps, watch.outgoing, watch.incoming) : null;
        return true;
    }
    catch (e) {
        if (!isConnectionLost(e) || deps.now().getTime() >= watch.deadline)
            throw e;
        deps.reporter.warning(`Lost a connection while polling (${(0,domain_escape/* oneLine */.TN)(e.message)}); reconnecting.`);
        await reconnectUntil(deps, watch.deadline);
        return false;
    }
}
/**
 * terminate-after reached: end the outgoing login's sessions everywhere (and, with poolers,
 * its pooler clients), in a transaction that holds the family's lock and only while the state
 * still names the watched rotation: an abort by another run makes the outgoing login the
 * active one again, and its sessions must then be left alone. Returns false when the wait
 * ends: a pooler refuses (ending only the server side would leave its clients connected), or
 * the rotation is no longer open.
 */
async function terminateOutgoing(cfg, deps, watch, terminateAfter) {
    if (deps.beforeTerminating)
        await deps.beforeTerminating();
    // The timeout bounds the whole phase: the wait for the family's lock included.
    const left = watch.deadline - deps.now().getTime();
    if (left <= 0)
        return false;
    let ended = 0;
    try {
        await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => {
            watch.rotation = watchedRotation(obs, cfg, watch.rotationId);
            return { kind: 'noop', steps: [], state: watch.rotation.state, reason: 'terminate-after', notes: [] };
        }, {
            terminate: true,
            lockTimeoutMs: Math.min(deps.session.lockTimeoutMs ?? PHASE_LOCK_TIMEOUT_MS, left),
            retryBudgetMs: left,
            whileLocked: async () => {
                ended = 0;
                if (watch.rotation.kind !== 'open')
                    return;
                watch.refusal = watch.pooled ? await pooledTermination(deps, watch.outgoing) : null;
                if (!watch.refusal)
                    ended = await terminateEverywhere(watch.outgoing, deps);
            },
        });
    }
    catch (e) {
        if (e instanceof errors/* DatabaseError */.a$ && e.code === LOCK_NOT_AVAILABLE) {
            // Another phase held the family's lock until the timeout: nothing was ended; report what is left.
            deps.reporter.warning(`terminate-after (${(0,duration/* formatDuration */.a)(terminateAfter)}) reached, but the family's lock was not free before the timeout, so no session was ended: ${(0,domain_escape/* oneLine */.TN)(e.message)}`);
            return false;
        }
        throw changedWhileWaiting(e, `at the termination after poll ${watch.polls}`);
    }
    watch.terminated += ended;
    if (watch.rotation.kind !== 'open' || watch.refusal)
        return false;
    watch.observed = null;
    deps.reporter.warning(`terminate-after (${(0,duration/* formatDuration */.a)(terminateAfter)}) reached: signalled ${ended} sessions of "${watch.outgoing}" to terminate.`);
    return true;
}
async function drainResult(cfg, deps, rotationId, watch) {
    const { old: remaining, fresh, blocked } = drainCounts(watch.sessions, watch.pooled, watch.outgoing, watch.incoming);
    const drained = remaining === 0 && fresh >= cfg.minNewConnections && !blocked && !watch.refusal;
    const notes = [];
    notes.push(...terminatedNotes(cfg, watch));
    let failure;
    if (!drained) {
        failure = `Not drained: ${await whyNotDrained(cfg, deps, watch, { remaining, fresh, blocked })}. The rotation stays open. Check that every deploy uses the new credentials, then run verify-drain again, ${closeAdvice(watch.pooled, watch.outgoing)}, or abort.`;
        warnRemaining(deps, watch);
    }
    else {
        notes.push(`Drained after ${(0,duration/* formatDuration */.a)(deps.now().getTime() - watch.start)} (${watch.polls} polls).`);
    }
    return resultWithFamily(cfg, deps, {
        username: watch.incoming,
        previousUsername: watch.outgoing,
        rotationId,
        state: 'open',
        remainingConnections: remaining,
        drained,
    }, [], notes, failure, watch.pooled ? { poolers: watch.pooled.views } : {}, watch.observed ?? undefined);
}
async function whyNotDrained(cfg, deps, watch, { remaining, fresh, blocked }) {
    const { outgoing, incoming } = watch;
    const after = `after ${(0,duration/* formatDuration */.a)(cfg.timeoutMs)}`;
    if (watch.refusal)
        return `terminate-after was reached, but ${watch.refusal}`;
    if (watch.pooled) {
        const when = watch.polls === 1 && blocked ? 'at the first look' : after;
        return poolerFailure(watch.pooled, outgoing, incoming, fresh, cfg.minNewConnections, when);
    }
    if (remaining > 0)
        return `"${outgoing}" still has ${(0,family/* describeSessions */.Pj)(watch.sessions, outgoing)} sessions ${after}${await unpooledHint(deps, outgoing)}`;
    return `"${incoming}" has ${fresh} sessions, fewer than min-new-connections (${cfg.minNewConnections}), ${after}`;
}
/** One warning line per remaining pooler client count and session group of the outgoing login. */
function warnRemaining(deps, watch) {
    const outgoing = watch.outgoing;
    if (watch.pooled)
        for (const v of watch.pooled.views)
            if ((v.clients[outgoing] ?? 0) > 0)
                deps.reporter.warning(`remaining: ${v.clients[outgoing]} client(s) of "${outgoing}" logged in to pooler ${v.label}`);
    for (const s of watch.sessions.filter((x) => x.login === outgoing)) {
        const server = s.server && s.server !== 'primary' ? ` on replica ${(0,domain_escape/* oneLine */.TN)(s.server)}` : '';
        const database = s.database === null ? '(none)' : (0,domain_escape/* oneLine */.TN)(s.database);
        deps.reporter.warning(`remaining: ${s.count} session(s) of "${s.login}" on database ${database}${server} from ${(0,domain_escape/* oneLine */.TN)((0,family/* describeAddr */.Ft)(s.clientAddr, s.addrHidden))} (application_name '${(0,domain_escape/* oneLine */.TN)(s.applicationName)}')`);
    }
}
/** The outgoing login's remaining connections, the incoming one's, and whether a pooler could not be read. */
function drainCounts(sessions, pooled, outgoing, incoming) {
    if (!pooled)
        return { old: (0,family/* sessionCount */.yJ)(sessions, outgoing), fresh: (0,family/* sessionCount */.yJ)(sessions, incoming), blocked: false };
    // Pooler pids are matched on the primary; sessions on replicas count as they are.
    const onReplicas = (login) => (0,family/* sessionCount */.yJ)(sessions.filter((s) => s.server && s.server !== 'primary'), login);
    return {
        old: pooled.outgoing.count + onReplicas(outgoing),
        fresh: pooled.incoming.count + onReplicas(incoming),
        blocked: pooled.unreadable.length > 0,
    };
}
async function reconnectUntil(deps, deadline) {
    await (0,retry/* retryWithBackoff */.Z)(() => deps.session.renew(), {
        clock: deps,
        budgetMs: deadline - deps.now().getTime(),
        initialMs: 250,
        onRetry: ({ error, delayMs }) => deps.reporter.info(`Reconnect failed (${(0,domain_escape/* oneLine */.TN)(error.message)}); retrying in ${(0,duration/* formatDuration */.a)(delayMs)}.`),
    });
}

;// CONCATENATED MODULE: ./src/postgres/replicas.ts






/** How long one statement on a replica may take: a replica that stops answering is a failure, never a hang. */
const REPLICA_QUERY_TIMEOUT_MS = 15_000;
/** A statement with its own client-side time limit (pg honours query_timeout per query; its types omit it). */
function timed(text, values, queryTimeoutMs) {
    return { text, values, query_timeout: queryTimeoutMs };
}
/**
 * Read replicas given by `replica-urls`. pg_stat_activity only shows the server
 * it runs on, so sessions are counted (and, when asked, terminated) on each.
 */
class Replicas {
    targets;
    labels;
    applicationName;
    #clients;
    constructor(targets, labels, applicationName) {
        this.targets = targets;
        this.labels = labels;
        this.applicationName = applicationName;
        this.#clients = targets.map(() => null);
    }
    static create(targets, applicationName) {
        const labels = targets.map((t, i) => {
            if (!t.url)
                return `replica ${i + 1}`;
            try {
                const c = (0,pg_connection_string_esm/* parse */.qg)(t.url);
                return `${c.host ?? 'replica'}:${c.port ?? 5432}`;
            }
            catch {
                return `replica ${i + 1}`;
            }
        });
        return new Replicas(targets, labels, applicationName);
    }
    get count() {
        return this.targets.length;
    }
    /** The connection target of replica i (the login check connects there as the new login). */
    target(i) {
        return this.targets[i];
    }
    /** How messages name replica i: "host:port (replica-urls line n)". */
    describe(i) {
        return `replica ${this.labels[i]} (replica-urls line ${i + 1})`;
    }
    async #client(i, connectTimeoutMs) {
        const existing = this.#clients[i];
        if (existing)
            return existing;
        const c = await connect(this.targets[i], this.describe(i), {
            applicationName: this.applicationName,
            queryTimeoutMs: REPLICA_QUERY_TIMEOUT_MS,
            ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
        });
        this.#clients[i] = c;
        return c;
    }
    /**
     * Runs fn on replica i; a lost connection is reopened once. With `deadline` (a Date.now() time,
     * replica-timeout's end), the reconnect gets only the time left.
     */
    async #on(i, fn, deadline) {
        const left = () => (deadline === undefined ? undefined : Math.max(1, deadline - Date.now()));
        try {
            return await fn(await this.#client(i, left()), this.labels[i]);
        }
        catch (e) {
            if (isQueryTimeout(e)) {
                // No answer: the connection is stuck behind the statement, and a polite end would wait on it too.
                const stuck = this.#clients[i];
                stuck?.connection?.stream?.destroy();
                this.#clients[i] = null;
                throw e;
            }
            if (!isConnectionLost(e))
                throw e;
            await db_close(this.#clients[i]);
            this.#clients[i] = null;
            return fn(await this.#client(i, left()), this.labels[i]);
        }
    }
    /** Runs fn on every replica, one after the other. */
    async #each(fn) {
        const out = [];
        for (let i = 0; i < this.targets.length; i++)
            out.push(await this.#on(i, fn));
        return out;
    }
    /**
     * Before a phase changes anything: every replica answers and is a standby (a
     * server that is not in recovery never replays the phase's commit). The
     * error names the replica and says that nothing was changed.
     */
    async checkStandbys(phase, primary) {
        const system = this.targets.length ? await systemIdentifier(primary) : null;
        for (let i = 0; i < this.targets.length; i++) {
            let standby;
            let theirs;
            try {
                standby = await this.#on(i, async (c) => (await c.query(IS_STANDBY)).rows[0].standby === true);
                theirs = await this.#on(i, systemIdentifier);
            }
            catch (e) {
                throw new errors/* DatabaseError */.a$(`${e.message} Nothing was changed: ${phase} checks that every replica of replica-urls answers before it changes anything, since it then waits for each to replay its change.`, 'Fix the replica (or its URI), or remove it from replica-urls, then run the phase again.', e.code);
            }
            if (!standby)
                throw new errors/* DatabaseError */.a$(`${this.describe(i)} is not a standby (pg_is_in_recovery() is false), so it would never replay ${phase}'s change. Nothing was changed.`, "List only streaming standbys of admin-url's server in replica-urls (a primary, or a replica that was promoted, does not belong there).");
            if (system !== null && theirs !== null && theirs !== system)
                throw new errors/* DatabaseError */.a$(`${this.describe(i)} is a standby of another cluster (system identifier ${theirs}; admin-url's server has ${system}), so it would never replay ${phase}'s change, and its WAL positions say nothing about it. Nothing was changed.`, "List only streaming standbys of admin-url's server in replica-urls; check that admin-url and replica-urls name the same cluster.");
        }
    }
    /**
     * Where replica i is relative to the commit at lsn (pg_lsn text). With `deadline` (a Date.now()
     * time), the query and any reconnect may take only the time left (at most the usual limit).
     */
    async replayPosition(i, lsn, deadline) {
        const limit = () => deadline === undefined
            ? REPLICA_QUERY_TIMEOUT_MS
            : Math.min(REPLICA_QUERY_TIMEOUT_MS, Math.max(1, deadline - Date.now()));
        const row = await this.#on(i, async (c) => (await c.query(timed(REPLAY_POSITION, [lsn], limit()))).rows[0], deadline);
        if (row.replayed === null)
            throw new errors/* DatabaseError */.a$(`${this.describe(i)} is no longer a standby (pg_last_wal_replay_lsn() is null: was it promoted?).`, 'Remove it from replica-urls if it is now a primary.');
        return {
            replayed: row.replayed,
            received: row.received,
            behind: BigInt(row.behind),
            replayAgeS: row.replay_age_s,
            applyDelay: row.apply_delay,
        };
    }
    async sessions(logins) {
        const all = await this.#each(async (c, label) => {
            await c.query(CLEAR_STATS_SNAPSHOT);
            return observe_readSessions(c, logins, label);
        });
        return all.flat();
    }
    /** Each replica's backends of these logins, one by one (pid), labelled with the replica. */
    async backends(logins) {
        const all = await this.#each(async (c, label) => {
            await c.query(CLEAR_STATS_SNAPSHOT);
            return (await readBackends(c, logins)).map((b) => ({ ...b, server: label }));
        });
        return all.flat();
    }
    /** Waits until backend `pid` of replica i has left its pg_stat_activity (or limitMs passed). */
    async waitBackendGone(i, pid, limitMs) {
        await this.#on(i, (c) => waitBackendGone(c, pid, limitMs));
    }
    async terminate(login) {
        const n = await this.#each(async (c) => (await c.query(TERMINATE_SESSIONS, [login])).rows[0].terminated);
        return n.reduce((a, b) => a + b, 0);
    }
    async end() {
        await Promise.all(this.#clients.map((c) => db_close(c)));
        this.#clients = this.targets.map(() => null);
    }
}
/** The cluster's system identifier, or null where pg_control_system() cannot be read (the check is then skipped). */
async function systemIdentifier(c) {
    try {
        return (await c.query(SYSTEM_IDENTIFIER)).rows[0]?.system ?? null;
    }
    catch (e) {
        if (isConnectionLost(e))
            throw e;
        return null;
    }
}

;// CONCATENATED MODULE: ./src/postgres/session.ts



/**
 * How long any statement on an admin connection may go unanswered before the
 * client gives up on it: above the phase transaction's statement_timeout
 * (120 s), so a busy server reports its own timeout first, and only a server
 * (or network) that stopped answering meets this one.
 */
const ADMIN_QUERY_TIMEOUT_MS = 150_000;
/**
 * The admin connection of a phase. A phase that loses it (server restart,
 * network) opens a new one with renew() and carries on.
 */
class AdminSession {
    target;
    applicationName;
    what;
    lockTimeoutMs;
    clock;
    idleInTransactionTimeoutMs;
    queryTimeoutMs;
    #client = null;
    constructor(target, applicationName, what = 'admin connection (admin-url)', 
    /** Overrides the phase transaction's lock_timeout (30 s); tests only. */
    lockTimeoutMs, 
    /** The run's clock: applyInTransaction waits with it between attempts on this connection. */
    clock = domain_clock/* systemClock */.m, 
    /** Overrides the phase transaction's idle_in_transaction_session_timeout (5 min); tests only. */
    idleInTransactionTimeoutMs, 
    /** The client-side limit of every statement on these connections. */
    queryTimeoutMs = ADMIN_QUERY_TIMEOUT_MS) {
        this.target = target;
        this.applicationName = applicationName;
        this.what = what;
        this.lockTimeoutMs = lockTimeoutMs;
        this.clock = clock;
        this.idleInTransactionTimeoutMs = idleInTransactionTimeoutMs;
        this.queryTimeoutMs = queryTimeoutMs;
    }
    get client() {
        if (!this.#client)
            throw new Error('internal: admin session is not connected');
        return this.#client;
    }
    async open() {
        this.#client = await connect(this.target, this.what, {
            applicationName: this.applicationName,
            queryTimeoutMs: this.queryTimeoutMs,
        });
        return this.#client;
    }
    async renew() {
        await db_close(this.#client);
        this.#client = null;
        return this.open();
    }
    /** A second connection to the same database (the write-back record's autocommit statements). */
    async another() {
        return connect(this.target, `${this.what}, second connection`, {
            applicationName: this.applicationName,
            queryTimeoutMs: this.queryTimeoutMs,
        });
    }
    /** A connection to the same server with the same credentials but another database. */
    async forDatabase(database) {
        return connect(this.target, `${this.what}, database "${(0,domain_escape/* oneLine */.TN)(database)}"`, {
            applicationName: this.applicationName,
            database,
            queryTimeoutMs: this.queryTimeoutMs,
        });
    }
    async end() {
        await db_close(this.#client);
        this.#client = null;
    }
}

;// CONCATENATED MODULE: ./src/run-phase.ts















const PHASES = {
    setup: setup,
    open: open_open,
    'verify-drain': verifyDrain,
    close: closePhase,
    abort: abort,
    status: status_status,
};
/** The phases that read the poolers of pgbouncer-urls. */
const POOLER_PHASES = ['verify-drain', 'close', 'abort', 'status'];
/** The phases that wait for replica-urls to replay their commit, and so check them before changing anything. */
const REPLAYING_PHASES = ['setup', 'open', 'close', 'abort'];
/** How long the first connection may keep failing transiently (server starting, network blip). */
const CONNECT_BUDGET_MS = 30_000;
/** Runs one phase against the admin connection. The entry point for every front end. */
async function runPhase(cfg, opts) {
    if (cfg.phase === 'unseal')
        return unseal(cfg, opts.reporter);
    const phase = cfg.phase;
    const applicationName = `pg-credential-rotation/${cfg.phase}${cfg.run.runId ? ` run ${cfg.run.runId}` : ''}`.slice(0, 63);
    const clock = opts.clock ?? domain_clock/* systemClock */.m;
    const session = new AdminSession(cfg.admin, applicationName, undefined, opts.lockTimeoutMs, clock, opts.idleInTransactionTimeoutMs, opts.adminQueryTimeoutMs);
    const deps = {
        reporter: opts.reporter,
        now: () => clock.now(),
        sleep: (ms) => clock.sleep(ms),
        session,
        replicas: Replicas.create(cfg.replicas, applicationName),
        poolers: new Poolers(POOLER_PHASES.includes(phase) ? cfg.poolers : [], applicationName, opts.poolerLimits ?? POOLER_LIMITS, clock),
        afterLoginCheck: opts.afterLoginCheck,
        beforeTerminating: opts.beforeTerminating,
    };
    try {
        await connectWithRetry(session, deps);
        const plaintext = plaintextWarning(isEncrypted(session.client), (0,urls/* clientConfig */.yO)(cfg.admin).host ?? process.env.PGHOST);
        if (plaintext)
            deps.reporter.warning(plaintext);
        if (REPLAYING_PHASES.includes(phase))
            await deps.replicas.checkStandbys(phase, session.client);
        const result = await PHASES[phase](cfg, deps);
        if (cfg.poolers.length && !POOLER_PHASES.includes(phase))
            result.notes.push(`${pooler_urls/* POOLER_INPUT */.H0} is not used by ${phase} (only by ${POOLER_PHASES.join(', ')}).`);
        return result;
    }
    finally {
        await session.end();
        await deps.replicas.end();
        await deps.poolers.end();
    }
}
/** Opens the admin connection, retrying only while the server may be restarting (57P03) or briefly gone. */
async function connectWithRetry(session, deps) {
    await (0,retry/* retryWithBackoff */.Z)(() => session.open(), {
        clock: deps,
        budgetMs: CONNECT_BUDGET_MS,
        initialMs: 250,
        isRetryable: isTransientConnectFailure,
        onRetry: ({ error, delayMs }) => deps.reporter.warning(`Connecting failed (${error.message}); retrying in ${delayMs}ms.`),
    });
}
/** A refused connection or an unknown host is not transient: only a starting server or a dropped link is. */
function isTransientConnectFailure(e) {
    const code = e.code;
    return code === '57P03' || (isRetryable(e) && code !== 'ECONNREFUSED' && code !== 'ENOTFOUND');
}


/***/ })

};
;