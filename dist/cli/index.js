import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 7593:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   Zy: () => (/* binding */ parseArgs),
/* harmony export */   eb: () => (/* binding */ UsageError),
/* harmony export */   pD: () => (/* binding */ envName)
/* harmony export */ });
/* harmony import */ var _inputs_generated_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(4022);
/**
 * The command line: `pg-credential-rotation <phase> [--<input> <value>]…` plus the CLI's own
 * options. Every input of action.yml is a flag of the same name (CLI_INPUTS, generated from
 * action.yml); values are checked later by the same parser the action uses (parseConfig).
 */

/** The variable that gives an input: seal-key -> PG_ROTATION_SEAL_KEY. */
function envName(input) {
    return `PG_ROTATION_${input.toUpperCase().replace(/-/g, '_')}`;
}
/** A command line the CLI cannot run: exit status 2, before anything is read or changed. */
class UsageError extends Error {
    flag;
    constructor(message, 
    /** The flag at fault, without its dashes. */
    flag) {
        super(message);
        this.flag = flag;
        this.name = 'UsageError';
    }
}
/** The CLI's own switches (not inputs of the action). */
const SWITCHES = { json: 'json', 'show-secrets': 'showSecrets', verbose: 'verbose' };
/** Inputs that hold a list: a repeated flag adds a line. */
const LISTS = new Set(['replica-urls', 'pgbouncer-urls', 'github-secrets']);
const BOOLEAN_TEXT = /^(true|True|TRUE|false|False|FALSE)$/;
function parseArgs(argv) {
    const inputs = new Map();
    const switches = { json: false, showSecrets: false, verbose: false };
    let phase;
    let help = false;
    let version = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '-h' || arg === '--help')
            help = true;
        else if (arg === '-V' || arg === '--version')
            version = true;
        else if (!arg.startsWith('-')) {
            if (phase !== undefined)
                throw new UsageError(`unexpected argument '${arg}': give one phase, then --<input> <value> pairs`);
            phase = arg;
        }
        else {
            const eq = arg.indexOf('=');
            const name = arg.startsWith('--') ? arg.slice(2, eq >= 0 ? eq : undefined) : arg;
            const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
            if (name in SWITCHES) {
                switches[SWITCHES[name]] = inline === undefined ? true : switchValue(name, inline);
                continue;
            }
            const input = inputFlag(name);
            let value;
            if (inline !== undefined)
                value = inline;
            else if (input.boolean)
                value = BOOLEAN_TEXT.test(argv[i + 1] ?? '') ? argv[++i] : 'true';
            else {
                const next = argv[i + 1];
                if (next === undefined || /^--[a-z]/.test(next))
                    throw new UsageError(`option '--${name}' needs a value (use --${name}=<value> for one that starts with --)`, name);
                value = next;
                i++;
            }
            addInput(inputs, name, value);
        }
    }
    if (version)
        return { kind: 'version' };
    if (help)
        return { kind: 'help', phase: phase && isPhase(phase) ? phase : undefined };
    if (phase === undefined)
        throw new UsageError(`no phase given; use one of ${_inputs_generated_js__WEBPACK_IMPORTED_MODULE_0__/* .CLI_PHASES */ .m.join(', ')}`);
    if (!isPhase(phase))
        throw new UsageError(`'${phase}' is not a phase; use one of ${_inputs_generated_js__WEBPACK_IMPORTED_MODULE_0__/* .CLI_PHASES */ .m.join(', ')}`);
    return { kind: 'run', phase, inputs: Object.fromEntries(inputs), ...switches };
}
function isPhase(text) {
    return _inputs_generated_js__WEBPACK_IMPORTED_MODULE_0__/* .CLI_PHASES */ .m.includes(text);
}
/** The input a `--<name>` stands for; a usage error naming the flag when there is none. */
function inputFlag(name) {
    if (name === 'phase')
        throw new UsageError('the phase is the first argument, not a flag: pg-credential-rotation <phase> …', 'phase');
    const input = _inputs_generated_js__WEBPACK_IMPORTED_MODULE_0__/* .CLI_INPUTS */ .d.find((i) => i.name === name);
    if (!input) {
        const shown = name.startsWith('-') ? name : `--${name}`;
        throw new UsageError(`unknown option '${shown}'`, name);
    }
    return input;
}
function addInput(inputs, name, value) {
    const before = inputs.get(name);
    if (before === undefined)
        inputs.set(name, value);
    else if (LISTS.has(name))
        inputs.set(name, `${before}\n${value}`);
    else
        throw new UsageError(`option '--${name}' is given twice`, name);
}
function switchValue(name, text) {
    if (!BOOLEAN_TEXT.test(text))
        throw new UsageError(`option '--${name}' takes true or false (got '${text}')`, name);
    return text.toLowerCase() === 'true';
}


