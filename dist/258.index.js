export const id = 258;
export const ids = [258];
export const modules = {

/***/ 2258:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runPhase: () => (/* binding */ runPhase)
});

// EXTERNAL MODULE: ./node_modules/pg/esm/index.mjs
var esm = __webpack_require__(3849);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./src/urls.ts
var urls = __webpack_require__(5769);
;// CONCATENATED MODULE: ./src/db.ts



/** Opens a connection; errors say which connection failed without repeating any secret. */
async function connect(target, what, opts) {
    const override = {
        application_name: opts.applicationName,
        connectionTimeoutMillis: opts.connectTimeoutMs ?? 15_000,
    };
    if (opts.user !== undefined)
        override.user = opts.user;
    if (opts.password !== undefined)
        override.password = opts.password;
    if (opts.withoutOptions)
        override.options = undefined;
    if (opts.database !== undefined)
        override.database = opts.database;
    const client = new esm/* default.Client */.Ay.Client((0,urls/* clientConfig */.yO)(target, override));
    // An idle client whose server goes away emits 'error'; without a listener Node exits.
    client.on('error', () => { });
    try {
        await client.connect();
    }
    catch (e) {
        await client.end().catch(() => { });
        throw connectionError(e, what);
    }
    return client;
}
async function db_close(client) {
    if (client)
        await client.end().catch(() => { });
}
function connectionError(e, what) {
    const err = e;
    const code = err.code ?? '';
    switch (code) {
        case '28P01':
            return new errors/* DatabaseError */.a$(`${what}: password authentication failed.`, 'Check the user name and password in the connection URI or PGUSER/PGPASSWORD.', code);
        case '28000':
            return new errors/* DatabaseError */.a$(`${what}: the server rejected the login (${err.message}).`, 'Check pg_hba.conf, the role\'s LOGIN attribute and sslmode.', code);
        case '3D000':
            return new errors/* DatabaseError */.a$(`${what}: ${err.message}.`, 'Check the database name in the connection URI or PGDATABASE.', code);
        case '57P03':
            return new errors/* DatabaseError */.a$(`${what}: the server is starting up or shutting down.`, 'Retry in a moment.', code);
        case 'ECONNREFUSED':
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
        case 'ETIMEDOUT':
        case 'EHOSTUNREACH':
            return new errors/* DatabaseError */.a$(`${what}: cannot reach the server (${code}${err.address ? ` ${err.address}:${err.port}` : ''}).`, 'Check the host and port, and that the runner can reach the database.', code);
    }
    const msg = err.message ?? String(e);
    if (/timeout/i.test(msg)) {
        return new errors/* DatabaseError */.a$(`${what}: connection timed out.`, 'Check the host and port, and that the runner can reach the database.', 'ETIMEDOUT');
    }
    return new errors/* DatabaseError */.a$(`${what}: ${msg}`, undefined, code || undefined);
}
/**
 * Errors worth retrying within the phase's time: the connection went away or the
 * server is starting, a serialization failure or deadlock, or a concurrent
 * catalog update ("tuple concurrently updated"). Everything else fails at once.
 */