/***/ }),

/***/ 7911:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   A: () => (/* binding */ BIN),
/* harmony export */   W: () => (/* binding */ renderHelp)
/* harmony export */ });
/* harmony import */ var _args_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(7593);
/* harmony import */ var _inputs_generated_js__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(4022);
/** `--help`: the phases and every flag with its default and phases, from action.yml (CLI_INPUTS). */


const BIN = 'pg-credential-rotation';
const WIDTH = 80;
/** The whole help, or (with a phase) only the flags that phase reads. */
function renderHelp(phase) {
    const inputs = phase ? _inputs_generated_js__WEBPACK_IMPORTED_MODULE_1__/* .CLI_INPUTS */ .d.filter((i) => i.phases.includes(phase)) : _inputs_generated_js__WEBPACK_IMPORTED_MODULE_1__/* .CLI_INPUTS */ .d;
    const out = [
        `Usage: ${BIN} <phase> [--<input> <value>]… [--json] [--show-secrets]`,
        '',
        ...wrap("Rotates a PostgreSQL application's password without an outage: a NOLOGIN group role owns everything, two login roles take turns, and the old login is disabled only after its sessions have drained. The same phases, inputs and state as the GitHub Action.", 0),
        '',
        `Phases, in a rotation's order: ${_inputs_generated_js__WEBPACK_IMPORTED_MODULE_1__/* .CLI_PHASES */ .m.join(', ')}.`,
        '',
        phase ? `Inputs read by ${phase}:` : 'Inputs (each input of the action is a flag of the same name):',
    ];
    for (const i of inputs) {
        const value = i.boolean ? ' [true|false]' : ' <value>';
        const facts = [
            i.required ? 'required' : `default: ${i.default === '' ? "''" : i.default}`,
            `phases: ${i.phases.length === _inputs_generated_js__WEBPACK_IMPORTED_MODULE_1__/* .CLI_PHASES */ .m.length ? 'all' : i.phases.join(', ')}`,
        ];
        out.push(`  --${i.name}${value}  (${facts.join('; ')})`, ...wrap(i.text, 6));
    }
    out.push('', 'Options:', '  --json            print one JSON object on stdout: phase, ok, outputs (the', "                    action's output names, secrets included), changes, notes, error", '  --show-secrets    print the new password and database-url instead of ***', '  --verbose         also print the statements executed and debug lines (secrets redacted)', `  -h, --help        this text; '${BIN} <phase> --help' lists that phase's inputs`, '  -V, --version     print the version', '', 'Environment:', ...wrap('PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY give the admin connection when --admin-url is absent, as for psql.', 2), ...wrap(`${(0,_args_js__WEBPACK_IMPORTED_MODULE_0__/* .envName */ .pD)('<input>')} gives any input (${(0,_args_js__WEBPACK_IMPORTED_MODULE_0__/* .envName */ .pD)('seal-key')}, ${(0,_args_js__WEBPACK_IMPORTED_MODULE_0__/* .envName */ .pD)('admin-url')}): secrets stay out of the process list and shell history. A flag wins over its variable.`, 2), '', 'Exit status: 0 done, or nothing to do; 1 failed or refused; 2 usage error.', '');
    return out.join('\n');
}
function wrap(text, indent) {
    const pad = ' '.repeat(indent);
    const out = [];
    let line = '';
    for (const word of text.split(/\s+/)) {
        if (line && pad.length + line.length + 1 + word.length > WIDTH) {
            out.push(pad + line);
            line = word;
        }
        else
            line = line ? `${line} ${word}` : word;
    }
    if (line)
        out.push(pad + line);
    return out;
}


/***/ }),

/***/ 486:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _package_json__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(8330);
/* harmony import */ var _args_js__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(7593);
/* harmony import */ var _help_js__WEBPACK_IMPORTED_MODULE_2__ = __nccwpck_require__(7911);
/* harmony import */ var _postgres_no_native_js__WEBPACK_IMPORTED_MODULE_3__ = __nccwpck_require__(3578);
/**
 * The command-line entry (bin pg-credential-rotation, dist/cli.js). --help and --version
 * answer from this small module; the phases, pg and the rest load only for a run.
 */




async function main(argv) {
    (0,_postgres_no_native_js__WEBPACK_IMPORTED_MODULE_3__/* .refuseNativeDriver */ .E)();
    let cmd;
    try {
        cmd = (0,_args_js__WEBPACK_IMPORTED_MODULE_1__/* .parseArgs */ .Zy)(argv);
    }
    catch (e) {
        if (!(e instanceof _args_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb))
            throw e;
        const { usageError } = await __nccwpck_require__.e(/* import() */ 697).then(__nccwpck_require__.bind(__nccwpck_require__, 697));
        const phase = argv.find((a) => !a.startsWith('-')) ?? '';
        return usageError({ stdout: process.stdout, stderr: process.stderr, env: process.env }, phase, e.message, argv.includes('--json'));
    }
    if (cmd.kind === 'version') {
        process.stdout.write(`${_package_json__WEBPACK_IMPORTED_MODULE_0__/* .version */ .rE}\n`);
        return 0;
    }
    if (cmd.kind === 'help') {
        process.stdout.write((0,_help_js__WEBPACK_IMPORTED_MODULE_2__/* .renderHelp */ .W)(cmd.phase));
        return 0;
    }
    const { runCommand } = await __nccwpck_require__.e(/* import() */ 697).then(__nccwpck_require__.bind(__nccwpck_require__, 697));
    return runCommand(cmd, { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
process.exitCode = await main(process.argv.slice(2));

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 4022:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   d: () => (/* binding */ CLI_INPUTS),
/* harmony export */   m: () => (/* binding */ CLI_PHASES)
/* harmony export */ });
// Generated from action.yml by `npm run docs` (scripts/docs.mjs); edit action.yml, not this file.
// test/cli/help.test.ts fails when it is stale.
const CLI_PHASES = ["setup", "open", "verify-drain", "close", "abort", "status", "unseal"];
const CLI_INPUTS = [
    {
        "name": "admin-url",
        "text": "Connection URI of an administrative role (superuser, or CREATEROLE as on managed services), from a secret. URI parameters follow libpq (sslmode=verify-full, sslrootcert=..., channel_binding=require, require_auth=scram-sha-256); one the action cannot honour is refused (docs/security.md). When empty, PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE apply. Always masked.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "open",
            "verify-drain",
            "close",
            "abort",
            "status"
        ]
    },
    {
        "name": "role",
        "text": "The NOLOGIN group role that owns the objects, e.g. app.",
        "required": true,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "open",
            "verify-drain",
            "close",
            "abort",
            "status",
            "unseal"
        ]
    },
    {
        "name": "login-roles",
        "text": "The two alternating login roles, comma-separated. Empty: <role>_a,<role>_b.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "open",
            "verify-drain",
            "close",
            "abort",
            "status"
        ]
    },
    {
        "name": "app-url",
        "text": "Where the application connects (e.g. through a pooler), without credentials; used to build the database-url output. Empty: host, port, database, sslmode and other parameters of the admin connection, without what names a runner file or the admin (sslrootcert, sslcert, sslkey, sslpassword, sslcrl, passfile, service, application_name); a notice says what was left out. Set it when the application connects elsewhere (a pooler, a private address) or needs TLS files of its own.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "open"
        ]
    },
    {
        "name": "password-length",
        "text": "Length of generated passwords, at least 16.",
        "required": false,
        "default": "32",
        "boolean": false,
        "phases": [
            "setup",
            "open"
        ]
    },
    {
        "name": "password-encryption",
        "text": "scram-sha-256: compute the SCRAM verifier in the action and send only the verifier, so the password never reaches server logs. server: send the plaintext password for the server to hash; it then reaches the server log (and statement-capturing extensions such as pgaudit) whenever statements are logged (log_statement = ddl or all, log_min_duration_statement) or that statement fails (log_min_error_statement), so use it only for services that refuse verifiers. A statement that carries a password or verifier is always sent alone, never with other statements whose failure would log it. Also applies to the random passwords close and abort set.",
        "required": false,
        "default": "scram-sha-256",
        "boolean": false,
        "phases": [
            "setup",
            "open",
            "close",
            "abort"
        ]
    },
    {
        "name": "timeout",
        "text": "How long verify-drain waits for the old login's sessions to end (90s, 10m, 1h, 1h30m, or seconds).",
        "required": false,
        "default": "15m",
        "boolean": false,
        "phases": [
            "verify-drain"
        ]
    },
    {
        "name": "interval",
        "text": "How often verify-drain looks.",
        "required": false,
        "default": "5s",
        "boolean": false,
        "phases": [
            "verify-drain"
        ]
    },
    {
        "name": "terminate-after",
        "text": "After this long, terminate the old login's remaining sessions and confirm they are gone, under the family's lock and only while the rotation is still open (the admin needs what close needs, and pg_signal_backend). Empty: never.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "verify-drain"
        ]
    },
    {
        "name": "min-new-connections",
        "text": "Also wait until the new login has at least this many sessions (proof that the application switched).",
        "required": false,
        "default": "0",
        "boolean": false,
        "phases": [
            "verify-drain"
        ]
    },
    {
        "name": "terminate",
        "text": "close: terminate the sessions of the old login that are still connected, right after the commit, also those that logged in while close ran. abort (with force): terminate the sessions of the aborted (incoming) login.",
        "required": false,
        "default": "false",
        "boolean": true,
        "phases": [
            "close",
            "abort"
        ]
    },
    {
        "name": "force",
        "text": "close: close even though sessions of the old login remain (they run on until they disconnect). abort: disable the incoming login although it has sessions (a deploy already uses it: move the application back to the previous credentials first) or close already wrote its credentials to GitHub secrets. open: on a re-run by the opening workflow run without seal-key, issue a new password to the incoming login (a deploy that received the first one can no longer log in).",
        "required": false,
        "default": "false",
        "boolean": true,
        "phases": [
            "open",
            "close",
            "abort"
        ]
    },
    {
        "name": "rotation-id",
        "text": "Refuse to act on any rotation but this one (the rotation-id output of open); unseal: refuse credentials sealed for any other rotation.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "verify-drain",
            "close",
            "abort",
            "unseal"
        ]
    },
    {
        "name": "adopt",
        "text": "Turn the existing single login named by role into the group role (it keeps working until the first rotation closes) instead of refusing to touch a role that can log in.",
        "required": false,
        "default": "false",
        "boolean": true,
        "phases": [
            "setup"
        ]
    },
    {
        "name": "fix-ownership",
        "text": "Move objects owned by the login roles to the group role (REASSIGN OWNED, database by database).",
        "required": false,
        "default": "false",
        "boolean": true,
        "phases": [
            "setup"
        ]
    },
    {
        "name": "replica-urls",
        "text": "Connection URIs of read replicas (streaming standbys of admin-url's server), one per line (# comments allowed). Their sessions count too (pg_stat_activity only shows its own server). setup and open check that each answers and is a standby before changing anything; setup, open, close and abort wait until each has replayed their commit (up to replica-timeout), and setup and open log in there with the new credentials before reporting them. Masked.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "open",
            "verify-drain",
            "close",
            "abort",
            "status"
        ]
    },
    {
        "name": "replica-timeout",
        "text": "How long to wait for every replica of replica-urls to replay the phase's commit, e.g. 1m, 90s. Past it the phase fails, saying what was committed and how far each replica lags.",
        "required": false,
        "default": "1m",
        "boolean": false,
        "phases": [
            "setup",
            "open",
            "close",
            "abort"
        ]
    },
    {
        "name": "pgbouncer-urls",
        "text": "Admin console URIs of every PgBouncer (or console-compatible pooler) in front of the database, one per line or comma-separated, e.g. postgresql://stats:PASSWORD@pgbouncer-1:6432/pgbouncer. The old login then counts as drained only when no pooler has a client logged in as it, and close ends its idle pooled server connections. A pooler that cannot be read fails the phase, changing nothing (verify-drain: at its first look; later, a poll is never drained while one cannot be read). See docs/poolers.md. Masked.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "verify-drain",
            "close",
            "abort",
            "status"
        ]
    },
    {
        "name": "seal-key",
        "text": "A passphrase of at least 16 characters, from a secret. setup and open then also emit sealed-credentials; unseal and close open them. Masked.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "open",
            "unseal",
            "close"
        ]
    },
    {
        "name": "sealed-credentials",
        "text": "The sealed-credentials output of setup or open, passed from another job.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "unseal",
            "close"
        ]
    },
    {
        "name": "github-token",
        "text": "A fine-grained token or GitHub App token with Secrets: write, used to write the new credentials to GitHub secrets (the workflow's GITHUB_TOKEN cannot write secrets). Masked.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "close"
        ]
    },
    {
        "name": "github-secrets",
        "text": "Which secrets to write, one SECRET_NAME=output per line (output: username, password or database-url). close writes them before it disables the old login.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "close"
        ]
    },
    {
        "name": "github-environment",
        "text": "Write the secrets of this environment instead of repository secrets.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "close"
        ]
    },
    {
        "name": "github-repository",
        "text": "owner/name of the repository whose secrets are written. Empty: the current one.",
        "required": false,
        "default": "",
        "boolean": false,
        "phases": [
            "setup",
            "close"
        ]
    }
];