function isRetryable(e) {
    const err = e;
    if (isConnectionLost(e))
        return true;
    if (err.code && ['57P03', '40001', '40P01', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT'].includes(err.code))
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
/** Translates a failed statement into an error that names what the admin lacks. */
function statementError(e, statement) {
    const err = e;
    if (err.code === 'XX000' && /tuple concurrently updated/.test(err.message ?? '')) {
        return new errors/* DatabaseError */.a$('Another phase changed the same roles at the same moment (tuple concurrently updated); this one was rolled back and nothing was changed.', 'Run it again: it will see what the other phase did.', err.code);
    }
    if (err.code === '55P03') {
        return new errors/* DatabaseError */.a$(`Waited 30s for a lock held by another session (while running: ${statement}); nothing was changed.`, 'Another phase or a DBA transaction is changing the same roles: let it finish (see pg_locks and pg_stat_activity), then run this phase again.', err.code);
    }
    if (err.code === '57014') {
        if (/statement timeout/i.test(err.message ?? '')) {
            return new errors/* DatabaseError */.a$(`A statement ran over the phase's statement_timeout (while running: ${statement}); nothing was changed.`, 'Check the server load, then run the phase again.', err.code);
        }
        return new errors/* DatabaseError */.a$(`The statement was cancelled by another session or an administrator (while running: ${statement}); nothing was changed.`, 'Run the phase again when whoever cancelled it is done.', err.code);
    }
    if (err.code === '42501' && /rds_password/.test(err.message ?? '')) {
        return new errors/* DatabaseError */.a$(`The admin role may not change passwords: ${err.message} (while running: ${statement}). Nothing was changed.`, 'On RDS with restricted password management, grant it: GRANT rds_password TO <admin role>.', err.code);
    }
    if (err.code === '42501') {
        return new errors/* DatabaseError */.a$(`The admin role lacks a privilege: ${err.message} (while running: ${statement}).`, 'Use a superuser, or a role with CREATEROLE (on PostgreSQL 16+ also ADMIN OPTION on the family\'s roles). Nothing was changed.', err.code);
    }
    return new errors/* DatabaseError */.a$(`${err.message ?? String(e)} (while running: ${statement}). Nothing was changed.`, undefined, err.code);
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: ./src/names.ts
var names = __webpack_require__(6455);
;// CONCATENATED MODULE: ./src/scram.ts

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

;// CONCATENATED MODULE: ./src/state.ts
/**
 * The rotation state, stored as a JSON comment on the group role
 * (COMMENT ON ROLE), so it changes in the same transaction as the roles and a
 * DBA can read it with `\drg+` or shobj_description(oid, 'pg_authid').
 */
const STATE_TOOL = 'pg-credential-rotation';
const STATE_VERSION = 1;
/** Reads the group role's comment. A comment that is not ours is reported, never parsed as state. */
function readState(comment) {
    if (comment === null || comment.trim() === '')
        return { kind: 'none' };
    let value;
    try {
        value = JSON.parse(comment);
    }
    catch {
        return { kind: 'foreign', comment };
    }
    if (!isObject(value) || value.tool !== STATE_TOOL)
        return { kind: 'foreign', comment };
    if (value.version !== STATE_VERSION)
        return { kind: 'invalid', reason: `state version ${String(value.version)} is not supported by this release` };
    const s = value;
    if (!Array.isArray(s.logins) || s.logins.length !== 2 || s.logins[0] === s.logins[1] || !s.logins.every((l) => typeof l === 'string')) {
        return { kind: 'invalid', reason: 'the state comment does not name two distinct login roles' };
    }
    if (typeof s.active !== 'string' || !(s.logins.includes(s.active) || (s.adoptedFrom !== undefined && s.active === s.adoptedFrom))) {
        return { kind: 'invalid', reason: 'the state comment is missing its active login' };
    }
    if (s.rotation !== null && (!isObject(s.rotation) || typeof s.rotation.id !== 'string' || !s.logins.includes(s.rotation.incoming) || s.rotation.incoming === s.active)) {
        return { kind: 'invalid', reason: 'the open rotation recorded in the state is malformed' };
    }
    return { kind: 'ok', state: { ...s, passwordSetAt: s.passwordSetAt ?? {}, lastClosed: s.lastClosed ?? null } };
}
function serializeState(state) {
    return JSON.stringify(state);
}
/** The login that takes over from `login` (after adoption, the first login role). */
function otherLogin(state, login) {
    return state.logins[0] === login ? state.logins[1] : state.logins[0];
}
/** "idle, app_a active" / "open (rotation r-...): app_a outgoing, app_b incoming" */
function describeState(state) {
    if (!state)
        return 'not set up';
    if (!state.rotation)
        return `idle with ${state.active} active`;
    return `open (rotation ${state.rotation.id}) with ${state.active} outgoing and ${state.rotation.incoming} incoming`;
}
function isObject(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}

;// CONCATENATED MODULE: ./src/statements.ts


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
const OBSERVE_FAMILY = `
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
 WHERE a.rolname = current_user`;
/** Sessions of the given logins in every database, except the action's own. */
const READ_SESSIONS = `
SELECT usename AS login,
       datname AS database,
       coalesce(application_name, '') AS application_name,
       host(client_addr) AS client_addr,
       count(*)::int AS count
  FROM pg_stat_activity
 WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid()
 GROUP BY 1, 2, 3, 4
 ORDER BY 1, 2, 3, 4`;
/** pg_stat_activity is a snapshot frozen for the transaction; clear it before each poll. */
const CLEAR_STATS_SNAPSHOT = 'SELECT pg_stat_clear_snapshot()';
/** Ends every session of one login (except the action's own); returns how many were signalled. */
const TERMINATE_SESSIONS = `
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS terminated
  FROM pg_stat_activity
 WHERE usename = $1 AND pid <> pg_backend_pid()`;
/** Serializes phases on one family: held until the transaction ends. */
const LOCK_FAMILY = 'SELECT pg_advisory_xact_lock($1::bigint)';
/**
 * Advisory locks are per database, so two phases connected to different
 * databases would both get one. Rewriting the group role's catalog row (with
 * the INHERIT attribute it already has; the action never changes it) serializes
 * them cluster-wide: a concurrent phase waits on that row, then fails with
 * "tuple concurrently updated" and is retried, or, if it comes later, observes
 * the committed state.
 */
const GROUP_INHERITS = `
SELECT g.rolinherit AS inherit,
       pg_has_role(current_user, g.oid, 'MEMBER WITH ADMIN OPTION') AS admin_option,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       current_setting('server_version_num')::int AS version,
       current_user AS admin
  FROM pg_roles g
 WHERE g.rolname = $1`;
function serializeOnGroup(group, inherit) {
    return `ALTER ROLE ${(0,esm/* escapeIdentifier */.F)(group)} WITH ${inherit ? 'INHERIT' : 'NOINHERIT'}`;
}
/** Starts a phase's transaction, bounding how long its statements may wait for locks or run (one round trip). */
const BEGIN_PHASE = `BEGIN; SET LOCAL lock_timeout = '30s'; SET LOCAL statement_timeout = '120s'`;
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
/** Run by the incoming login right after open, to prove its credentials and SET role default. */
const WHO_AM_I = 'SELECT current_user AS current_user, session_user AS session_user';
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
            return plain(`COMMENT ON ROLE ${(0,esm/* escapeIdentifier */.F)(step.group)} IS ${(0,esm/* escapeLiteral */.NO)(serializeState(step.state))}`);
    }
}
function plain(sql) {
    return { sql, display: sql };
}
function withSecret(prefix, secret) {
    return { sql: `${prefix} ${(0,esm/* escapeLiteral */.NO)(secret)}`, display: `${prefix} '***'` };
}
function requireSecret(step, secret) {
    if (!secret)
        throw new Error(`internal: ${step.kind} needs a password`);
    return secret;
}

;// CONCATENATED MODULE: ./src/observe.ts



/** Reads the family's roles, memberships, settings, state and sessions (two queries). Read-only. */
async function observe(client, family) {
    const names = [family.group, ...family.logins];
    const info = (await client.query(OBSERVE_FAMILY, [names])).rows[0];
    // The group role's own sessions count too: after adopt: true it is the outgoing login.
    const sessions = await readSessions(client, names);
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
        state: readState(groupRow ? groupRow.comment : null),
        sessions,
    };
}
async function readSessions(client, logins, server = 'primary') {
    const rows = (await client.query(READ_SESSIONS, [logins])).rows;
    return rows.map((r) => ({
        server,
        login: r.login,
        database: r.database,
        applicationName: r.application_name,
        clientAddr: r.client_addr,
        count: r.count,
    }));
}

// EXTERNAL MODULE: ./src/password.ts
var src_password = __webpack_require__(758);
// EXTERNAL MODULE: ./src/family.ts
var family = __webpack_require__(2015);
;// CONCATENATED MODULE: ./src/plan.ts




// ---- setup --------------------------------------------------------------------
function planSetup(obs, cfg, ctx) {
    const group = cfg.role;
    const notes = [];
    if (obs.state.kind === 'invalid') {
        throw new errors/* StateError */.qq(`The state comment on role "${group}" cannot be read: ${obs.state.reason}.`, 'in an unknown state', `Inspect it with: SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '${group}'.`);
    }
    const existing = obs.state.kind === 'ok' ? obs.state.state : null;
    // An adopted family's group role keeps LOGIN until its first rotation closes.
    const adopting = !existing && Boolean(cfg.adopt) && Boolean(obs.group?.canLogin);
    if (obs.group?.canLogin && !adopting && existing?.active !== group) {
        throw new errors/* StateError */.qq(`Role "${group}" exists and can log in; setup will not turn a login into the NOLOGIN group role without adopt: true.`, existing ? describeState(existing) : 'not set up', `If "${group}" is the application's current single login, run setup with adopt: true (zero downtime: it stays usable until the first rotation closes); otherwise choose a role name that does not exist yet.`);
    }
    for (const r of [obs.group, ...Object.values(obs.logins)]) {
        if (r?.superuser) {
            throw new errors/* StateError */.qq(`Role "${r.name}" is a superuser; a rotated application role must not be.`, existing ? describeState(existing) : 'not set up', 'Use other role names, or revoke SUPERUSER first.');
        }
    }
    if (existing && !sameLogins(existing.logins, cfg.logins)) {
        throw new errors/* StateError */.qq(`The family's state names the login roles ${existing.logins.join(', ')}, but login-roles is ${cfg.logins.join(', ')}.`, describeState(existing), `Pass login-roles: ${existing.logins.join(',')}.`);
    }
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
    if (existing) {
        const activeRole = existing.active === group ? obs.group : obs.logins[existing.active];
        if (!activeRole?.canLogin)
            notes.push(`The active login "${existing.active}" cannot log in (NOLOGIN); setup leaves it as it is.`);
        return { steps, state: existing, issue: null, noop: steps.length ? null : 'the family is already set up', notes };
    }
    const canLogin = cfg.logins.filter((l) => obs.logins[l]?.canLogin);
    if (adopting) {
        if (canLogin.length > 0) {
            throw new errors/* StateError */.qq(`adopt: true, but login role ${canLogin.map((l) => `"${l}"`).join(' and ')} can already log in; the adopted login "${group}" must be the only one.`, 'not set up', `Make ${canLogin.join(' and ')} NOLOGIN, or drop them, and run setup again.`);
        }
        notes.push(`Adopted "${group}": it stays the active login (password unchanged, not emitted) and becomes the group role; the first rotation hands out "${cfg.logins[0]}" and its close disables "${group}".`);
        if (obs.state.kind === 'foreign')
            notes.push(`The previous comment on role "${group}" is replaced by the rotation state.`);
        const state = {
            tool: STATE_TOOL,
            version: STATE_VERSION,
            logins: [...cfg.logins],
            active: group,
            adoptedFrom: group,
            rotation: null,
            lastClosed: null,
            passwordSetAt: {},
        };
        steps.push({ kind: 'write-state', group, state });
        return { steps, state, issue: null, noop: null, notes };
    }
    if (canLogin.length === 2) {
        throw new errors/* StateError */.qq(`Both login roles (${cfg.logins.join(', ')}) can log in and no rotation state is recorded, so setup cannot tell which one the application uses.`, 'not set up', `Make the unused one NOLOGIN (ALTER ROLE ... NOLOGIN) and run setup again.`);
    }
    let active;
    let issue = null;
    if (canLogin.length === 1) {
        active = canLogin[0];
        notes.push(`Login "${active}" already can log in: it is recorded as active and its password is left unchanged (no password is emitted).`);
    }
    else {
        active = cfg.logins[0];
        issue = active;
        steps.push({ kind: 'enable-login', role: active });
    }
    if (obs.state.kind === 'foreign')
        notes.push(`The previous comment on role "${group}" is replaced by the rotation state.`);
    const state = {
        tool: STATE_TOOL,
        version: STATE_VERSION,
        logins: [...cfg.logins],
        active,
        rotation: null,
        lastClosed: null,
        passwordSetAt: issue ? { [issue]: ctx.now.toISOString() } : {},
    };
    steps.push({ kind: 'write-state', group, state });
    return { steps, state, issue, noop: null, notes };
}
// ---- open ---------------------------------------------------------------------
function planOpen(obs, cfg, ctx) {
    const state = requireState(obs, cfg);
    const group = cfg.role;
    if (state.rotation) {
        const r = state.rotation;
        const sameRun = cfg.run.runId !== '' && r.openedBy.runId === cfg.run.runId;
        if (!sameRun) {
            throw new errors/* StateError */.qq(`A rotation is already open (opened ${r.openedAt}${r.openedBy.runId ? ` by workflow run ${r.openedBy.runId}` : ''}); another run must not replace a password a deploy may be using.`, describeState(state), 'Finish it with verify-drain and close, then open again.');
        }
        const sessions = (0,family/* sessionCount */.y)(obs.sessions, r.incoming);
        if (sessions > 0) {
            throw new errors/* StateError */.qq(`This workflow run opened rotation ${r.id}, but the incoming login "${r.incoming}" already has ${(0,family/* describeSessions */.P)(obs.sessions, r.incoming)} sessions, so its password is in use and is not replaced.`, describeState(state), 'Deploy with the password issued by the first attempt, or continue with verify-drain and close.');
        }
        const next = { ...state, passwordSetAt: { ...state.passwordSetAt, [r.incoming]: ctx.now.toISOString() } };
        return {
            steps: [{ kind: 'enable-login', role: r.incoming }, { kind: 'write-state', group, state: next }],
            state: next,
            issue: r.incoming,
            noop: null,
            notes: [`Rotation ${r.id} was opened by this workflow run and its incoming login has no sessions: a fresh password is issued (a re-run).`],
        };
    }
    const incoming = otherLogin(state, state.active);
    const problem = loginProblem(obs.logins[incoming], group);
    if (problem) {
        throw new errors/* StateError */.qq(`The standby login "${incoming}" is not ready: ${problem}.`, describeState(state), 'Run the setup phase to repair the family, then open again.');
    }
    const notes = [];
    const stale = (0,family/* sessionCount */.y)(obs.sessions, incoming);
    if (stale > 0)
        notes.push(`The standby login "${incoming}" still has ${stale} sessions from before; they keep running.`);
    const next = {
        ...state,
        rotation: { id: ctx.newRotationId(), incoming, openedAt: ctx.now.toISOString(), openedBy: cfg.run },
        passwordSetAt: { ...state.passwordSetAt, [incoming]: ctx.now.toISOString() },
    };
    return {
        steps: [{ kind: 'enable-login', role: incoming }, { kind: 'write-state', group, state: next }],
        state: next,
        issue: incoming,
        noop: null,
        notes,
    };
}
function planDrain(obs, cfg) {
    const state = requireState(obs, cfg);
    const done = closedRerun(state, cfg);
    if (done)
        return { kind: 'noop', reason: done, state };
    const r = requireRotation(state, cfg, 'verify-drain');
    return { kind: 'wait', outgoing: state.active, incoming: r.incoming, rotationId: r.id, state };
}
// ---- close --------------------------------------------------------------------
function planClose(obs, cfg, ctx) {
    const state = requireState(obs, cfg);
    const done = closedRerun(state, cfg);
    if (done)
        return { steps: [], state, issue: null, noop: done, notes: [] };
    const r = requireRotation(state, cfg, 'close');
    const outgoing = state.active;
    const remaining = (0,family/* sessionCount */.y)(obs.sessions, outgoing);
    const notes = [];
    if (remaining > 0) {
        if (!cfg.terminate && !cfg.force) {
            throw new errors/* StateError */.qq(`The outgoing login "${outgoing}" still has ${(0,family/* describeSessions */.P)(obs.sessions, outgoing)} sessions.`, describeState(state), 'Wait for them with verify-drain, or run close with terminate: true to end them, or force: true to close while they run.');
        }
        notes.push(cfg.terminate ? `Ending ${remaining} sessions of "${outgoing}" after the commit.` : `Closing with force: ${remaining} sessions of "${outgoing}" keep running until they disconnect.`);
    }
    const next = {
        ...state,
        active: r.incoming,
        rotation: null,
        lastClosed: { id: r.id, closedAt: ctx.now.toISOString(), active: r.incoming, previous: outgoing },
        passwordSetAt: { ...state.passwordSetAt, [outgoing]: ctx.now.toISOString() },
    };
    return {
        steps: [{ kind: 'disable-login', role: outgoing }, { kind: 'write-state', group: cfg.role, state: next }],
        state: next,
        issue: null,
        noop: null,
        notes,
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
        const empty = { tool: STATE_TOOL, version: STATE_VERSION, logins: [...cfg.logins], active: cfg.logins[0], rotation: null, lastClosed: null, passwordSetAt: {} };
        return { steps: [], state: empty, issue: null, noop: 'the family is not set up, so no rotation is open', notes: [] };
    }
    const state = requireState(obs, cfg);
    if (!state.rotation) {
        const last = state.lastAborted ? ` (rotation ${state.lastAborted.id} was aborted at ${state.lastAborted.abortedAt})` : '';
        return { steps: [], state, issue: null, noop: `no rotation is open${last}`, notes: [] };
    }
    const r = state.rotation;
    if (cfg.rotationId && cfg.rotationId !== r.id) {
        throw new errors/* StateError */.qq(`rotation-id ${cfg.rotationId} does not match the open rotation ${r.id}.`, describeState(state), 'Pass the rotation-id output of the open phase, or leave rotation-id empty to abort whatever rotation is open.');
    }
    const next = { ...state, rotation: null, lastAborted: { id: r.id, abortedAt: ctx.now.toISOString(), login: r.incoming } };
    return {
        steps: [{ kind: 'disable-login', role: r.incoming }, { kind: 'write-state', group: cfg.role, state: next }],
        state: next,
        issue: null,
        noop: null,
        notes: [`Aborted rotation ${r.id}: "${r.incoming}" is disabled again, "${state.active}" stays active.`],
    };
}
/**
 * What the admin lacks to run these steps (and to end sessions, when asked),
 * checked before anything changes. Superusers can do everything; otherwise
 * CREATEROLE, on PostgreSQL 16+ ADMIN OPTION on every existing role the steps
 * alter (the action serializes on the group role, so that one always), and
 * pg_signal_backend to terminate sessions.
 */
function missingPrivilege(obs, group, steps, terminate) {
    const a = obs.admin;
    if (a.superuser)
        return null;
    const q = names/* quoteIdent */.v4;
    if (steps.length > 0) {
        if (!a.createrole)
            return { privilege: 'CREATEROLE', grant: `ALTER ROLE ${q(a.name)} CREATEROLE` };
        if (obs.serverVersion >= 160000) {
            const created = new Set(steps.filter((x) => x.kind === 'create-role').map((x) => x.role));
            const touched = new Set();
            if (obs.group)
                touched.add(group);
            for (const st of steps) {
                if (st.kind === 'grant-membership')
                    touched.add(st.group).add(st.login);
                else if (st.kind === 'set-default-role')
                    touched.add(st.login);
                else if (st.kind === 'enable-login' || st.kind === 'disable-login')
                    touched.add(st.role);
                else if (st.kind === 'write-state')
                    touched.add(st.group);
            }
            for (const role of touched) {
                if (!created.has(role) && !a.adminOption[role]) {
                    return { privilege: `ADMIN OPTION on role ${q(role)} (PostgreSQL 16+ requires it to alter a role)`, grant: `GRANT ${q(role)} TO ${q(a.name)} WITH ADMIN OPTION` };
                }
            }
        }
    }
    if (terminate && !a.signalBackend)
        return { privilege: 'pg_signal_backend (to terminate sessions of other roles)', grant: `GRANT pg_signal_backend TO ${q(a.name)}` };
    return null;
}
/**
 * Undo an open whose login check failed after commit: the incoming login gets
 * NOLOGIN and a scrambled password, and the state goes back to what it was
 * before the open (or, for a re-issue inside an open rotation, to idle).
 */
function planRevertOpen(obs, cfg, rotationId, previous) {
    if (obs.state.kind !== 'ok' || obs.state.state.rotation?.id !== rotationId)
        return null;
    const state = obs.state.state;
    const next = previous.rotation ? { ...state, rotation: null } : previous;
    return {
        steps: [{ kind: 'disable-login', role: state.rotation.incoming }, { kind: 'write-state', group: cfg.role, state: next }],
        state: next,
        issue: null,
        noop: null,
        notes: [],
    };
}
// ---- shared checks --------------------------------------------------------------
function requireState(obs, cfg) {
    const s = obs.state;
    if (s.kind === 'ok') {
        if (!sameLogins(s.state.logins, cfg.logins)) {
            throw new errors/* StateError */.qq(`The family's state names the login roles ${s.state.logins.join(', ')}, but login-roles is ${cfg.logins.join(', ')}.`, describeState(s.state), `Pass login-roles: ${s.state.logins.join(',')}.`);
        }
        return s.state;
    }
    if (s.kind === 'invalid') {
        throw new errors/* StateError */.qq(`The state comment on role "${cfg.role}" cannot be read: ${s.reason}.`, 'in an unknown state', 'Inspect the comment on the group role; run setup to write a fresh state only if no rotation is under way.');
    }
    throw new errors/* StateError */.qq(obs.group ? `Role "${cfg.role}" has no rotation state.` : `Role "${cfg.role}" does not exist.`, 'not set up', 'Run the setup phase first.');
}
function requireRotation(state, cfg, phase) {
    const r = state.rotation;
    if (!r) {
        const last = state.lastClosed ? ` The last closed rotation is ${state.lastClosed.id}.` : '';
        throw new errors/* StateError */.qq(cfg.rotationId ? `No rotation is open, and rotation-id ${cfg.rotationId} is not the last closed one.${last}` : `No rotation is open, so there is nothing to ${phase}.${last}`, describeState(state), 'Run open first (a re-run of a finished phase succeeds only with the rotation-id it finished).');
    }
    if (cfg.rotationId && cfg.rotationId !== r.id) {
        throw new errors/* StateError */.qq(`rotation-id ${cfg.rotationId} does not match the open rotation ${r.id}.`, describeState(state), 'Pass the rotation-id output of the open phase that started this rotation.');
    }
    return r;
}
/** A re-run of verify-drain/close after the rotation was closed: succeed, do nothing. */
function closedRerun(state, cfg) {
    if (state.rotation || !cfg.rotationId || state.lastClosed?.id !== cfg.rotationId)
        return null;
    return `rotation ${cfg.rotationId} was already closed at ${state.lastClosed.closedAt}`;
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

;// CONCATENATED MODULE: ./src/apply.ts









/** Length of the random password that replaces an outgoing login's password; nobody keeps it. */
const SCRAMBLE_LENGTH = 64;
/** How long a phase keeps retrying transient failures (connection loss, server start, concurrent update). */
const RETRY_BUDGET_MS = 60_000;
/** Advisory-lock key of a family: the first 8 bytes of a hash of the group role's name. */
function familyLockKey(group) {
    return (0,external_node_crypto_.createHash)('sha256').update(`pg-credential-rotation:${group}`).digest().readBigInt64BE(0).toString();
}
/**
 * Runs one phase's change as one transaction: lock the family, observe, plan,
 * check the admin's privileges, execute the plan's statements, commit. A plan
 * that refuses (throws), a missing privilege, or any failed statement rolls
 * everything back. Transient failures are retried from the start, with a fresh
 * observation, for up to RETRY_BUDGET_MS.
 */
async function applyInTransaction(session, cfg, reporter, decide, opts = {}) {
    const now = opts.now ?? Date.now;
    const sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const deadline = now() + RETRY_BUDGET_MS;
    let delay = 200;
    for (let attempt = 1;; attempt++) {
        try {
            return await attemptOnce(session, cfg, reporter, decide, opts);
        }
        catch (e) {
            if (!isRetryable(e) || now() + delay > deadline)
                throw e;
            reporter.warning(`Attempt ${attempt} failed (${e.message.split('\n')[0]}); nothing was applied. Retrying in ${delay}ms.`);
            await sleep(delay);
            delay = Math.min(delay * 2, 5000);
            try {
                await session.renew();
            }
            catch (c) {
                if (!isRetryable(c) || now() >= deadline) {
                    throw new errors/* DatabaseError */.a$(`The phase was interrupted (${e.message.split('\n')[0]}) and could not reconnect: ${c.message} Nothing was applied: the family is as it was before this phase.`, 'Run the phase again once the database accepts the admin connection.', c.code);
                }
            }
        }
    }
}
async function attemptOnce(session, cfg, reporter, decide, opts) {
    const client = session.client;
    try {
        await client.query(BEGIN_PHASE);
        await run(client, LOCK_FAMILY, [familyLockKey(cfg.role)]);
        const group = (await client.query(GROUP_INHERITS, [cfg.role])).rows[0];
        if (group) {
            if (!group.superuser && group.version >= 160000 && !group.admin_option) {
                // Checked here: without it the serializing statement below fails with a bare permission error.
                throw privilegeError(`ADMIN OPTION on role ${(0,names/* quoteIdent */.v4)(cfg.role)} (PostgreSQL 16+ requires it to alter a role)`, `GRANT ${(0,names/* quoteIdent */.v4)(cfg.role)} TO ${(0,names/* quoteIdent */.v4)(group.admin)} WITH ADMIN OPTION`);
            }
            await run(client, serializeOnGroup(cfg.role, group.inherit));
        }
        const before = await observe(client, { group: cfg.role, logins: cfg.logins });
        const plan = decide(before);
        const missing = missingPrivilege(before, cfg.role, plan.steps, Boolean(opts.terminate));
        if (missing)
            throw privilegeError(missing.privilege, missing.grant);
        if (opts.beforeChanges && plan.steps.length > 0)
            await opts.beforeChanges(before, plan);
        const executed = [];
        let password = null;
        for (const step of plan.steps) {
            let secret;
            if (step.kind === 'enable-login' || step.kind === 'disable-login') {
                const plaintext = (0,src_password/* generatePassword */.bk)(step.kind === 'enable-login' ? cfg.passwordLength : SCRAMBLE_LENGTH);
                reporter.secret(plaintext);
                if (step.kind === 'enable-login')
                    password = plaintext;
                if (cfg.passwordEncryption === 'scram-sha-256') {
                    secret = scramVerifier(plaintext, before.scramIterations);
                    reporter.secret(secret);
                }
                else {
                    secret = plaintext;
                }
            }
            const stmt = renderStep(step, before.serverVersion, secret);
            reporter.debug(`sql: ${stmt.display}`);
            await run(client, stmt.sql, undefined, stmt.display);
            executed.push(stmt);
        }
        await client.query('COMMIT');
        return { before, plan, executed, password };
    }
    catch (e) {
        await client.query('ROLLBACK').catch(() => { });
        throw e;
    }
}
async function run(client, sql, params, display = sql) {
    try {
        await client.query(sql, params);
    }
    catch (e) {
        if (isRetryable(e))
            throw e;
        throw statementError(e, display.trim());
    }
}
function privilegeError(privilege, grant) {
    return new errors/* DatabaseError */.a$(`The admin role lacks ${privilege}; nothing was changed.`, `Grant it (as a superuser or a role that may): ${grant};`, '42501');
}

// EXTERNAL MODULE: ./src/seal.ts
var seal = __webpack_require__(774);
;// CONCATENATED MODULE: ./src/writeback.ts
/**
 * Writes the issued credentials to GitHub secrets (github-secrets maps secret
 * names to outputs). The GitHub client is loaded only here, when write-back is
 * configured.
 */
async function writeBack(cfg, creds, reporter) {
    const gh = cfg.github;
    if (!gh)
        return [];
    const { writeSecrets } = await Promise.all(/* import() */[__webpack_require__.e(71), __webpack_require__.e(399)]).then(__webpack_require__.bind(__webpack_require__, 5399));
    const value = { username: creds.username, password: creds.password, 'database-url': creds.databaseUrl };
    const secrets = Object.fromEntries(gh.secrets.map((m) => [m.name, value[m.output]]));
    const { written } = await writeSecrets({ token: gh.token, apiUrl: gh.apiUrl, repository: gh.repository, environment: gh.environment ?? undefined, secrets, reporter });
    const where = gh.environment ? `environment "${gh.environment}" of ${gh.repository}` : gh.repository;
    reporter.info(`Wrote ${written.join(', ')} to the GitHub secrets of ${where}.`);
    return written;
}

;// CONCATENATED MODULE: ./src/phases/common.ts




function planContext(deps) {
    const now = deps.now();
    return { now, newRotationId: () => rotationId(now) };
}
/** "20261127T224400Z-3f9a1c": sortable, unique enough, and free of anything secret. */
function rotationId(now) {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `${stamp}-${(0,external_node_crypto_.randomBytes)(3).toString('hex')}`;
}
/**
 * Credentials outputs for a newly issued password; masks the URL before it
 * exists anywhere else, and seals all three for other jobs when seal-key is set.
 */
function credentialOutputs(cfg, reporter, username, password, rotationId) {
    const databaseUrl = (0,urls/* buildDatabaseUrl */.p5)(cfg.appUrl, username, password);
    reporter.secret(databaseUrl);
    const sealedCredentials = cfg.sealKey ? (0,seal/* sealCredentials */.Eg)({ username, password, databaseUrl }, cfg.sealKey, { family: cfg.role, rotationId }) : undefined;
    return { username, password, databaseUrl, sealedCredentials };
}
/** Re-reads the family after the phase so the summary shows what is true now (replicas included). */
async function finish(cfg, deps, outputs, changes, notes, failure, extra = {}) {
    const after = await observe(deps.session.client, { group: cfg.role, logins: cfg.logins });
    const replicaSessions = deps.replicas.count ? await deps.replicas.sessions([cfg.role, ...cfg.logins]) : [];
    return {
        phase: cfg.phase,
        group: cfg.role,
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

;// CONCATENATED MODULE: ./src/phases/open.ts






/**
 * Gives the standby login a new password and LOGIN, then logs in with it and
 * checks that the session runs as the group role. If that check fails the
 * rotation is undone and the phase fails.
 */
async function open_open(cfg, deps) {
    const applied = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => planOpen(obs, cfg, planContext(deps)));
    const { plan, password } = applied;
    if (applied.before.state.kind !== 'ok')
        throw new Error('internal: open planned without a state');
    const previous = applied.before.state.state;
    const rotation = plan.state.rotation;
    const incoming = rotation.incoming;
    const outputs = {
        ...credentialOutputs(cfg, deps.reporter, incoming, password, rotation.id),
        previousUsername: plan.state.active,
        rotationId: rotation.id,
        state: 'open',
    };
    // The login check and the summary's re-read of the family use different connections: run them side by side.
    const [problem, result] = await Promise.all([
        checkLogin(cfg, incoming, password),
        finish(cfg, deps, outputs, applied.executed.map((s) => s.display), plan.notes),
    ]);
    if (problem) {
        const undo = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => {
            const p = planRevertOpen(obs, cfg, rotation.id, previous);
            if (!p)
                throw new errors/* DatabaseError */.a$(`${problem} The rotation could not be undone because its state changed meanwhile; run the status phase and abort.`);
            return p;
        });
        throw new errors/* DatabaseError */.a$(`${problem} The rotation was undone: "${incoming}" is NOLOGIN again and "${plan.state.active}" stays active (${undo.executed.length} statements).`, 'Run setup to repair the family, check pg_hba.conf allows the login roles, then open again.');
    }
    deps.reporter.info(`Logged in as "${incoming}" with the new password: current_user is "${cfg.role}".`);
    return result;
}
/** Logs in as the login with its new password; returns what is wrong, or null. */
async function checkLogin(cfg, login, password) {
    let c = null;
    try {
        // Same host, port, database and TLS settings as the admin connection, but not its session options.
        c = await connect(cfg.admin, `login check as "${login}"`, { applicationName: 'pg-credential-rotation/open-check', user: login, password, withoutOptions: true });
        const row = (await c.query(WHO_AM_I)).rows[0];
        if (row.current_user !== cfg.role) {
            return `Logged in as "${login}", but current_user is "${row.current_user}", not "${cfg.role}": the SET role default did not apply, so objects it creates would be owned by the login.`;
        }
        return null;
    }
    catch (e) {
        return `Logging in as "${login}" with the new password failed: ${e.message}`;
    }
    finally {
        await db_close(c);
    }
}

;// CONCATENATED MODULE: ./src/phases/close.ts











/**
 * Disables the outgoing login (NOLOGIN and a password nobody keeps). Refuses
 * while it has sessions (on the primary or any replica) unless terminate or
 * force; with terminate, its sessions are ended after the commit, when they can
 * no longer log back in.
 */
async function closePhase(cfg, deps) {
    const watched = [cfg.role, ...cfg.logins];
    let written = [];
    const onReplicas = deps.replicas.count ? await deps.replicas.sessions(watched) : [];
    const applied = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => planClose({ ...obs, sessions: [...obs.sessions, ...onReplicas] }, cfg, planContext(deps)), {
        terminate: cfg.terminate,
        // With the family locked, so no abort or other phase can slip in between the write and the close.
        beforeChanges: cfg.github ? async (obs) => void (written = await writeBackBeforeClose(cfg, deps, obs)) : undefined,
    });
    const { plan, before } = applied;
    if (plan.noop) {
        const last = plan.state.lastClosed;
        return finish(cfg, deps, { username: plan.state.active, previousUsername: last.previous ?? otherLogin(plan.state, last.active), rotationId: last.id, state: 'idle', remainingConnections: 0 }, [], [`Nothing to do: ${plan.noop}.`]);
    }
    const outgoing = before.state.kind === 'ok' ? before.state.state.active : '';
    const notes = [...plan.notes];
    if (cfg.terminate && (0,family/* sessionCount */.y)([...before.sessions, ...onReplicas], outgoing) > 0) {
        notes.push(`Signalled ${await terminateEverywhere(outgoing, deps)} sessions of "${outgoing}" to terminate.`);
        await waitGone(outgoing, deps);
    }
    const remaining = (0,family/* sessionCount */.y)(await sessionsEverywhere([outgoing], deps), outgoing);
    const outputs = {
        username: plan.state.active,
        previousUsername: outgoing,
        rotationId: plan.state.lastClosed.id,
        state: 'idle',
        remainingConnections: remaining,
    };
    if (written.length)
        notes.push(`GitHub secrets ${written.join(', ')} hold the credentials of "${plan.state.active}" (written before "${outgoing}" was disabled).`);
    return finish(cfg, deps, outputs, applied.executed.map((s) => s.display), notes);
}
/**
 * Before the old login is disabled (inside close's transaction, with the family
 * locked), the secret store gets the new credentials: unsealed from open's
 * sealed-credentials, checked to belong to the open rotation's incoming login
 * and to log in, then written. If any of that fails, the transaction rolls back
 * and the old login stays enabled, so the secret store never holds a credential
 * that cannot log in. (The new credentials log in whether or not the close then
 * commits.)
 */
async function writeBackBeforeClose(cfg, deps, obs) {
    const rotation = obs.state.kind === 'ok' ? obs.state.state.rotation : null;
    if (!rotation)
        return [];
    const { creds } = (0,seal/* unsealCredentials */.nS)(cfg.sealedCredentials, cfg.sealKey, { family: cfg.role, rotationId: rotation.id });
    deps.reporter.secret(creds.password);
    deps.reporter.secret(creds.databaseUrl);
    if (creds.username !== rotation.incoming) {
        throw new errors/* InputError */.dz('sealed-credentials', `holds credentials of "${creds.username}", but rotation ${rotation.id} hands out "${rotation.incoming}"; pass the sealed-credentials output of this rotation's open`);
    }
    const problem = await checkLogin(cfg, creds.username, creds.password);
    if (problem) {
        throw new errors/* DatabaseError */.a$(`${problem} The sealed credentials no longer log in (was open re-run and the password re-issued?), so they are not written to GitHub and "${obs.state.kind === 'ok' ? obs.state.state.active : ''}" stays enabled.`, 'Pass the sealed-credentials output of the latest open of this rotation.');
    }
    try {
        return await writeBack(cfg, creds, deps.reporter);
    }
    catch (e) {
        throw new Error(`${e.message} Nothing was closed: the old login stays enabled, so the secrets GitHub holds still log in. Fix the token or permissions and run close again.`);
    }
}
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
        if ((0,family/* sessionCount */.y)(await sessionsEverywhere([login], deps), login) === 0)
            return;
        await deps.sleep(50);
    }
}