/***/ }),

/***/ 3578:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   E: () => (/* binding */ refuseNativeDriver)
/* harmony export */ });
/**
 * node-postgres loads its native binding (`pg-native`, found through NODE_PATH or any
 * node_modules above the bundle) instead of its JavaScript client when NODE_PG_FORCE_NATIVE
 * is set. The action bundles the JavaScript client and has checked it: a module found on
 * the runner's disk must never receive the admin connection. Called by every front end
 * before anything imports pg.
 */
function refuseNativeDriver(env = process.env) {
    delete env.NODE_PG_FORCE_NATIVE;
}


/***/ }),

/***/ 2613:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("assert");

/***/ }),

/***/ 6982:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("crypto");

/***/ }),

/***/ 2250:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("dns");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");

/***/ }),

/***/ 8611:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("http");

/***/ }),

/***/ 5692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("https");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("net");

/***/ }),

/***/ 4589:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:assert");

/***/ }),

/***/ 6698:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:async_hooks");

/***/ }),

/***/ 4573:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:buffer");

/***/ }),

/***/ 7540:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:console");

/***/ }),

/***/ 7598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 3053:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:diagnostics_channel");

/***/ }),

/***/ 610:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:dns");

/***/ }),

/***/ 8474:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:events");

/***/ }),