;// CONCATENATED MODULE: ./src/phases/abort.ts





/**
 * Cancels an open rotation (what a workflow runs with `if: failure()` after a
 * failed deploy). Safe in any state: with no rotation open it does nothing and
 * says so. With terminate, also ends the incoming login's sessions.
 */
async function abort(cfg, deps) {
    const applied = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => planAbort(obs, cfg, planContext(deps)), { terminate: cfg.terminate });
    const { plan, before } = applied;
    if (plan.noop) {
        return finish(cfg, deps, { username: before.state.kind === 'ok' ? plan.state.active : undefined, state: plan.state.rotation ? 'open' : 'idle' }, [], [`Nothing to do: ${plan.noop}.`]);
    }
    const aborted = plan.state.lastAborted.login;
    const notes = [...plan.notes];
    if (cfg.terminate) {
        const sessions = (0,family/* sessionCount */.y)(await sessionsEverywhere([aborted], deps), aborted);
        if (sessions > 0) {
            notes.push(`Signalled ${await terminateEverywhere(aborted, deps)} sessions of "${aborted}" to terminate.`);
            await waitGone(aborted, deps);
        }
    }
    return finish(cfg, deps, { username: plan.state.active, previousUsername: aborted, rotationId: plan.state.lastAborted.id, state: 'idle' }, applied.executed.map((s) => s.display), notes);
}

;// CONCATENATED MODULE: ./src/phases/setup.ts






/**
 * Creates what is missing of the family; issues a password only to a family
 * that has none in use. With fix-ownership, then moves objects owned by the
 * login roles to the group role, database by database.
 */
async function setup(cfg, deps) {
    const applied = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => planSetup(obs, cfg, planContext(deps)));
    const { plan, password } = applied;
    const outputs = {
        username: plan.state.active,
        state: plan.state.rotation ? 'open' : 'idle',
        ...(plan.issue && password ? credentialOutputs(cfg, deps.reporter, plan.issue, password, 'setup') : {}),
    };
    const changes = applied.executed.map((s) => s.display);
    const notes = plan.noop ? [`Nothing to do: ${plan.noop}.`, ...plan.notes] : [...plan.notes];
    if (cfg.github) {
        if (outputs.password && outputs.databaseUrl) {
            // After the commit: the secret store only ever receives a credential that logs in.
            try {
                await writeBack(cfg, { username: outputs.username, password: outputs.password, databaseUrl: outputs.databaseUrl }, deps.reporter);
            }
            catch (e) {
                throw new Error(`${e.message} The family is set up and "${outputs.username}" has its new password, but GitHub was not updated: take the password from this step's masked password output (or sealed-credentials), or rotate (open, close) once write-back works.`);
            }
        }
        else {
            notes.push('github-secrets: nothing written, because setup issued no new password (the family was already set up).');
        }
    }
    if (cfg.fixOwnership)
        changes.push(...(await fixOwnership(cfg, deps, notes)));
    return finish(cfg, deps, outputs, changes, notes);
}
/** REASSIGN OWNED BY the login roles TO the group role, in each database where they own objects. */
async function fixOwnership(cfg, deps, notes) {
    const main = deps.session.client;
    const owned = (await main.query(READ_OWNERSHIP, [cfg.logins])).rows;
    if (owned.length === 0) {
        notes.push('fix-ownership: the login roles own nothing.');
        return [];
    }
    const current = (await main.query('SELECT current_database() AS db')).rows[0].db;
    const databases = [...new Set(owned.map((o) => o.database || current))];
    const statement = reassignOwned(cfg.logins, cfg.role);
    const done = [];
    for (const db of databases) {
        let client = null;
        try {
            client = db === current ? main : await deps.session.forDatabase(db);
            await client.query('BEGIN');
            await client.query(statement);
            await client.query('COMMIT');
        }
        catch (e) {
            await client?.query('ROLLBACK').catch(() => { });
            throw statementError(e, `${statement} (database "${db}")`);
        }
        finally {
            if (client && client !== main)
                await db_close(client);
        }
        done.push(`${statement}; -- in database "${db}"`);
    }
    const total = owned.reduce((n, o) => n + o.objects, 0);
    notes.push(`fix-ownership: moved ${total} object(s) in ${databases.length} database(s) to "${cfg.role}".`);
    return done;
}