/***/ 3024:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");

/***/ }),

/***/ 7067:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http");

/***/ }),

/***/ 2467:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http2");

/***/ }),

/***/ 1376:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:module");

/***/ }),

/***/ 7030:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");

/***/ }),

/***/ 6760:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");

/***/ }),

/***/ 643:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:perf_hooks");

/***/ }),

/***/ 1792:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:querystring");

/***/ }),

/***/ 7075:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream");

/***/ }),

/***/ 1692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");

/***/ }),

/***/ 3136:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");

/***/ }),

/***/ 7975:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");

/***/ }),

/***/ 3429:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util/types");

/***/ }),

/***/ 5919:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");

/***/ }),

/***/ 8522:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");

/***/ }),

/***/ 857:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("os");

/***/ }),

/***/ 6928:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("path");

/***/ }),

/***/ 2203:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("stream");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tls");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util");

/***/ }),

/***/ 8253:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util/types");

/***/ }),

/***/ 8330:
/***/ ((module) => {

module.exports = {"rE":"1.0.0"};

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/******/ // expose the modules object (__webpack_modules__)
/******/ __nccwpck_require__.m = __webpack_modules__;
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/compat get default export */
/******/ (() => {
/******/ 	// getDefaultExport function for compatibility with non-harmony modules
/******/ 	__nccwpck_require__.n = (module) => {
/******/ 		var getter = module && module.__esModule ?
/******/ 			() => (module['default']) :
/******/ 			() => (module);
/******/ 		__nccwpck_require__.d(getter, { a: getter });
/******/ 		return getter;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/ensure chunk */
/******/ (() => {
/******/ 	__nccwpck_require__.f = {};
/******/ 	// This file contains only the entry chunk.
/******/ 	// The chunk loading function for additional chunks
/******/ 	__nccwpck_require__.e = (chunkId) => {
/******/ 		return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 			__nccwpck_require__.f[key](chunkId, promises);
/******/ 			return promises;
/******/ 		}, []));
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/get javascript chunk filename */
/******/ (() => {
/******/ 	// This function allow to reference async chunks
/******/ 	__nccwpck_require__.u = (chunkId) => {
/******/ 		// return url for filenames based on template
/******/ 		return "" + chunkId + ".index.js";
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/import chunk loading */
/******/ (() => {
/******/ 	// no baseURI
/******/ 	
/******/ 	// object to store loaded and loading chunks
/******/ 	// undefined = chunk not loaded, null = chunk preloaded/prefetched
/******/ 	// [resolve, Promise] = chunk loading, 0 = chunk loaded
/******/ 	var installedChunks = {
/******/ 		792: 0
/******/ 	};
/******/ 	
/******/ 	var installChunk = (data) => {
/******/ 		var {ids, modules, runtime} = data;
/******/ 		// add "modules" to the modules object,
/******/ 		// then flag all "ids" as loaded and fire callback
/******/ 		var moduleId, chunkId, i = 0;
/******/ 		for(moduleId in modules) {
/******/ 			if(__nccwpck_require__.o(modules, moduleId)) {
/******/ 				__nccwpck_require__.m[moduleId] = modules[moduleId];
/******/ 			}
/******/ 		}
/******/ 		if(runtime) runtime(__nccwpck_require__);
/******/ 		for(;i < ids.length; i++) {
/******/ 			chunkId = ids[i];
/******/ 			if(__nccwpck_require__.o(installedChunks, chunkId) && installedChunks[chunkId]) {
/******/ 				installedChunks[chunkId][0]();
/******/ 			}
/******/ 			installedChunks[ids[i]] = 0;
/******/ 		}
/******/ 	
/******/ 	}
/******/ 	
/******/ 	__nccwpck_require__.f.j = (chunkId, promises) => {
/******/ 			// import() chunk loading for javascript
/******/ 			var installedChunkData = __nccwpck_require__.o(installedChunks, chunkId) ? installedChunks[chunkId] : undefined;
/******/ 			if(installedChunkData !== 0) { // 0 means "already installed".
/******/ 	
/******/ 				// a Promise means "currently loading".
/******/ 				if(installedChunkData) {
/******/ 					promises.push(installedChunkData[1]);
/******/ 				} else {
/******/ 					if(true) { // all chunks have JS
/******/ 						// setup Promise in chunk cache
/******/ 						var promise = import("./" + __nccwpck_require__.u(chunkId)).then(installChunk, (e) => {
/******/ 							if(installedChunks[chunkId] !== 0) installedChunks[chunkId] = undefined;
/******/ 							throw e;
/******/ 						});
/******/ 						var promise = Promise.race([promise, new Promise((resolve) => (installedChunkData = installedChunks[chunkId] = [resolve]))])
/******/ 						promises.push(installedChunkData[1] = promise);
/******/ 					}
/******/ 				}
/******/ 			}
/******/ 	};
/******/ 	
/******/ 	// no prefetching
/******/ 	
/******/ 	// no preloaded
/******/ 	
/******/ 	// no external install chunk
/******/ 	
/******/ 	// no on chunks loaded
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(486);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