;// CONCATENATED MODULE: ./src/drift.ts
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
            drift.push({ kind: 'missing-default-role', role: l, detail: r.defaultRole === null ? 'no SET role default' : `SET role default is "${r.defaultRole}"` });
    }
    for (const o of ownership) {
        if (logins.includes(o.role)) {
            drift.push({ kind: 'owns-objects', role: o.role, detail: `owns ${o.objects} object(s) ${o.database ? `in database "${o.database}"` : '(shared: databases or tablespaces)'}; run setup with fix-ownership: true` });
        }
    }
    if (state) {
        const expected = new Set([state.active, ...(state.rotation ? [state.rotation.incoming] : [])]);
        const roles = [[group, obs.group], ...logins.map((l) => [l, obs.logins[l]])];
        for (const [name, r] of roles) {
            if (!r)
                continue;
            if (r.canLogin && !expected.has(name))
                drift.push({ kind: 'unexpected-login', role: name, detail: `can log in, but the state says only ${[...expected].join(' and ')} should` });
            if (!r.canLogin && expected.has(name))
                drift.push({ kind: 'active-cannot-login', role: name, detail: 'the state says it is in use, but it is NOLOGIN' });
        }
    }
    return drift;
}

;// CONCATENATED MODULE: ./src/phases/status.ts





/** Read-only: which login is active, which can log in, the open rotation, sessions, last rotations, drift. */
async function status_status(cfg, deps) {
    const client = deps.session.client;
    const obs = await observe(client, { group: cfg.role, logins: cfg.logins });
    const ownership = (await client.query(READ_OWNERSHIP, [cfg.logins])).rows;
    const drift = findDrift(obs, cfg.role, cfg.logins, ownership);
    const state = obs.state.kind === 'ok' ? obs.state.state : null;
    const result = await finish(cfg, deps, { username: state?.active, state: state?.rotation ? 'open' : 'idle', previousUsername: state?.rotation ? state.active : undefined, rotationId: state?.rotation?.id }, [], []);
    const roles = [obs.group ? [cfg.role, obs.group.canLogin] : null, ...cfg.logins.map((l) => (obs.logins[l] ? [l, obs.logins[l].canLogin] : null))].filter(Boolean);
    const report = {
        group: cfg.role,
        state: state ? (state.rotation ? 'open' : 'idle') : obs.state.kind === 'invalid' ? 'unreadable' : 'not set up',
        description: describeState(state),
        active: state?.active ?? null,
        canLogin: Object.fromEntries(roles),
        rotation: state?.rotation ?? null,
        lastClosed: state?.lastClosed ?? null,
        lastAborted: state?.lastAborted ?? null,
        passwordSetAt: state?.passwordSetAt ?? {},
        sessions: result.sessions.map((s) => ({ login: s.login, server: s.server ?? 'primary', database: s.database, applicationName: s.applicationName, clientAddr: s.clientAddr, count: s.count })),
        drift,
    };
    if (drift.length)
        deps.reporter.warning(`Drift: ${drift.map((d) => `${d.role}: ${d.detail}`).join('; ')}`);
    return { ...result, status: report };
}

;// CONCATENATED MODULE: ./src/phases/unseal.ts

/**
 * Opens sealed-credentials (from setup or open in another job) and emits
 * username, password and database-url, the secrets masked first. Needs no database.
 */
function unseal(cfg, reporter) {
    const { creds, binding } = (0,seal/* unsealCredentials */.nS)(cfg.sealedCredentials, cfg.sealKey, { family: cfg.role, rotationId: cfg.rotationId ?? undefined });
    reporter.secret(creds.password);
    reporter.secret(creds.databaseUrl);
    return {
        phase: 'unseal',
        group: cfg.role,
        outputs: { username: creds.username, password: creds.password, databaseUrl: creds.databaseUrl, rotationId: binding.rotationId === 'setup' ? undefined : binding.rotationId },
        changes: [],
        notes: [`Unsealed the credentials of "${creds.username}" (${binding.rotationId === 'setup' ? 'issued by setup' : `rotation ${binding.rotationId}`}).`],
        roles: { group: null, logins: [] },
        sessions: [],
        offline: true,
    };
}

// EXTERNAL MODULE: ./src/duration.ts
var duration = __webpack_require__(7607);
;// CONCATENATED MODULE: ./src/phases/verify-drain.ts










/**
 * Polls pg_stat_activity (every database, the primary and each replica) until
 * the outgoing login has no sessions (and the incoming one has
 * min-new-connections), or the timeout. Each poll is its own statement outside
 * any transaction, after clearing the stats snapshot, so it sees fresh
 * activity. Reconnects if a server restarts while waiting.
 */
async function verifyDrain(cfg, deps) {
    const { reporter } = deps;
    const obs = await observe(deps.session.client, { group: cfg.role, logins: cfg.logins });
    const target = planDrain(obs, cfg);
    if (target.kind === 'noop') {
        const last = target.state.lastClosed;
        return finish(cfg, deps, { previousUsername: last.previous ?? otherLogin(target.state, last.active), rotationId: last.id, state: 'idle', remainingConnections: 0, drained: true }, [], [`Nothing to do: ${target.reason}.`]);
    }
    const { outgoing, incoming } = target;
    const missing = cfg.terminateAfterMs !== null ? missingPrivilege(obs, cfg.role, [], true) : null;
    if (missing) {
        throw new errors/* DatabaseError */.a$(`The admin role lacks ${missing.privilege}, which terminate-after needs; nothing was changed.`, `Grant it (as a superuser or a role that may): ${missing.grant};`, '42501');
    }
    const start = deps.now().getTime();
    const deadline = start + cfg.timeoutMs;
    let sessions = [];
    let polls = 0;
    let terminated = 0;
    const notes = [];
    const where = deps.replicas.count ? ` on the primary and ${deps.replicas.count} replica(s)` : '';
    reporter.info(`Waiting up to ${(0,duration/* formatDuration */.a)(cfg.timeoutMs)} for "${outgoing}" to drain${where} (polling every ${(0,duration/* formatDuration */.a)(cfg.intervalMs)})${cfg.minNewConnections ? ` and for "${incoming}" to reach ${cfg.minNewConnections} sessions` : ''}.`);
    for (;;) {
        try {
            await deps.session.client.query(CLEAR_STATS_SNAPSHOT);
            sessions = await readSessions(deps.session.client, [outgoing, incoming]);
            if (deps.replicas.count)
                sessions.push(...(await deps.replicas.sessions([outgoing, incoming])));
        }
        catch (e) {
            if (!isConnectionLost(e) || deps.now().getTime() >= deadline)
                throw e;
            reporter.warning(`Lost a connection while polling (${e.message}); reconnecting.`);
            await reconnectUntil(deps, deadline);
            continue;
        }
        polls++;
        const old = (0,family/* sessionCount */.y)(sessions, outgoing);
        const fresh = (0,family/* sessionCount */.y)(sessions, incoming);
        const elapsed = deps.now().getTime() - start;
        reporter.info(`poll ${polls} at ${(0,duration/* formatDuration */.a)(elapsed)}: "${outgoing}" ${(0,family/* describeSessions */.P)(sessions, outgoing)}, "${incoming}" ${(0,family/* describeSessions */.P)(sessions, incoming)}`);
        if (old === 0 && fresh >= cfg.minNewConnections)
            break;
        const terminating = old > 0 && cfg.terminateAfterMs !== null && elapsed >= cfg.terminateAfterMs;
        if (terminating) {
            const n = await terminateEverywhere(outgoing, deps);
            terminated += n;
            reporter.warning(`terminate-after (${(0,duration/* formatDuration */.a)(cfg.terminateAfterMs)}) reached: signalled ${n} sessions of "${outgoing}" to terminate.`);
        }
        const now = deps.now().getTime();
        if (now >= deadline)
            break;
        // After signalling terminations, look again soon to confirm they are gone.
        await deps.sleep(Math.min(terminating ? Math.min(cfg.intervalMs, 200) : cfg.intervalMs, deadline - now));
    }
    const remaining = (0,family/* sessionCount */.y)(sessions, outgoing);
    const fresh = (0,family/* sessionCount */.y)(sessions, incoming);
    const drained = remaining === 0 && fresh >= cfg.minNewConnections;
    if (terminated)
        notes.push(`Terminated ${terminated} sessions of "${outgoing}" after ${(0,duration/* formatDuration */.a)(cfg.terminateAfterMs)}.`);
    let failure;
    if (!drained) {
        const why = remaining > 0
            ? `"${outgoing}" still has ${(0,family/* describeSessions */.P)(sessions, outgoing)} sessions after ${(0,duration/* formatDuration */.a)(cfg.timeoutMs)}`
            : `"${incoming}" has ${fresh} sessions, fewer than min-new-connections (${cfg.minNewConnections}), after ${(0,duration/* formatDuration */.a)(cfg.timeoutMs)}`;
        failure = `Not drained: ${why}. The rotation stays open. Check that every deploy uses the new credentials, then run verify-drain again, close with terminate: true, or abort.`;
        for (const s of sessions.filter((x) => x.login === outgoing)) {
            const server = s.server && s.server !== 'primary' ? ` on replica ${s.server}` : '';
            reporter.warning(`remaining: ${s.count} session(s) of "${s.login}" on database ${s.database ?? '(none)'}${server} from ${s.clientAddr ?? 'local socket'} (application_name '${s.applicationName}')`);
        }
    }
    else {
        notes.push(`Drained after ${(0,duration/* formatDuration */.a)(deps.now().getTime() - start)} (${polls} polls).`);
    }
    return finish(cfg, deps, { previousUsername: outgoing, rotationId: target.rotationId, state: 'open', remainingConnections: remaining, drained }, [], notes, failure);
}
async function reconnectUntil(deps, deadline) {
    let delay = 250;
    for (;;) {
        try {
            await deps.session.renew();
            return;
        }
        catch (e) {
            if (deps.now().getTime() + delay >= deadline)
                throw e;
            deps.reporter.info(`Reconnect failed (${e.message}); retrying in ${(0,duration/* formatDuration */.a)(delay)}.`);
            await deps.sleep(delay);
            delay = Math.min(delay * 2, 5000);
        }
    }
}

// EXTERNAL MODULE: ./node_modules/pg-connection-string/esm/index.mjs
var pg_connection_string_esm = __webpack_require__(984);
;// CONCATENATED MODULE: ./src/replicas.ts




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
    async #client(i) {
        const existing = this.#clients[i];
        if (existing)
            return existing;
        const c = await connect(this.targets[i], `replica ${this.labels[i]} (replica-urls line ${i + 1})`, { applicationName: this.applicationName });
        this.#clients[i] = c;
        return c;
    }
    /** Runs fn on every replica; a lost connection is reopened once. */
    async #each(fn) {
        const out = [];
        for (let i = 0; i < this.targets.length; i++) {
            try {
                out.push(await fn(await this.#client(i), this.labels[i]));
            }
            catch (e) {
                if (!isConnectionLost(e))
                    throw e;
                await db_close(this.#clients[i]);
                this.#clients[i] = null;
                out.push(await fn(await this.#client(i), this.labels[i]));
            }
        }
        return out;
    }
    async sessions(logins) {
        const all = await this.#each(async (c, label) => {
            await c.query(CLEAR_STATS_SNAPSHOT);
            return readSessions(c, logins, label);
        });
        return all.flat();
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

;// CONCATENATED MODULE: ./src/session.ts

/**
 * The admin connection of a phase. A phase that loses it (server restart,
 * network) opens a new one with renew() and carries on.
 */
class AdminSession {
    target;
    applicationName;
    what;
    #client = null;
    constructor(target, applicationName, what = 'admin connection (admin-url)') {
        this.target = target;
        this.applicationName = applicationName;
        this.what = what;
    }
    get client() {
        if (!this.#client)
            throw new Error('internal: admin session is not connected');
        return this.#client;
    }
    async open() {
        this.#client = await connect(this.target, this.what, { applicationName: this.applicationName });
        return this.#client;
    }
    async renew() {
        await db_close(this.#client);
        this.#client = null;
        return this.open();
    }
    /** A connection to the same server with the same credentials but another database. */
    async forDatabase(database) {
        return connect(this.target, `${this.what}, database "${database}"`, { applicationName: this.applicationName, database });
    }
    async end() {
        await db_close(this.#client);
        this.#client = null;
    }
}

;// CONCATENATED MODULE: ./src/rotate.ts










const PHASES = { setup: setup, open: open_open, 'verify-drain': verifyDrain, close: closePhase, abort: abort, status: status_status };
/** How long the first connection may keep failing transiently (server starting, network blip). */
const CONNECT_BUDGET_MS = 30_000;
/** Runs one phase against the admin connection. The entry point for every front end. */
async function runPhase(cfg, opts) {
    if (cfg.phase === 'unseal')
        return unseal(cfg, opts.reporter);
    const phase = cfg.phase;
    const applicationName = `pg-credential-rotation/${cfg.phase}${cfg.run.runId ? ` run ${cfg.run.runId}` : ''}`.slice(0, 63);
    const session = new AdminSession(cfg.admin, applicationName);
    const deps = {
        reporter: opts.reporter,
        now: opts.now ?? (() => new Date()),
        sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        session,
        replicas: Replicas.create(cfg.replicas, applicationName),
    };
    try {
        await connectWithRetry(session, deps);
        return await PHASES[phase](cfg, deps);
    }
    finally {
        await session.end();
        await deps.replicas.end();
    }
}
async function connectWithRetry(session, deps) {
    const deadline = deps.now().getTime() + CONNECT_BUDGET_MS;
    let delay = 250;
    for (;;) {
        try {
            await session.open();
            return;
        }
        catch (e) {
            // A refused connection is retried only while the server may be restarting (57P03) or briefly gone.
            const code = e.code;
            const transient = code === '57P03' || (isRetryable(e) && code !== 'ECONNREFUSED' && code !== 'ENOTFOUND');
            if (!transient || deps.now().getTime() + delay > deadline)
                throw e;
            deps.reporter.warning(`Connecting failed (${e.message}); retrying in ${delay}ms.`);
            await deps.sleep(delay);
            delay = Math.min(delay * 2, 5000);
        }
    }
}


/***/ })

};
