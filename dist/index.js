/******/ (() => { // webpackBootstrap
/******/ 	"use strict";
/******/ 	var __webpack_modules__ = ({

/***/ 6122:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



//Parse method copied from https://github.com/brianc/node-postgres
//Copyright (c) 2010-2014 Brian Carlson (brian.m.carlson@gmail.com)
//MIT License

//parses a connection string
function parse(str, options = {}) {
  //unix socket
  if (str.charAt(0) === '/') {
    const config = str.split(' ')
    return { host: config[0], database: config[1] }
  }

  // Check for empty host in URL

  const config = Object.create(null)
  let result
  let dummyHost = false
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(str)) {
    // Ensure spaces are encoded as %20
    str = encodeURI(str).replace(/%25(\d\d)/g, '%$1')
  }

  try {
    try {
      result = new URL(str, 'postgres://base')
    } catch (e) {
      // The URL is invalid so try again with a dummy host
      result = new URL(str.replace('@/', '@___DUMMY___/'), 'postgres://base')
      dummyHost = true
    }
  } catch (err) {
    // Remove the input from the error message to avoid leaking sensitive information
    err.input && (err.input = '*****REDACTED*****')
    throw err
  }

  // We'd like to use Object.fromEntries() here but Node.js 10 does not support it
  for (const entry of result.searchParams.entries()) {
    config[entry[0]] = entry[1]
  }

  config.user = config.user || decodeURIComponent(result.username)
  config.password = config.password || decodeURIComponent(result.password)

  if (result.protocol == 'socket:') {
    config.host = decodeURI(result.pathname)
    config.database = result.searchParams.get('db')
    config.client_encoding = result.searchParams.get('encoding')
    return config
  }
  const hostname = (dummyHost ? '' : result.hostname).replace(/^\[(.+)\]$/, '$1')
  if (!config.host) {
    // Only set the host if there is no equivalent query param.
    config.host = decodeURIComponent(hostname)
  } else if (hostname && /^%2f/i.test(hostname)) {
    // Only prepend the hostname to the pathname if it is not a URL encoded Unix socket host.
    result.pathname = hostname + result.pathname
  }
  if (!config.port) {
    // Only set the port if there is no equivalent query param.
    config.port = result.port
  }

  const pathname = result.pathname.slice(1) || null
  config.database = pathname ? decodeURI(pathname) : null

  if (config.ssl === 'true' || config.ssl === '1') {
    config.ssl = true
  }

  if (config.ssl === '0') {
    config.ssl = false
  }

  if (config.sslcert || config.sslkey || config.sslrootcert || config.sslmode) {
    config.ssl = {}
  }

  // sslnegotiation=direct implies SSL is in use (libpq requires sslmode>=require),
  // so enable SSL if the connection string did not otherwise configure it.
  if (config.sslnegotiation === 'direct' && config.ssl === undefined) {
    config.ssl = true
  }

  // Only try to load fs if we expect to read from the disk
  const fs = config.sslcert || config.sslkey || config.sslrootcert ? __nccwpck_require__(9896) : null

  if (config.sslcert) {
    config.ssl.cert = fs.readFileSync(config.sslcert).toString()
  }

  if (config.sslkey) {
    config.ssl.key = fs.readFileSync(config.sslkey).toString()
  }

  if (config.sslrootcert) {
    config.ssl.ca = fs.readFileSync(config.sslrootcert).toString()
  }

  if (options.useLibpqCompat && config.uselibpqcompat) {
    throw new Error('Both useLibpqCompat and uselibpqcompat are set. Please use only one of them.')
  }

  if (config.uselibpqcompat === 'true' || options.useLibpqCompat) {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer': {
        config.ssl.rejectUnauthorized = false
        break
      }
      case 'require': {
        if (config.sslrootcert) {
          // If a root CA is specified, behavior of `sslmode=require` will be the same as that of `verify-ca`
          config.ssl.checkServerIdentity = function () {}
        } else {
          config.ssl.rejectUnauthorized = false
        }
        break
      }
      case 'verify-ca': {
        if (!config.ssl.ca) {
          throw new Error(
            'SECURITY WARNING: Using sslmode=verify-ca requires specifying a CA with sslrootcert. If a public CA is used, verify-ca allows connections to a server that somebody else may have registered with the CA, making you vulnerable to Man-in-the-Middle attacks. Either specify a custom CA certificate with sslrootcert parameter or use sslmode=verify-full for proper security.'
          )
        }
        config.ssl.checkServerIdentity = function () {}
        break
      }
      case 'verify-full': {
        break
      }
    }
  } else {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer':
      case 'require':
      case 'verify-ca':
      case 'verify-full': {
        if (config.sslmode !== 'verify-full') {
          deprecatedSslModeWarning(config.sslmode)
        }
        break
      }
      case 'no-verify': {
        config.ssl.rejectUnauthorized = false
        break
      }
    }
  }

  return config
}

// convert pg-connection-string ssl config to a ClientConfig.ConnectionOptions
function toConnectionOptions(sslConfig) {
  const connectionOptions = Object.entries(sslConfig).reduce((c, [key, value]) => {
    // we explicitly check for undefined and null instead of `if (value)` because some
    // options accept falsy values. Example: `ssl.rejectUnauthorized = false`
    if (value !== undefined && value !== null) {
      c[key] = value
    }

    return c
  }, Object.create(null))

  return connectionOptions
}

// convert pg-connection-string config to a ClientConfig
function toClientConfig(config) {
  const poolConfig = Object.entries(config).reduce((c, [key, value]) => {
    if (key === 'ssl') {
      const sslConfig = value

      if (typeof sslConfig === 'boolean') {
        c[key] = sslConfig
      }

      if (typeof sslConfig === 'object') {
        c[key] = toConnectionOptions(sslConfig)
      }
    } else if (value !== undefined && value !== null) {
      if (key === 'port') {
        // when port is not specified, it is converted into an empty string
        // we want to avoid NaN or empty string as a values in ClientConfig
        if (value !== '') {
          const v = parseInt(value, 10)
          if (isNaN(v)) {
            throw new Error(`Invalid ${key}: ${value}`)
          }

          c[key] = v
        }
      } else {
        c[key] = value
      }
    }

    return c
  }, Object.create(null))

  return poolConfig
}

// parses a connection string into ClientConfig
function parseIntoClientConfig(str) {
  return toClientConfig(parse(str))
}

function deprecatedSslModeWarning(sslmode) {
  if (!deprecatedSslModeWarning.warned && typeof process !== 'undefined' && process.emitWarning) {
    deprecatedSslModeWarning.warned = true
    process.emitWarning(`SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca' are treated as aliases for 'verify-full'.
In the next major version (pg-connection-string v3.0.0 and pg v9.0.0), these modes will adopt standard libpq semantics, which have weaker security guarantees.

To prepare for this change:
- If you want the current behavior, explicitly use 'sslmode=verify-full'
- If you want libpq compatibility now, use 'uselibpqcompat=true&sslmode=${sslmode}'

See https://www.postgresql.org/docs/current/libpq-ssl.html for libpq SSL mode definitions.`)
  }
}

module.exports = parse

parse.parse = parse
parse.toClientConfig = toClientConfig
parse.parseIntoClientConfig = parseIntoClientConfig


/***/ }),

/***/ 6276:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  fe: () => (/* binding */ appendSummary),
  Yz: () => (/* binding */ debug),
  V4: () => (/* binding */ getInput),
  pq: () => (/* binding */ info),
  lm: () => (/* binding */ notice),
  C1: () => (/* binding */ setFailed),
  n0: () => (/* binding */ setOutputs),
  Pq: () => (/* binding */ setSecret),
  $e: () => (/* binding */ warning),
  jQ: () => (/* binding */ writeStdout)
});

// UNUSED EXPORTS: error, setOutput

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __nccwpck_require__(3024);
var external_node_fs_default = /*#__PURE__*/__nccwpck_require__.n(external_node_fs_);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __nccwpck_require__(8161);
;// CONCATENATED MODULE: ./node_modules/@actions/core/lib/utils.js
// We use any as a valid input type
/* eslint-disable @typescript-eslint/no-explicit-any */
/**
 * Sanitizes an input into a string so it can be passed into issueCommand safely
 * @param input input to sanitize into a string
 */
function toCommandValue(input) {
    if (input === null || input === undefined) {
        return '';
    }
    else if (typeof input === 'string' || input instanceof String) {
        return input;
    }
    return JSON.stringify(input);
}
/**
 *
 * @param annotationProperties
 * @returns The command properties to send with the actual annotation command
 * See IssueCommandProperties: https://github.com/actions/runner/blob/main/src/Runner.Worker/ActionCommandManager.cs#L646
 */
function toCommandProperties(annotationProperties) {
    if (!Object.keys(annotationProperties).length) {
        return {};
    }
    return {
        title: annotationProperties.title,
        file: annotationProperties.file,
        line: annotationProperties.startLine,
        endLine: annotationProperties.endLine,
        col: annotationProperties.startColumn,
        endColumn: annotationProperties.endColumn
    };
}
//# sourceMappingURL=utils.js.map
;// CONCATENATED MODULE: ./src/action/actions-core.ts
/**
 * The @actions/core functions the adapter uses, taken from @actions/core's own
 * modules (command.js, file-command.js, summary.js). Importing '@actions/core'
 * as a whole also evaluates its OIDC client (@actions/http-client and undici)
 * and @actions/exec at start-up: about 90 ms on every run, for features this
 * action never uses. These are the same implementations without that cost
 * (getInput, setOutput, setFailed, info, warning, notice, debug, error and setSecret
 * mirror lib/core.js line for line; issueFileCommand and prepareKeyValueMessage
 * mirror lib/file-command.js).
 *
 * node:crypto (the output delimiter) loads when an output is first set, not at
 * start-up: a run that stops at an input error never needs it (about 4 ms of a
 * cold start that is ~25 ms of Node's own). The job summary is appended as
 * lib/summary.js's `summary.addRaw(markdown).write()` does, without loading
 * summary.js (it loads fs/promises, another ~3 ms with its own chunk).
 *
 * Lines go to file descriptor 1 with fs.writeSync instead of process.stdout: creating
 * process.stdout on the runner's pipe sets up a net.Socket and its stream machinery,
 * about 2 ms of every run (docs/benchmarks.md). If something touches process.stdout
 * anyway, its writes come here too (./stdout.ts): fd 1 has one writer. The text is byte for
 * byte what lib/command.js's issueCommand writes (the tests compare them), except for the
 * line break a command gets after text that did not end its line.
 */



/** A short wait while the reader drains a full pipe; nothing else runs in the meantime. */
const PIPE_FULL_WAIT_MS = 1;
/** Whether the last byte written to fd 1 ended a line (fd 1's only writer is writeStdout, see ./stdout.ts). */
let atLineStart = true;
/**
 * Writes all of `data` (a string as UTF-8) to file descriptor 1, in order with every earlier
 * write. A full non-blocking pipe (EAGAIN) is waited out, never dropped: a line may be an
 * ::add-mask:: that must reach the runner before the secret does.
 */
function writeStdout(data) {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) {
        try {
            written += external_node_fs_default().writeSync(1, bytes, written, bytes.length - written);
        }
        catch (e) {
            if (e.code !== 'EAGAIN')
                throw e;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PIPE_FULL_WAIT_MS);
        }
    }
    if (bytes.length)
        atLineStart = bytes[bytes.length - 1] === 0x0a;
}
/**
 * lib/command.js issueCommand: `::name key=value,...::message`, escaped as there. The runner
 * takes a command only at a line's start: after text that did not end its line (a
 * dependency's process.stdout.write), a line break comes first.
 */
function issueCommand(command, properties, message) {
    const props = Object.entries(properties)
        .filter(([, v]) => v)
        .map(([k, v]) => `${k}=${escapeProperty(v)}`)
        .join(',');
    writeStdout(`${atLineStart ? '' : external_node_os_.EOL}::${command}${props ? ` ${props}` : ''}::${escapeData(message)}${external_node_os_.EOL}`);
}
/** lib/command.js escapeData. */
function escapeData(s) {
    return toCommandValue(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
/** lib/command.js escapeProperty. */
function escapeProperty(s) {
    return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
/** lib/summary.js SUMMARY_ENV_VAR. */
const SUMMARY_ENV_VAR = 'GITHUB_STEP_SUMMARY';
/** lib/summary.js `summary.addRaw(markdown).write()`: the same checks and messages, then the same append. */
function appendSummary(markdown) {
    const pathFromEnv = process.env[SUMMARY_ENV_VAR];
    if (!pathFromEnv) {
        throw new Error(`Unable to find environment variable for $${SUMMARY_ENV_VAR}. Check if your runtime environment supports job summaries.`);
    }
    try {
        external_node_fs_default().accessSync(pathFromEnv, (external_node_fs_default()).constants.R_OK | (external_node_fs_default()).constants.W_OK);
    }
    catch {
        throw new Error(`Unable to access summary file: '${pathFromEnv}'. Check if the file has correct read/write permissions.`);
    }
    external_node_fs_default().appendFileSync(pathFromEnv, markdown, { encoding: 'utf8' });
}
/**
 * lib/file-command.js issueFileCommand, for several messages at once: the file gets
 * what one issueFileCommand per message would append, in one write.
 */
function issueFileCommand(command, messages) {
    const filePath = process.env[`GITHUB_${command}`];
    if (!filePath) {
        throw new Error(`Unable to find environment variable for file command ${command}`);
    }
    if (!external_node_fs_default().existsSync(filePath)) {
        throw new Error(`Missing file at path: ${filePath}`);
    }
    external_node_fs_default().appendFileSync(filePath, messages.map((m) => `${toCommandValue(m)}${external_node_os_.EOL}`).join(''), {
        encoding: 'utf8',
    });
}
/** lib/file-command.js prepareKeyValueMessage, with node:crypto loaded when an output is first set. */
function prepareKeyValueMessage(key, value) {
    const delimiter = `ghadelimiter_${process.getBuiltinModule('node:crypto').randomUUID()}`;
    const convertedValue = toCommandValue(value);
    if (key.includes(delimiter)) {
        throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
    }
    if (convertedValue.includes(delimiter)) {
        throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
    }
    return `${key}<<${delimiter}${external_node_os_.EOL}${convertedValue}${external_node_os_.EOL}${delimiter}`;
}
function getInput(name) {
    return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim();
}
function setSecret(secret) {
    issueCommand('add-mask', {}, secret);
}
function setOutput(name, value) {
    setOutputs([[name, value]]);
}
/** setOutput for each pair, in order, with one append to GITHUB_OUTPUT for all of them. */
function setOutputs(outputs) {
    if (process.env['GITHUB_OUTPUT']) {
        issueFileCommand('OUTPUT', outputs.map(([name, value]) => prepareKeyValueMessage(name, value)));
        return;
    }
    for (const [name, value] of outputs) {
        writeStdout(external_node_os_.EOL);
        issueCommand('set-output', { name }, toCommandValue(value));
    }
}
function info(message) {
    writeStdout(message + external_node_os_.EOL);
}
function debug(message) {
    issueCommand('debug', {}, message);
}
function warning(message) {
    issueCommand('warning', {}, message);
}
function notice(message) {
    issueCommand('notice', {}, message);
}
function error(message) {
    issueCommand('error', {}, message);
}
function setFailed(message) {
    process.exitCode = 1;
    error(message);
}


/***/ }),

/***/ 803:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  e: () => (/* binding */ run)
});

// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __nccwpck_require__(8161);
// EXTERNAL MODULE: ./src/action/actions-core.ts + 1 modules
var actions_core = __nccwpck_require__(6276);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __nccwpck_require__(3024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __nccwpck_require__(6760);
;// CONCATENATED MODULE: ./src/action/status-file.ts


/**
 * Writes the status JSON to a new file under `dir` (the runner's RUNNER_TEMP, emptied after
 * each job) and returns its path, for the status-file output. A directory of its own per
 * call, so two status steps of a job never overwrite each other's file.
 */
function writeStatusFile(json, dir) {
    const path = (0,external_node_path_.join)((0,external_node_fs_.mkdtempSync)((0,external_node_path_.join)(dir, 'pg-credential-rotation-status-')), 'status.json');
    (0,external_node_fs_.writeFileSync)(path, `${json}\n`, { mode: 0o600 });
    return path;
}

// EXTERNAL MODULE: ./src/inputs/config.ts
var config = __nccwpck_require__(2567);
// EXTERNAL MODULE: ./src/domain/escape.ts
var domain_escape = __nccwpck_require__(9757);
;// CONCATENATED MODULE: ./src/domain/story.ts
const IDENT = '"((?:[^"]|"")*)"';
const unquote = (s) => `"${s.replace(/""/g, '"')}"`;
/** [pattern, description] for each statement shape src/postgres/statements.ts renders (display form). */
const SHAPES = [
    [new RegExp(`^CREATE ROLE ${IDENT} NOLOGIN$`), (m) => `Created role ${unquote(m[1])} (NOLOGIN).`],
    [
        new RegExp(`^GRANT ${IDENT} TO ${IDENT}`),
        (m) => `Made ${unquote(m[2])} a member of ${unquote(m[1])} (inherits its privileges, may SET ROLE to it).`,
    ],
    [
        new RegExp(`^ALTER ROLE ${IDENT} SET role = '((?:[^']|'')*)'$`),
        (m) => `Set the default role of ${unquote(m[1])} to "${m[2].replace(/''/g, "'")}".`,
    ],
    [new RegExp(`^ALTER ROLE ${IDENT} WITH LOGIN PASSWORD `), (m) => `Enabled ${unquote(m[1])} with a new password.`],
    [
        new RegExp(`^ALTER ROLE ${IDENT} WITH NOLOGIN PASSWORD `),
        (m) => `Disabled ${unquote(m[1])} (NOLOGIN, and a random password nobody knows).`,
    ],
    [new RegExp(`^COMMENT ON ROLE ${IDENT} IS `), (m) => `Recorded the rotation state on ${unquote(m[1])}.`],
    [
        new RegExp(`^ALTER ROLE ${IDENT}(?: IN DATABASE ${IDENT})? SET ${IDENT} TO `),
        (m) => `Copied the setting ${m[3].replace(/""/g, '"')} to ${unquote(m[1])}${m[2] ? ` in database ${unquote(m[2])}` : ''}.`,
    ],
    [
        new RegExp(`^ALTER ROLE ${IDENT}(?: IN DATABASE ${IDENT})? RESET ${IDENT}$`),
        (m) => `Removed the setting ${m[3].replace(/""/g, '"')} from ${unquote(m[1])}${m[2] ? ` in database ${unquote(m[2])}` : ''}.`,
    ],
    [
        new RegExp(`^ALTER ROLE ${IDENT} CONNECTION LIMIT (-?\\d+)$`),
        (m) => `Set the connection limit of ${unquote(m[1])} to ${m[2]}.`,
    ],
    [
        new RegExp(`^REASSIGN OWNED BY (.*) TO ${IDENT}$`),
        (m) => `Moved the objects owned by ${m[1]} to ${unquote(m[2])}.`,
    ],
];
/** One sentence for an executed statement (its display form, secrets already '***'). */
function describeChange(display) {
    for (const [re, say] of SHAPES) {
        const m = re.exec(display);
        if (m)
            return say(m);
    }
    return `Ran: ${display.length > 200 ? `${display.slice(0, 200)}…` : display}`;
}
/** One sentence per executed statement, in order. */
function describeChanges(changes) {
    return changes.map(describeChange);
}
/** A note that the summary shows as a warning. */
const isWarning = (note) => /^Warning\b/i.test(note);
/**
 * What the log should say after the phase: its changes, the notes and warnings of the
 * summary that `printed` (the messages already logged while the phase ran) does not hold,
 * and the outcome in one line.
 */
function phaseStory(r, printed = new Set()) {
    const info = [];
    const warnings = [];
    const changes = describeChanges(r.changes);
    if (changes.length)
        info.push(`${r.phase}: ${changes.length} change${changes.length === 1 ? '' : 's'}, committed:`);
    info.push(...changes.map((c) => `  ${c}`));
    for (const note of r.notes) {
        if (printed.has(note))
            continue;
        if (isWarning(note))
            warnings.push(note);
        else
            info.push(note);
    }
    info.push(outcome(r));
    return { info, warnings };
}
function outcome(r) {
    const o = r.outputs;
    const parts = [];
    if (o.state)
        parts.push(`state ${o.state}`);
    if (o.username)
        parts.push(`login to use: "${o.username}"${o.state === 'open' ? ' (incoming)' : ''}`);
    if (o.previousUsername)
        parts.push(`${r.phase === 'abort' ? 'aborted' : o.state === 'open' ? 'outgoing (still active until close)' : 'previous'}: "${o.previousUsername}"`);
    if (o.rotationId)
        parts.push(`rotation ${o.rotationId}`);
    if (o.remainingConnections !== undefined)
        parts.push(`${o.remainingConnections} sessions of the old login left`);
    const verdict = r.failure
        ? 'failed'
        : r.changes.length || r.phase === 'unseal' || r.phase === 'status'
            ? 'done'
            : 'done, nothing changed';
    return `${r.phase} ${verdict}${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}

// EXTERNAL MODULE: ./src/domain/errors.ts
var errors = __nccwpck_require__(241);
;// CONCATENATED MODULE: ./src/domain/result.ts
/**
 * The action's outputs, in action.yml's order: the output each field of PhaseOutputs is set as,
 * then STATUS_OUTPUT (the status report as JSON). test/unit/action-metadata.test.ts fails when
 * action.yml lists other outputs.
 */
const OUTPUT_NAMES = {
    username: 'username',
    password: 'password',
    databaseUrl: 'database-url',
    pgbouncerUserlist: 'pgbouncer-userlist',
    previousUsername: 'previous-username',
    rotationId: 'rotation-id',
    state: 'state',
    remainingConnections: 'remaining-connections',
    drained: 'drained',
    sealedCredentials: 'sealed-credentials',
};
const STATUS_OUTPUT = 'status';
/** The path of a file holding the status JSON (written by the adapter). */
const STATUS_FILE_OUTPUT = 'status-file';
/** Every output name, in action.yml's order. */
const OUTPUTS = [...Object.values(OUTPUT_NAMES), STATUS_OUTPUT, STATUS_FILE_OUTPUT];

// EXTERNAL MODULE: ./src/inputs/pooler-urls.ts
var pooler_urls = __nccwpck_require__(235);
// EXTERNAL MODULE: ./src/postgres/urls.ts
var urls = __nccwpck_require__(1085);
;// CONCATENATED MODULE: ./src/postgres/no-native.ts
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

// EXTERNAL MODULE: ./src/domain/family.ts
var family = __nccwpck_require__(5218);
// EXTERNAL MODULE: ./src/domain/state.ts
var state = __nccwpck_require__(781);
;// CONCATENATED MODULE: ./src/action/summary.ts



/** The job summary of a phase, as Markdown. Holds no secret: statements are already redacted. */
function renderSummary(r) {
    const lines = [];
    const verdict = r.failure ? 'failed' : 'done';
    lines.push(`### PostgreSQL credential rotation: \`${r.phase}\` ${verdict}`, '');
    const o = r.outputs;
    const facts = [
        ['group role', r.group],
        ['state', o.state],
        ...loginFacts(r),
        ['rotation', o.rotationId],
        ['remaining connections', o.remainingConnections?.toString()],
        ['drained', o.drained?.toString()],
    ];
    for (const [k, v] of facts)
        if (v !== undefined)
            lines.push(`- **${k}**: ${esc(v)}`);
    lines.push('');
    if (r.offline) {
        if (r.notes.length)
            lines.push(...r.notes.map((n) => `> ${esc(n)}`), '');
        return lines.join('\n');
    }
    lines.push('| role | kind | can log in | sessions | member of group | default role |', '|---|---|---|---|---|---|');
    const g = r.roles.group;
    lines.push(`| ${esc(r.group)} | group | ${g ? yesNo(g.canLogin) : 'missing'} | | | |`);
    for (const l of r.roles.logins) {
        if ('missing' in l) {
            lines.push(`| ${esc(l.name)} | login | missing | | | |`);
            continue;
        }
        lines.push(`| ${esc(l.name)} | login | ${yesNo(l.canLogin)} | ${esc((0,family/* describeSessions */.Pj)(r.sessions, l.name))} | ${yesNo(l.member && l.canSet)} | ${l.defaultRole === null ? '(none)' : esc(l.defaultRole)} |`);
    }
    lines.push('');
    if (r.failure)
        lines.push(`**${esc(r.failure)}**`, '');
    if (r.poolers?.length)
        lines.push(...renderPoolers(r.poolers, r.roles.logins.map((l) => l.name)));
    if (r.status)
        lines.push(...renderStatus(r.status));
    if (r.changes.length) {
        lines.push('<details><summary>What changed</summary>', '', '```sql', ...r.changes.map((c) => `${c};`), '```', '', '</details>', '');
    }
    else {
        lines.push('No role was changed.', '');
    }
    if (r.notes.length)
        lines.push(...r.notes.map((n) => `> ${esc(n)}`), '');
    return lines.join('\n');
}
/**
 * username and previous-username, named as the state names them: while a rotation is open,
 * the state's active login is the outgoing one and username is the incoming login to use now.
 */
function loginFacts(r) {
    const o = r.outputs;
    if (o.state === 'open')
        return [
            ['login to use now (incoming)', o.username],
            ['active login (outgoing, until close)', o.previousUsername],
        ];
    return [
        ['active login', o.username],
        [r.phase === 'abort' ? 'aborted login' : 'previous login', o.previousUsername],
    ];
}
function renderStatus(st) {
    const out = [`**${esc(st.group)}**: ${esc(st.description)}`, ''];
    if (st.rotation)
        out.push(`Open rotation ${(0,domain_escape/* markdownCode */.D9)(st.rotation.id)} since ${esc(st.rotation.openedAt)}${st.rotation.openedBy.runId ? ` (workflow run ${esc(st.rotation.openedBy.runId)}${st.rotation.openedBy.actor ? ` by ${esc(st.rotation.openedBy.actor)}` : ''})` : ''}.`, '');
    if (st.writtenBack)
        out.push(`> ${esc((0,state/* describeWrittenBack */.Kc)(st.writtenBack))}`, '');
    const rotated = Object.entries(st.passwordSetAt);
    if (rotated.length)
        out.push('| login | password last set |', '|---|---|', ...rotated.map(([l, t]) => `| ${esc(l)} | ${esc(t)} |`), '');
    if (st.sessions.length) {
        out.push('| login | server | database | application | client | sessions |', '|---|---|---|---|---|---|');
        for (const x of st.sessions)
            out.push(`| ${esc(x.login)} | ${esc(x.server)} | ${x.database === null ? '' : (0,domain_escape/* markdownCode */.D9)(x.database, true)} | ${(0,domain_escape/* markdownCode */.D9)(x.applicationName, true)} | ${x.addrHidden ? 'hidden (grant pg_read_all_stats to see it)' : x.clientAddr === null ? 'local' : (0,domain_escape/* markdownCode */.D9)(x.clientAddr, true)} | ${x.count} |`);
        out.push('');
    }
    if (st.replicas?.length) {
        out.push('| replica | replay behind | last replayed transaction | recovery_min_apply_delay |', '|---|---|---|---|');
        for (const r of st.replicas)
            out.push(`| ${esc(r.replica)} | ${r.behindBytes} bytes | ${r.lastReplayAgeS === null ? 'none yet' : `${r.lastReplayAgeS} s ago`} | ${(0,domain_escape/* markdownCode */.D9)(r.applyDelay, true)} |`);
        out.push('');
    }
    if (st.poolers?.length) {
        out.push(...renderPoolers(st.poolers, Object.keys(st.canLogin).filter((l) => l !== st.group)));
        for (const p of st.poolers)
            for (const f of p.forcedUsers)
                out.push(`> Pooler ${esc(p.label)}: database entry ${code(f.database)} forces user ${code(f.user)}; the server sees only that user, so drain and close cannot tell its clients' logins apart.`, '');
    }
    if (st.drift.length) {
        out.push('**Drift**', '', '| role | problem | detail |', '|---|---|---|', ...st.drift.map((d) => `| ${esc(d.role)} | ${d.kind} | ${esc(d.detail)} |`), '');
    }
    else {
        out.push('No drift.', '');
    }
    return out;
}
/**
 * The summary of a phase that failed before it had a result. `committed`: the
 * phase changed something durably before it failed (see wasCommitted); the
 * message says what, and the summary must not claim that nothing changed.
 */
function renderFailureSummary(phase, message, committed = false) {
    const outcome = committed
        ? 'Some changes were made before the failure (a commit, GitHub secrets written, or sessions ended): the message above says which.'
        : 'Nothing was changed.';
    return `### PostgreSQL credential rotation: \`${phase || '(no phase)'}\` failed\n\n**${esc(message)}**\n\n${outcome}\n`;
}
/** Per pooler: version, and clients and server connections of each login. */
function renderPoolers(views, logins) {
    const out = ['| pooler | version | login | clients | server connections (in use) |', '|---|---|---|---|---|'];
    for (const v of views) {
        if (v.error !== undefined) {
            out.push(`| ${esc(v.label)} | not readable: ${code(v.error)} | | | |`);
            continue;
        }
        const modes = 'poolModes' in v ? ` (${v.poolModes.map(esc).join(', ')})` : '';
        for (const l of logins)
            out.push(`| ${esc(v.label)} | ${esc(v.version)}${modes} | ${esc(l)} | ${v.clients[l] ?? 0} | ${v.servers[l]?.total ?? 0} (${v.servers[l]?.inUse ?? 0}) |`);
    }
    out.push('');
    return out;
}
/** Server text in a code span (backticks cannot close it). */
function code(s) {
    return `\`${s
        .replace(/`/g, "'")
        .replace(/[\r\n]+/g, ' ')
        .replace(/\|/g, '\\|')}\``;
}
function yesNo(b) {
    return b ? 'yes' : 'no';
}
/** Every text that is not the action's own: role names, server text, anything read from the state comment. */
function esc(s) {
    return (0,domain_escape/* markdownText */.p7)(s);
}

;// CONCATENATED MODULE: ./src/action/main.ts
/**
 * The GitHub Actions adapter: the only module that imports @actions/core.
 * Reads inputs, masks secrets, runs the phase, sets outputs, writes the job summary.
 */












async function run() {
    refuseNativeDriver();
    maskConnectionSecrets();
    const phase = actions_core/* getInput */.V4('phase');
    try {
        const cfg = (0,config/* parseConfig */.o4)((name) => actions_core/* getInput */.V4(name), process.env);
        // Loaded after the inputs are valid: a run that fails on input never loads pg or the phases.
        const { runPhase } = await Promise.all(/* import() */[__nccwpck_require__.e(849), __nccwpck_require__.e(918)]).then(__nccwpck_require__.bind(__nccwpck_require__, 1918));
        const result = await runPhase(cfg, { reporter });
        logStory(result);
        setOutputs(result);
        await writeSummary(renderSummary(result));
        if (result.failure)
            actions_core/* setFailed */.C1((0,domain_escape/* logLine */.BP)(result.failure));
    }
    catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        await writeSummary(renderFailureSummary(phase, message, (0,errors/* wasCommitted */.ii)(e)));
        actions_core/* setFailed */.C1((0,domain_escape/* logLine */.BP)(message));
    }
}
/** The messages the phase logged while it ran, so the story after it does not repeat them. */
const printed = new Set();
/**
 * No line the action prints holds a runner command it did not write: every
 * message goes through logLine, warnings and errors too (their command format
 * escapes line breaks, but a `##[` inside would be data only as long as the
 * runner parses the `::warning::` form first).
 */
const reporter = {
    info: (m) => {
        printed.add(m);
        actions_core/* info */.pq((0,domain_escape/* logLine */.BP)(m));
    },
    warning: (m) => {
        printed.add(m);
        actions_core/* warning */.$e((0,domain_escape/* logLine */.BP)(m));
    },
    notice: (m) => {
        printed.add(m);
        actions_core/* notice */.lm((0,domain_escape/* logLine */.BP)(m));
    },
    debug: (m) => actions_core/* debug */.Yz((0,domain_escape/* logLine */.BP)(m)),
    secret: (v) => actions_core/* setSecret */.Pq(v),
};
/** After the phase: one line per change, the summary's notes and warnings not yet logged, the outcome. */
function logStory(result) {
    const story = phaseStory(result, printed);
    for (const w of story.warnings)
        actions_core/* warning */.$e((0,domain_escape/* logLine */.BP)(w));
    for (const line of story.info)
        actions_core/* info */.pq((0,domain_escape/* logLine */.BP)(line));
}
/**
 * admin-url, replica-urls, pgbouncer-urls and PGPASSWORD are masked before anything else runs:
 * each URI in every form its password can take (see uriSecrets).
 */
function maskConnectionSecrets() {
    const uris = [
        actions_core/* getInput */.V4('admin-url'),
        ...actions_core/* getInput */.V4('replica-urls').split(/\r?\n/),
        ...(0,pooler_urls/* splitUriList */.TA)(actions_core/* getInput */.V4('pgbouncer-urls')),
    ]
        .map((u) => u.trim())
        .filter(Boolean);
    for (const uri of uris)
        (0,urls/* maskUriSecrets */.aH)(uri, reporter);
    if (process.env.PGPASSWORD)
        actions_core/* setSecret */.Pq(process.env.PGPASSWORD);
    for (const name of ['seal-key', 'github-token']) {
        const v = actions_core/* getInput */.V4(name);
        if (v)
            actions_core/* setSecret */.Pq(v);
    }
}
function setOutputs(r) {
    // Secrets were registered with core.setSecret by the phase before they existed anywhere else.
    const outputs = [];
    for (const [field, name] of Object.entries(OUTPUT_NAMES)) {
        const value = r.outputs[field];
        if (value !== undefined)
            outputs.push([name, String(value)]);
    }
    if (r.status) {
        const json = JSON.stringify(r.status);
        outputs.push([STATUS_OUTPUT, json]);
        outputs.push([STATUS_FILE_OUTPUT, writeStatusFile(json, process.env.RUNNER_TEMP || (0,external_node_os_.tmpdir)())]);
    }
    actions_core/* setOutputs */.n0(outputs);
}
async function writeSummary(markdown) {
    if (!process.env.GITHUB_STEP_SUMMARY)
        return;
    try {
        actions_core/* appendSummary */.fe(markdown);
    }
    catch (e) {
        actions_core/* warning */.$e(`Could not write the job summary: ${e.message}`);
    }
}


/***/ }),

/***/ 4007:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   o: () => (/* binding */ ownStdout)
/* harmony export */ });
/* harmony import */ var _actions_core_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(6276);

/** Called by the action's entry before anything else; `proc` is for tests. */
function ownStdout(proc = process) {
    const lazy = Object.getOwnPropertyDescriptor(proc, 'stdout');
    const create = lazy?.get;
    if (!lazy?.configurable || !create)
        return;
    let stream;
    Object.defineProperty(proc, 'stdout', {
        configurable: true,
        enumerable: lazy.enumerable,
        get() {
            if (!stream)
                stream = throughWriteStdout(create.call(proc));
            return stream;
        },
    });
}
/**
 * Replaces the stream's own writes (Writable's `_write` and `_writev`, which every write(),
 * end(chunk) and pipe() reaches) with writeStdout. A write error (EPIPE) goes to the
 * callback, so the stream reports it as it would have.
 */
function throughWriteStdout(stream) {
    const write = (chunks, done) => {
        try {
            (0,_actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .writeStdout */ .jQ)(Buffer.concat(chunks.map(({ chunk, encoding }) => typeof chunk === 'string' ? Buffer.from(chunk, encoding === 'buffer' ? 'utf8' : encoding) : chunk)));
        }
        catch (e) {
            done(e);
            return;
        }
        done();
    };
    stream._write = (chunk, encoding, done) => write([{ chunk, encoding }], done);
    stream._writev = (chunks, done) => write(chunks, done);
    return stream;
}


/***/ }),

/***/ 3153:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   A: () => (/* binding */ MIN_PASSWORD_LENGTH),
/* harmony export */   I: () => (/* binding */ SEAL_KEY_MIN_LENGTH)
/* harmony export */ });
/**
 * The lengths the inputs are checked against, in a module of their own so that
 * checking the inputs does not load node:crypto (a run that stops at an input
 * error never needs it; see docs/benchmarks.md, cold start).
 */
const MIN_PASSWORD_LENGTH = 16;
const SEAL_KEY_MIN_LENGTH = 16;


/***/ }),

/***/ 241:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   CI: () => (/* binding */ PartialFailure),
/* harmony export */   a$: () => (/* binding */ DatabaseError),
/* harmony export */   dz: () => (/* binding */ InputError),
/* harmony export */   ii: () => (/* binding */ wasCommitted),
/* harmony export */   qq: () => (/* binding */ StateError)
/* harmony export */ });
/**
 * Errors a user sees. Each says what went wrong, where (an input or the family's
 * state), and what to do next. `InputError` is raised before any connection is
 * made; `StateError` after observing the family, before anything is changed.
 */
/** A bad input value: names the input, changes nothing. */
class InputError extends Error {
    input;
    constructor(input, message) {
        super(`input '${input}': ${message}`);
        this.input = input;
        this.name = 'InputError';
    }
}
/** The family is not in a state where the phase may act. Nothing was changed. */
class StateError extends Error {
    state;
    next;
    constructor(message, 
    /** What the family looks like now, in one phrase: "idle, app_a active". */
    state, 
    /** What to run next. */
    next) {
        super(`${message} The family is ${state}. ${next}`);
        this.state = state;
        this.next = next;
        this.name = 'StateError';
    }
}
/** The database refused or failed; `hint` says what to check. */
class DatabaseError extends Error {
    hint;
    code;
    committed;
    constructor(message, hint, code, 
    /** Something was committed (or written to GitHub) before the failure; the message says what. */
    committed = false) {
        super(hint ? `${message} ${hint}` : message);
        this.hint = hint;
        this.code = code;
        this.committed = committed;
        this.name = 'DatabaseError';
    }
}
/**
 * A phase failed after something became durable: a commit, or secrets written
 * to GitHub. The message says exactly what was changed and what was not.
 */
class PartialFailure extends Error {
    committed = true;
    constructor(message) {
        super(message);
        this.name = 'PartialFailure';
    }
}
/** Whether a failed phase changed something durably before failing (then no message may say "nothing was changed"). */
function wasCommitted(e) {
    return typeof e === 'object' && e !== null && e.committed === true;
}


/***/ }),

/***/ 9757:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   BP: () => (/* binding */ logLine),
/* harmony export */   D9: () => (/* binding */ markdownCode),
/* harmony export */   TN: () => (/* binding */ oneLine),
/* harmony export */   p7: () => (/* binding */ markdownText)
/* harmony export */ });
/* unused harmony export RUNNER_WHITESPACE */
/**
 * Server text is data. Database names, application_name, client addresses,
 * role names and server error texts can hold newlines, runner commands
 * (`::warning ...::`), Markdown and HTML. Everything the server says passes
 * through one of these before it reaches the log or the job summary.
 */
// C0 controls, DEL, C1 controls (NEL among them), LINE SEPARATOR, PARAGRAPH SEPARATOR,
// and the bidirectional overrides that make a line read differently from what it holds.
// eslint-disable-next-line no-control-regex -- matching control characters is this module's job
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/**
 * Server text as one printable line: a backslash and every control character
 * (CR and LF included) written as an escape (`\\`, `\n`, `\x1b`, `\u2028`),
 * and every `##[` as `\x23#[` (the runner finds that command form anywhere in a line).
 */
function oneLine(text) {
    const line = text.replace(/\\/g, '\\\\').replace(CONTROL, (c) => {
        const named = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
        if (named[c])
            return named[c];
        const code = c.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    });
    // Embedded anywhere in a log line, `##[` would still be a runner command.
    return defangHashCommand(line);
}
/**
 * Every character the runner's `String.TrimStart()` removes before it looks for
 * `::` (.NET's Char.IsWhiteSpace: the ASCII ones, U+0085 NEL, U+00A0, U+1680,
 * U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), plus U+180E and
 * U+FEFF, which older runtimes counted too. JavaScript's `\s` misses U+0085.
 */
const RUNNER_WHITESPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
const LEADING_COMMAND = new RegExp(`^([${RUNNER_WHITESPACE}]*):(?=:)`);
/**
 * A message for the log that no runner parses as a command. The runner knows
 * two forms: `::cmd::` at the start of a line after trimming whitespace, and
 * the older `##[cmd]` anywhere in a line (it searches with an unanchored
 * IndexOf). So in each line (split as the runner splits them: CR, LF, CRLF) a
 * leading `::` (after any of RUNNER_WHITESPACE) and every `##[` get their
 * first character escaped (`\x3a:`, `\x23#[`). The last line of defence: server
 * text inside messages goes through oneLine first.
 */
function logLine(message) {
    return message
        .split(/\r\n|\r|\n/)
        .map((line) => defangHashCommand(line).replace(LEADING_COMMAND, (_, space) => `${space}\\x3a`))
        .join('\n');
}
/** `##[` anywhere becomes `\x23#[`, which the runner's IndexOf("##[") does not find. */
function defangHashCommand(text) {
    return text.replace(/#(?=#\[)/g, '\\x23');
}
/**
 * Text for Markdown (the job summary), on one line, with the characters that
 * could form a link, image, autolink, entity, HTML tag, code span or table cell
 * break backslash-escaped (backslash, backtick, brackets, angle brackets, `&`,
 * `|`, `!`, `@`, the `:` of `://` and the `.` of `www.`). * Emphasis characters are left alone: they can only
 * restyle the text, and escaping them would clutter every role name.
 */
function markdownText(text) {
    return oneLine(text)
        .replace(/[\\`[\]<>&|!@]/g, (c) => `\\${c}`)
        .replace(/:(?=\/\/)/g, '\\:')
        .replace(/(www)\./gi, '$1\\.');
}
/**
 * Text as a Markdown code span (rendered literally: no link, image or tag).
 * In a table cell a `|` must be written `\|` even inside a code span.
 */
function markdownCode(text, inTable = false) {
    let body = oneLine(text);
    if (body === '')
        return '(empty)';
    if (inTable)
        body = body.replace(/\|/g, '\\|');
    const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
    const fence = '`'.repeat(longest + 1);
    const pad = body.startsWith('`') || body.endsWith('`') || body.startsWith(' ') ? ' ' : '';
    return `${fence}${pad}${body}${pad}${fence}`;
}


/***/ }),

/***/ 5218:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   Ft: () => (/* binding */ describeAddr),
/* harmony export */   M1: () => (/* binding */ describeLoginSessions),
/* harmony export */   Pj: () => (/* binding */ describeSessions),
/* harmony export */   TH: () => (/* binding */ idOf),
/* harmony export */   iH: () => (/* binding */ foreignGrantees),
/* harmony export */   oL: () => (/* binding */ describeForeignGrantee),
/* harmony export */   yJ: () => (/* binding */ sessionCount)
/* harmony export */ });
/* harmony import */ var _escape_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(9757);

/** Where a session comes from, never invented: a hidden address is not a local socket. */
function describeAddr(clientAddr, hidden) {
    if (hidden)
        return 'address hidden (grant pg_read_all_stats to see it)';
    return clientAddr ?? 'local socket';
}
/**
 * The backend pid or pooler client id in a LoginSession's key. A backend's key also holds its
 * backend_start (`pid@start`, so a reused pid is a new session), which is not part of its id.
 */
const idOf = (s) => {
    const id = s.key.slice(s.key.lastIndexOf('#') + 1);
    return s.where.startsWith('pooler ') ? id : id.split('@')[0];
};
/** "primary pid 4242 (database appdb, application 'api', from 10.0.0.5); pooler 127.0.0.1:6432 client 7 (...)" */
function describeLoginSessions(sessions, max = 10) {
    const shown = sessions.slice(0, max).map((s) => {
        const pooler = s.where.startsWith('pooler ');
        const where = s.where === 'primary' || pooler ? s.where : `replica ${s.where}`;
        return `${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(where)} ${pooler ? 'client' : 'pid'} ${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(idOf(s))} (database ${s.database === null ? '(none)' : (0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(s.database)}, application '${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(s.applicationName)}', from ${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(describeAddr(s.clientAddr, s.addrHidden))})`;
    });
    const more = sessions.length > max ? `; and ${sessions.length - max} more` : '';
    return `${shown.join('; ')}${more}`;
}
/**
 * Who, besides the family and the admin, controls a family role: every other
 * holder of ADMIN OPTION on it, and every member of it other than the logins of
 * the group (members of a login would act as the group once it joins). The
 * admin that observes (session_user) and superusers are expected. `roles`
 * narrows the family roles looked at.
 */
function foreignGrantees(obs, group, logins, roles = [group, ...logins]) {
    const out = [];
    for (const g of obs.grantees ?? []) {
        if (!roles.includes(g.role) || g.superuser || g.member === obs.admin.name)
            continue;
        if (g.adminOption)
            out.push({ role: g.role, member: g.member, kind: 'foreign-admin' });
        else if (!(g.role === group && logins.includes(g.member)))
            out.push({ role: g.role, member: g.member, kind: 'unexpected-member' });
    }
    return out;
}
/** "role "tenant" holds ADMIN OPTION on "app_b"" / "role "x" is a member of "app"" (names on one line). */
function describeForeignGrantee(f) {
    return f.kind === 'foreign-admin'
        ? `role "${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(f.member)}" holds ADMIN OPTION on "${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(f.role)}"`
        : `role "${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(f.member)}" is a member of "${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(f.role)}"`;
}
function sessionCount(sessions, login) {
    return sessions.filter((s) => s.login === login).reduce((n, s) => n + s.count, 0);
}
/** "3 (appdb: 2, other: 1)"; database names on one line (see oneLine). */
function describeSessions(sessions, login) {
    const mine = sessions.filter((s) => s.login === login);
    const total = sessionCount(sessions, login);
    if (total === 0)
        return '0';
    const byDb = new Map();
    for (const s of mine) {
        const where = `${s.database === null ? '(none)' : (0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(s.database)}${s.server && s.server !== 'primary' ? `@${(0,_escape_js__WEBPACK_IMPORTED_MODULE_0__/* .oneLine */ .TN)(s.server)}` : ''}`;
        byDb.set(where, (byDb.get(where) ?? 0) + s.count);
    }
    return `${total} (${[...byDb].map(([db, n]) => `${db}: ${n}`).join(', ')})`;
}


/***/ }),

/***/ 781:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   A6: () => (/* binding */ otherLogin),
/* harmony export */   D3: () => (/* binding */ ROTATION_ID),
/* harmony export */   Jw: () => (/* binding */ describeState),
/* harmony export */   Kc: () => (/* binding */ describeWrittenBack),
/* harmony export */   kK: () => (/* binding */ publicRotation),
/* harmony export */   nd: () => (/* binding */ STATE_VERSION),
/* harmony export */   rT: () => (/* binding */ STATE_TOOL),
/* harmony export */   sU: () => (/* binding */ serializeState),
/* harmony export */   un: () => (/* binding */ readState),
/* harmony export */   xW: () => (/* binding */ loginsNow)
/* harmony export */ });
/* unused harmony export checkStateNames */
/**
 * The rotation state, stored as a JSON comment on the group role
 * (COMMENT ON ROLE), so it changes in the same transaction as the roles and a
 * DBA can read it with `\drg+` or shobj_description(oid, 'pg_authid').
 */
const STATE_TOOL = 'pg-credential-rotation';
const STATE_VERSION = 1;
/**
 * What a rotation id may hold (the ids this action writes are "20261127T224400Z-3f9a1c"):
 * the same rule as the rotation-id input, so an id read from the state is safe to
 * print and can be passed back as that input.
 */
const ROTATION_ID = /^[A-Za-z0-9._:-]{1,100}$/;
/** Secret names as GitHub allows them (and github-secrets accepts them). */
const SECRET_NAME = /^[A-Za-z0-9_]{1,255}$/;
/**
 * Reads the group role's comment. A comment that is not ours is reported, never
 * parsed as state. The comment is input (anyone who may COMMENT ON ROLE the group
 * can write it): a state that names a role other than `group` and its own two
 * logins is reported as tampered.
 */
function readState(comment, group) {
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
    if (!Array.isArray(s.logins) ||
        s.logins.length !== 2 ||
        s.logins[0] === s.logins[1] ||
        !s.logins.every((l) => typeof l === 'string')) {
        return { kind: 'invalid', reason: 'the state comment does not name two distinct login roles' };
    }
    if (typeof s.active !== 'string')
        return { kind: 'invalid', reason: 'the state comment is missing its active login' };
    const foreign = checkStateNames(s, group);
    if (foreign)
        return { kind: 'invalid', reason: foreign, tampered: true };
    if (s.rotation !== null &&
        (!isObject(s.rotation) ||
            typeof s.rotation.id !== 'string' ||
            !s.logins.includes(s.rotation.incoming) ||
            s.rotation.incoming === s.active ||
            !['undefined', 'string'].includes(typeof s.rotation.sealed) ||
            !['undefined', 'string'].includes(typeof s.rotation.verifier))) {
        return { kind: 'invalid', reason: 'the open rotation recorded in the state is malformed' };
    }
    const badId = rotationIdProblem(s);
    if (badId)
        return { kind: 'invalid', reason: badId, tampered: true };
    const w = s.writtenBack;
    if (w !== undefined &&
        (!isObject(w) ||
            typeof w.login !== 'string' ||
            typeof w.rotationId !== 'string' ||
            !Array.isArray(w.secrets) ||
            !w.secrets.every((x) => typeof x === 'string' && SECRET_NAME.test(x)))) {
        return { kind: 'invalid', reason: 'the write-back recorded in the state is malformed' };
    }
    const v = s.activeVerifier;
    if (v !== undefined && (!isObject(v) || typeof v.login !== 'string' || typeof v.sealed !== 'string'))
        return { kind: 'invalid', reason: 'the sealed verifier recorded in the state is malformed' };
    const badTime = timeProblem(s);
    if (badTime)
        return { kind: 'invalid', reason: badTime, tampered: true };
    return { kind: 'ok', state: { ...s, passwordSetAt: s.passwordSetAt ?? {}, lastClosed: s.lastClosed ?? null } };
}
/**
 * Every role the state names must be the group or one of its two logins (never
 * the group), `adoptedFrom` the group, and `active` the group only after
 * adoption. Returns what is wrong, or null.
 */
function checkStateNames(s, group) {
    const shown = (v) => (typeof v === 'string' ? JSON.stringify(v.slice(0, 63)) : String(v));
    if (s.logins.includes(group))
        return `its login roles include the group role ${shown(group)}`;
    const family = [group, ...s.logins];
    if (s.adoptedFrom !== undefined && s.adoptedFrom !== group)
        return `adoptedFrom is ${shown(s.adoptedFrom)}, not the group role ${shown(group)}`;
    if (!s.logins.includes(s.active) && !(s.active === group && s.adoptedFrom === group)) {
        return `its active login ${shown(s.active)} is neither of its login roles${s.adoptedFrom === group ? ' nor the adopted group role' : ''}`;
    }
    const named = [
        ['lastClosed.active', s.lastClosed?.active],
        ['lastClosed.previous', s.lastClosed?.previous],
        ['lastAborted.login', s.lastAborted?.login],
        ['writtenBack.login', s.writtenBack?.login],
        ['activeVerifier.login', s.activeVerifier?.login],
        ...Object.keys(s.passwordSetAt ?? {}).map((k) => ['passwordSetAt', k]),
    ];
    for (const [field, v] of named)
        if (v !== undefined && !family.includes(v))
            return `${field} names ${shown(v)}, which is not a role of the family`;
    if (isObject(s.rotation) && !s.logins.includes(s.rotation.incoming))
        return `the open rotation hands out ${shown(s.rotation.incoming)}, which is not one of its login roles`;
    return null;
}
/**
 * Every rotation id in the state (the open rotation's, lastClosed's,
 * lastAborted's, the write-back record's) must look like one: the comment is
 * input, and these ids are printed in the log. Returns what is wrong, or null.
 */
function rotationIdProblem(s) {
    const ids = [
        ['rotation.id', s.rotation?.id],
        ['lastClosed.id', s.lastClosed?.id],
        ['lastAborted.id', s.lastAborted?.id],
        ['writtenBack.rotationId', s.writtenBack?.rotationId],
    ];
    for (const [field, v] of ids) {
        if (v === undefined)
            continue;
        if (typeof v !== 'string' || !ROTATION_ID.test(v))
            return `${field} is not a rotation id (letters, digits and . _ : - only, at most 100)`;
    }
    return null;
}
/**
 * A time as the action writes it (Date.prototype.toISOString: UTC, "2026-12-03T10:04:55.000Z";
 * the milliseconds optional), a real date, between 2000 and 2099.
 */
const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?Z$/;
function isTime(v) {
    if (typeof v !== 'string')
        return false;
    const m = TIME.exec(v);
    if (!m)
        return false;
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
    const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    return (year >= 2000 &&
        year < 2100 &&
        d.getUTCMonth() === month - 1 &&
        d.getUTCDate() === day &&
        d.getUTCHours() === hour &&
        d.getUTCMinutes() === minute &&
        d.getUTCSeconds() === second);
}
/**
 * Every time in the state (when the rotation was opened, closed, aborted, written back, when
 * each password was set) must be one the action could have written: the comment is input, and
 * these times are printed in the log, the summary and status. Returns what is wrong, or null.
 */
function timeProblem(s) {
    const notATime = (field) => `${field} is not a time (UTC, as 2026-12-03T10:04:55.000Z, between 2000 and 2099)`;
    const records = [
        ['rotation', s.rotation, 'openedAt'],
        ['lastClosed', s.lastClosed, 'closedAt'],
        ['lastAborted', s.lastAborted, 'abortedAt'],
        ['writtenBack', s.writtenBack, 'at'],
    ];
    for (const [name, record, key] of records)
        if (record != null && !(isObject(record) && isTime(record[key])))
            return notATime(`${name}.${key}`);
    for (const [login, at] of Object.entries(s.passwordSetAt ?? {}))
        if (!isTime(at))
            return notATime(`passwordSetAt of ${JSON.stringify(login.slice(0, 63))}`);
    return null;
}
function serializeState(state) {
    return JSON.stringify(state);
}
/** The login that takes over from `login` (after adoption, the first login role). */
function otherLogin(state, login) {
    return state.logins[0] === login ? state.logins[1] : state.logins[0];
}
/** "idle, app_a active" / "open (rotation r-...): app_a outgoing, app_b incoming" */
/**
 * The username/previous-username outputs for a state: the login the application should
 * use now (while a rotation is open, the incoming one) and, while one is open, the
 * outgoing one, which the state still calls active until close.
 */
function loginsNow(state) {
    return state.rotation
        ? { username: state.rotation.incoming, previousUsername: state.active }
        : { username: state.active };
}
/** The open rotation as status reports it: without anything sealed (ciphertext is for the phases only). */
function publicRotation(rotation) {
    if (!rotation)
        return null;
    const { sealed: _sealed, verifier: _verifier, ...rest } = rotation;
    return rest;
}
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
/** What a write-back record means for the next step: close again finishes; abort would break the secrets' login. */
function describeWrittenBack(w) {
    const what = w.pending ? 'may have written' : 'wrote';
    return `close ${what} the credentials of "${w.login}" to GitHub secrets ${w.secrets.join(', ')} for rotation ${w.rotationId} (${w.at}), but the rotation is still open: run close again to finish it; abort refuses to disable "${w.login}" unless force: true.`;
}


/***/ }),

/***/ 2567:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   XU: () => (/* binding */ sealedInput),
/* harmony export */   o4: () => (/* binding */ parseConfig)
/* harmony export */ });
/* unused harmony exports PHASES, DEFAULTS */
/* harmony import */ var _duration_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(1601);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(241);
/* harmony import */ var _domain_state_js__WEBPACK_IMPORTED_MODULE_7__ = __nccwpck_require__(781);
/* harmony import */ var _names_js__WEBPACK_IMPORTED_MODULE_2__ = __nccwpck_require__(5585);
/* harmony import */ var _pooler_urls_js__WEBPACK_IMPORTED_MODULE_3__ = __nccwpck_require__(235);
/* harmony import */ var _secret_map_js__WEBPACK_IMPORTED_MODULE_4__ = __nccwpck_require__(8122);
/* harmony import */ var _github_api_url_js__WEBPACK_IMPORTED_MODULE_8__ = __nccwpck_require__(8543);
/* harmony import */ var _crypto_limits_js__WEBPACK_IMPORTED_MODULE_6__ = __nccwpck_require__(3153);
/* harmony import */ var _postgres_urls_js__WEBPACK_IMPORTED_MODULE_5__ = __nccwpck_require__(1085);









const PHASES = ['setup', 'open', 'verify-drain', 'close', 'abort', 'status', 'unseal'];
const DEFAULTS = {
    passwordLength: '32',
    passwordEncryption: 'scram-sha-256',
    timeout: '15m',
    interval: '5s',
    minNewConnections: '0',
    replicaTimeout: '1m',
};
function parseConfig(read, env) {
    const get = (name) => read(name).trim();
    // Inputs are checked in the order of these calls: the first bad one is the one reported.
    const phase = parsePhase(get('phase'));
    const connection = parseConnectionInputs(get, env, phase);
    const password = parsePasswordInputs(get);
    const timing = parseDrainTimingInputs(get);
    const rotationId = parseRotationId(get('rotation-id'));
    const replicas = parseReplicaUrls(get('replica-urls'));
    const replicaTimeoutMs = (0,_duration_js__WEBPACK_IMPORTED_MODULE_0__/* .parseDuration */ .E)(get('replica-timeout') || DEFAULTS.replicaTimeout, 'replica-timeout');
    const sealing = parseSealInputs(read, get, phase);
    const github = parseWriteBackInputs(get, env, phase, sealing);
    const options = parsePhaseOptions(get);
    const poolers = (0,_pooler_urls_js__WEBPACK_IMPORTED_MODULE_3__/* .parsePoolerUrls */ .D8)(read('pgbouncer-urls'));
    return {
        phase,
        ...connection,
        ...password,
        ...timing,
        ...options,
        rotationId,
        replicas,
        replicaTimeoutMs,
        poolers,
        ...sealing,
        github,
        run: readRunInfo(env),
    };
}
function parsePhase(text) {
    if (!text)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('phase', `is required; one of ${PHASES.join(', ')}`);
    if (!PHASES.includes(text)) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('phase', `'${text}' is not a phase; use one of ${PHASES.join(', ')}`);
    }
    return text;
}
/** admin-url (or the PG* variables), the group role, its two logins and the URL the application uses. */
function parseConnectionInputs(get, env, phase) {
    const adminUrl = get('admin-url');
    const admin = adminUrl ? { url: (0,_postgres_urls_js__WEBPACK_IMPORTED_MODULE_5__/* .checkConnectionUrl */ .U$)(adminUrl, 'admin-url') } : {};
    if (phase !== 'unseal' && !adminUrl && !env.PGHOST && !env.PGUSER && !env.PGDATABASE) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('admin-url', 'is empty and none of PGHOST, PGUSER, PGDATABASE is set; give an admin connection URI (from a secret)');
    }
    const role = get('role');
    if (!role)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('role', 'is required: the NOLOGIN group role that owns the objects, e.g. app');
    (0,_names_js__WEBPACK_IMPORTED_MODULE_2__/* .checkRoleName */ .Ko)(role, 'role');
    const logins = parseLogins(get('login-roles'), role);
    const appUrlText = get('app-url');
    if (appUrlText)
        return { admin, group: role, logins, appUrl: (0,_postgres_urls_js__WEBPACK_IMPORTED_MODULE_5__/* .checkAppUrl */ .JD)(appUrlText, 'app-url') };
    return { admin, group: role, logins, appUrl: (0,_postgres_urls_js__WEBPACK_IMPORTED_MODULE_5__/* .defaultAppUrl */ .SL)(admin, env), appUrlDefault: (0,_postgres_urls_js__WEBPACK_IMPORTED_MODULE_5__/* .droppedAppUrlParams */ .L_)(admin) };
}
/** How new passwords are made: their length, and who hashes them. */
function parsePasswordInputs(get) {
    const passwordLength = parseInteger(get('password-length') || DEFAULTS.passwordLength, 'password-length', _crypto_limits_js__WEBPACK_IMPORTED_MODULE_6__/* .MIN_PASSWORD_LENGTH */ .A, 1024);
    const passwordEncryption = get('password-encryption') || DEFAULTS.passwordEncryption;
    if (passwordEncryption !== 'scram-sha-256' && passwordEncryption !== 'server') {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('password-encryption', `'${passwordEncryption}' is not supported; use scram-sha-256 or server`);
    }
    return { passwordLength, passwordEncryption };
}
/** How long verify-drain waits, how often it looks, and when it terminates what is left. */
function parseDrainTimingInputs(get) {
    const timeoutMs = (0,_duration_js__WEBPACK_IMPORTED_MODULE_0__/* .parseDuration */ .E)(get('timeout') || DEFAULTS.timeout, 'timeout');
    const intervalMs = (0,_duration_js__WEBPACK_IMPORTED_MODULE_0__/* .parseDuration */ .E)(get('interval') || DEFAULTS.interval, 'interval');
    if (intervalMs <= 0)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('interval', 'must be greater than zero');
    const terminateAfterText = get('terminate-after');
    const terminateAfterMs = terminateAfterText ? (0,_duration_js__WEBPACK_IMPORTED_MODULE_0__/* .parseDuration */ .E)(terminateAfterText, 'terminate-after') : null;
    return { timeoutMs, intervalMs, terminateAfterMs };
}
function parseRotationId(text) {
    const rotationId = text || null;
    if (rotationId !== null && !_domain_state_js__WEBPACK_IMPORTED_MODULE_7__/* .ROTATION_ID */ .D3.test(rotationId)) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('rotation-id', `'${rotationId}' is not a rotation id; pass the rotation-id output of the open phase`);
    }
    return rotationId;
}
/** One connection URI a line; blank lines and # comments skipped. */
function parseReplicaUrls(text) {
    return text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((url) => ({ url: (0,_postgres_urls_js__WEBPACK_IMPORTED_MODULE_5__/* .checkConnectionUrl */ .U$)(url, 'replica-urls') }));
}
/** seal-key (read untrimmed: a passphrase is taken as given) and sealed-credentials, both required by unseal. */
function parseSealInputs(read, get, phase) {
    const sealKey = read('seal-key') || null;
    if (sealKey !== null && [...sealKey].length < _crypto_limits_js__WEBPACK_IMPORTED_MODULE_6__/* .SEAL_KEY_MIN_LENGTH */ .I) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('seal-key', `must be at least ${_crypto_limits_js__WEBPACK_IMPORTED_MODULE_6__/* .SEAL_KEY_MIN_LENGTH */ .I} characters; use a long random passphrase stored as a secret`);
    }
    const sealedCredentials = get('sealed-credentials') || null;
    if (phase === 'unseal') {
        if (!sealedCredentials)
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('sealed-credentials', 'is required by the unseal phase: pass the sealed-credentials output of setup or open');
        if (!sealKey)
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('seal-key', 'is required by the unseal phase: pass the same secret that sealed the credentials');
    }
    return { sealKey, sealedCredentials };
}
/**
 * The sealed credentials and the key that opens them. parseConfig already
 * requires both for unseal and for close with write-back; this narrows the
 * types, and says which input is missing should a new caller forget that.
 */
function sealedInput(cfg) {
    if (!cfg.sealedCredentials)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('sealed-credentials', 'is required here: pass the sealed-credentials output of setup or open');
    if (!cfg.sealKey)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('seal-key', 'is required to open sealed-credentials');
    return { sealed: cfg.sealedCredentials, key: cfg.sealKey };
}
/** The GitHub write-back; close can only write what it can unseal. */
function parseWriteBackInputs(get, env, phase, sealing) {
    const github = parseWriteBack(get, env);
    if (github && phase === 'close' && (!sealing.sealedCredentials || !sealing.sealKey)) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('sealed-credentials', "close writes the new credentials to GitHub secrets, so it needs them: pass sealed-credentials (the open step's output) and seal-key");
    }
    return github;
}
/** The drain threshold and the switches: terminate, force, adopt, fix-ownership. */
function parsePhaseOptions(get) {
    return {
        minNewConnections: parseInteger(get('min-new-connections') || DEFAULTS.minNewConnections, 'min-new-connections', 0, 1_000_000),
        terminate: parseBoolean(get('terminate'), 'terminate'),
        force: parseBoolean(get('force'), 'force'),
        adopt: parseBoolean(get('adopt'), 'adopt'),
        fixOwnership: parseBoolean(get('fix-ownership'), 'fix-ownership'),
    };
}
function readRunInfo(env) {
    return {
        runId: env.GITHUB_RUN_ID ?? '',
        runAttempt: env.GITHUB_RUN_ATTEMPT ?? '',
        workflow: env.GITHUB_WORKFLOW ?? '',
        repository: env.GITHUB_REPOSITORY ?? '',
        actor: env.GITHUB_ACTOR ?? '',
    };
}
function parseWriteBack(get, env) {
    const mapText = get('github-secrets');
    const token = get('github-token');
    if (!mapText && !token)
        return null;
    if (!mapText)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('github-secrets', 'is required with github-token: one SECRET_NAME=output per line (output: username, password or database-url)');
    if (!token)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('github-token', "is required with github-secrets: a fine-grained token or GitHub App token with Secrets: write (the workflow's GITHUB_TOKEN cannot write secrets)");
    const secrets = (0,_secret_map_js__WEBPACK_IMPORTED_MODULE_4__/* .parseSecretMap */ .MQ)(mapText);
    const repository = get('github-repository') || env.GITHUB_REPOSITORY || '';
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('github-repository', repository ? `'${repository}' is not owner/name` : 'is empty and GITHUB_REPOSITORY is not set; pass owner/name');
    }
    const apiUrl = env.GITHUB_API_URL || 'https://api.github.com';
    // Before any connection: setup writes back after its commit, so a refusal there would come too late.
    const insecure = (0,_github_api_url_js__WEBPACK_IMPORTED_MODULE_8__/* .insecureApiUrl */ .g)(apiUrl);
    if (insecure)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('github-secrets', insecure);
    return {
        token,
        secrets,
        repository,
        environment: get('github-environment') || null,
        apiUrl,
    };
}
function parseLogins(text, role) {
    const names = text ? text.split(',').map((s) => s.trim()) : [`${role}_a`, `${role}_b`];
    if (names.length !== 2 || names.some((n) => n === '')) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('login-roles', `must name exactly two login roles, comma-separated (got '${text}')`);
    }
    for (const n of names)
        (0,_names_js__WEBPACK_IMPORTED_MODULE_2__/* .checkRoleName */ .Ko)(n, text ? 'login-roles' : 'role');
    if (names[0] === names[1])
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('login-roles', `names the same role twice ('${names[0]}')`);
    if (names.includes(role))
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz('login-roles', `must not include the group role '${role}'`);
    return [names[0], names[1]];
}
function parseInteger(text, input, min, max) {
    if (!/^\d+$/.test(text))
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, `'${text}' is not a whole number`);
    const n = Number(text);
    if (n < min || n > max)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, `must be between ${min} and ${max} (got ${n})`);
    return n;
}
/** YAML 1.2 core-schema booleans, as @actions/core's getBooleanInput; empty is false. */
function parseBoolean(text, input) {
    if (text === '')
        return false;
    if (['true', 'True', 'TRUE'].includes(text))
        return true;
    if (['false', 'False', 'FALSE'].includes(text))
        return false;
    throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, `'${text}' is not a boolean; use true or false`);
}


/***/ }),

/***/ 1601:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   E: () => (/* binding */ parseDuration),
/* harmony export */   a: () => (/* binding */ formatDuration)
/* harmony export */ });
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(241);

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/**
 * Parses `90s`, `10m`, `1h`, `1h30m`, `250ms`, or a plain number of seconds
 * (`30`, `0.5`) into milliseconds. Rejects negative, empty and garbled values
 * with an error that names the input.
 */
function parseDuration(value, input) {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text))
        return Math.round(Number(text) * 1000);
    const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
    let total = 0;
    let matched = 0;
    let m;
    while ((m = part.exec(text)) !== null) {
        total += Number(m[1]) * UNIT_MS[m[2]];
        matched = part.lastIndex;
    }
    if (text === '' || matched !== text.length) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(input, `'${value}' is not a duration; use a number of seconds or a value such as 90s, 10m, 1h, 1h30m or 500ms`);
    }
    return Math.round(total);
}
/** 90000 -> "1m30s"; used in messages and summaries. */
function formatDuration(ms) {
    if (ms < 1000)
        return `${Math.round(ms)}ms`;
    let s = Math.round(ms / 1000);
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}


/***/ }),

/***/ 8543:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   g: () => (/* binding */ insecureApiUrl)
/* harmony export */ });
/* unused harmony export API_URL_VARIABLE */
/**
 * GITHUB_API_URL, the GitHub REST API the write-back talks to (set by the
 * runner; https://HOST/api/v3 on GitHub Enterprise Server). github-token and
 * the encrypted secrets travel to it, so plain http:// is refused unless the
 * host is this machine (a local stand-in, as the tests use).
 */
const API_URL_VARIABLE = 'GITHUB_API_URL';
/** Why the API URL must not be used, or null. Only a plain-http URL to a non-loopback host is refused here. */
function insecureApiUrl(url) {
    let u;
    try {
        u = new URL(url);
    }
    catch {
        return null; // apiRoot (src/github/secrets.ts) says what is wrong with it
    }
    if (u.protocol !== 'http:' || isLoopback(u.hostname))
        return null;
    return `${API_URL_VARIABLE} is http://${u.host}: plain HTTP to another host would send github-token and the secrets unencrypted, so nothing was written or changed. Set ${API_URL_VARIABLE} to an https:// URL (https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server); plain http:// is accepted only for a loopback address (localhost, 127.0.0.0/8, [::1])`;
}
function isLoopback(hostname) {
    return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}


/***/ }),

/***/ 5585:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   Ko: () => (/* binding */ checkRoleName),
/* harmony export */   ce: () => (/* binding */ quoteLiteral),
/* harmony export */   v4: () => (/* binding */ quoteIdent)
/* harmony export */ });
/* unused harmony export MAX_NAME_BYTES */
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(241);

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes. */
const MAX_NAME_BYTES = 63;
const RESERVED = new Set(['public', 'none', 'current_user', 'session_user', 'current_role', 'all']);
/**
 * Checks a role name before it reaches SQL. Names are always quoted when used,
 * so any character is safe there; this only rejects names PostgreSQL would
 * truncate, reserve or refuse.
 */
function checkRoleName(name, input) {
    if (name.length === 0)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(input, 'a role name is empty');
    // Control characters (tabs, line breaks, NUL) have no place in a role name, and a line
    // break could start a workflow command in the runner's log.
    // eslint-disable-next-line no-control-regex -- the control characters are what this rejects
    if (/[\x00-\x1f\x7f]/.test(name))
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(input, 'a role name contains a control character (tab, line break or similar)');
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > MAX_NAME_BYTES) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(input, `role name '${name}' is ${bytes} bytes; PostgreSQL would truncate it to ${MAX_NAME_BYTES} bytes, so use a shorter name`);
    }
    // PostgreSQL reserves these spellings exactly; "Public" or "None" are ordinary names.
    if (RESERVED.has(name))
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(input, `'${name}' is a reserved role name`);
    if (name.startsWith('pg_'))
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(input, `role names starting with 'pg_' are reserved by PostgreSQL ('${name}')`);
    return name;
}
/** Quotes an identifier for a message that shows SQL to run by hand (same rule as pg's escapeIdentifier). */
function quoteIdent(name) {
    return `"${name.replace(/"/g, '""')}"`;
}
/** Quotes a string literal for a message that shows SQL to run by hand (standard_conforming_strings on). */
function quoteLiteral(value) {
    return `'${value.replace(/'/g, "''")}'`;
}


/***/ }),

/***/ 235:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   D8: () => (/* binding */ parsePoolerUrls),
/* harmony export */   H0: () => (/* binding */ POOLER_INPUT),
/* harmony export */   TA: () => (/* binding */ splitUriList)
/* harmony export */ });
/* harmony import */ var pg_connection_string__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(984);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(241);
/* harmony import */ var _domain_escape_js__WEBPACK_IMPORTED_MODULE_2__ = __nccwpck_require__(9757);
/* harmony import */ var _postgres_urls_js__WEBPACK_IMPORTED_MODULE_3__ = __nccwpck_require__(1085);
/**
 * The `pgbouncer-urls` input: console URIs of the poolers in front of the
 * database. Pure parsing, apart from the console client, so that reading the
 * inputs at start-up does not load the PostgreSQL driver.
 */




/**
 * URIs one per line or comma-separated (a comma only splits before another
 * postgres:// URI, so a comma inside a password stays); # starts a comment line.
 */
function splitUriList(text) {
    return text
        .split(/\r?\n|,(?=\s*postgres(?:ql)?:\/\/)/)
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'));
}
const POOLER_INPUT = 'pgbouncer-urls';
/**
 * Console URIs, one per line or comma-separated (a comma only splits before
 * another postgres:// URI, so a comma inside a URI stays). Lines starting with
 * # are comments. Errors name the input and never repeat a URI.
 */
function parsePoolerUrls(text) {
    return splitUriList(text).map((url, i) => {
        try {
            (0,_postgres_urls_js__WEBPACK_IMPORTED_MODULE_3__/* .checkConnectionUrl */ .U$)(url, POOLER_INPUT);
        }
        catch (e) {
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(POOLER_INPUT, `entry ${i + 1} ${e.message.replace(/^input '[^']*': /, '')}`);
        }
        const c = (0,pg_connection_string__WEBPACK_IMPORTED_MODULE_0__/* .parse */ .qg)(url, { useLibpqCompat: true });
        if (c.host?.startsWith('/'))
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(POOLER_INPUT, `entry ${i + 1} names a Unix socket; give the pooler's host and port`);
        if (c.database && c.database !== 'pgbouncer') {
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(POOLER_INPUT, `entry ${i + 1} connects to database "${(0,_domain_escape_js__WEBPACK_IMPORTED_MODULE_2__/* .oneLine */ .TN)(c.database)}"; the admin console is the database pgbouncer (postgresql://user:password@host:6432/pgbouncer)`);
        }
        return { url, label: `${c.host || 'localhost'}:${c.port || 5432}`, line: i + 1 };
    });
}


/***/ }),

/***/ 8122:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   MQ: () => (/* binding */ parseSecretMap),
/* harmony export */   nL: () => (/* binding */ secretNameProblem)
/* harmony export */ });
/* unused harmony export SECRET_OUTPUTS */
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(241);
/**
 * The `github-secrets` input: which GitHub secrets receive which output. Pure,
 * and free of the GitHub client, so the config can use it at start-up.
 */

const SECRET_OUTPUTS = ['username', 'password', 'database-url'];
const INPUT = 'github-secrets';
/**
 * Parses `github-secrets`: one `SECRET_NAME=output` per line, output one of
 * username, password, database-url. Blank lines and lines starting with `#` are
 * ignored. Names follow GitHub's rules and are upper-cased, as GitHub does.
 */
function parseSecretMap(text) {
    const out = [];
    const seen = new Map();
    text.split(/\r?\n/).forEach((raw, i) => {
        const n = i + 1;
        const line = raw.trim();
        if (line === '' || line.startsWith('#'))
            return;
        const eq = line.indexOf('=');
        if (eq < 0)
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(INPUT, `line ${n}: expected SECRET_NAME=output, e.g. DB_PASSWORD=password`);
        const name = line.slice(0, eq).trim();
        const output = line.slice(eq + 1).trim();
        const problem = secretNameProblem(name);
        if (problem)
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(INPUT, `line ${n}: ${problem}`);
        const upper = name.toUpperCase();
        const first = seen.get(upper);
        if (first !== undefined) {
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(INPUT, `line ${n}: secret ${upper} is already written by line ${first} (secret names are case-insensitive); name each secret once`);
        }
        if (!SECRET_OUTPUTS.includes(output)) {
            // Echo only what looks like a misspelt output name: the text could be a pasted value.
            const shown = /^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(output)
                ? `'${output}' is not an output that can be written`
                : output === ''
                    ? 'no output after ='
                    : 'the text after = is not an output';
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(INPUT, `line ${n}: ${shown}; use one of ${SECRET_OUTPUTS.join(', ')}`);
        }
        seen.set(upper, n);
        out.push({ name: upper, output: output });
    });
    return out;
}
/** What is wrong with a secret name by GitHub's rules, or null. */
function secretNameProblem(name) {
    if (name === '')
        return 'the secret name before = is empty';
    if (!/^[A-Za-z0-9_]+$/.test(name)) {
        // eslint-disable-next-line no-control-regex -- a name with control characters is not echoed
        const shown = name.length <= 100 && !/[\0-\x1f\x7f]/.test(name) ? `'${name}' ` : '';
        return `secret name ${shown}may contain only letters, digits and underscores`;
    }
    if (/^[0-9]/.test(name))
        return `secret name '${name}' must not start with a digit`;
    if (/^GITHUB_/i.test(name))
        return `secret name '${name}' must not start with GITHUB_ (reserved by GitHub)`;
    return null;
}


/***/ }),

/***/ 3028:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   DU: () => (/* binding */ uriQuery),
/* harmony export */   E1: () => (/* binding */ certFileProblem),
/* harmony export */   I2: () => (/* binding */ FILE_PARAMS),
/* harmony export */   UI: () => (/* binding */ uriParamProblems),
/* harmony export */   vv: () => (/* binding */ authPolicy)
/* harmony export */ });
/* unused harmony exports AUTH_METHODS, parseRequireAuth */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__nccwpck_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/**
 * The libpq connection parameters a URI may carry, and what the action does
 * with each. A parameter means what it means in libpq, or the URI is refused
 * at input validation: a parameter silently ignored (`channel_binding=require`
 * that binds nothing, `sslcrl` that checks no revocation list) would promise a
 * protection the connection does not have. Pure: no driver, no network.
 */

/** Parameters the action honours, each with the values it accepts (undefined: any). */
const HONOURED = {
    host: undefined,
    port: undefined,
    user: undefined,
    password: undefined,
    application_name: undefined,
    fallback_application_name: undefined,
    options: undefined,
    client_encoding: undefined,
    connect_timeout: undefined,
    keepalives: ['0', '1'],
    keepalives_idle: undefined,
    sslmode: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
    sslnegotiation: ['postgres', 'direct'],
    sslrootcert: undefined,
    sslcert: undefined,
    sslkey: undefined,
    sslpassword: undefined,
    sslsni: ['1'],
    sslcertmode: ['allow'],
    sslcompression: ['0'],
    ssl_min_protocol_version: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    ssl_max_protocol_version: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    gssencmode: ['disable', 'prefer'],
    channel_binding: ['disable', 'prefer', 'require'],
    require_auth: undefined,
};
/** libpq parameters the action cannot honour, with what to do instead. */
const REFUSED = {
    dbname: 'give the database in the path instead (postgresql://host/dbname)',
    hostaddr: 'give the address as the host instead',
    passfile: 'give the password in the URI or PGPASSWORD instead',
    keepalives_interval: 'remove it (the connection uses the operating system default)',
    keepalives_count: 'remove it (the connection uses the operating system default)',
    tcp_user_timeout: 'remove it',
    replication: 'remove it (the action needs an ordinary connection)',
    requiressl: 'use sslmode=require instead',
    sslkeylogfile: 'remove it',
    sslcrl: 'certificate revocation lists are not supported; remove it, or revoke by replacing the CA',
    sslcrldir: 'certificate revocation lists are not supported; remove it, or revoke by replacing the CA',
    requirepeer: 'connect over TCP instead, or remove it',
    krbsrvname: 'Kerberos (GSSAPI) authentication is not supported; use password authentication (scram-sha-256)',
    gsslib: 'GSSAPI is not supported; remove it',
    gssdelegation: 'GSSAPI is not supported; remove it',
    service: 'service files are not read; give the host, port and database in the URI',
    target_session_attrs: 'one host per URI: remove it and give the host you mean',
    load_balance_hosts: 'one host per URI: remove it',
    min_protocol_version: 'remove it (the action speaks protocol 3.0)',
    max_protocol_version: 'remove it (the action speaks protocol 3.0)',
    scram_client_key: 'remove it',
    scram_server_key: 'remove it',
    oauth_issuer: 'OAuth is not supported; use password authentication',
    oauth_client_id: 'OAuth is not supported; use password authentication',
    oauth_client_secret: 'OAuth is not supported; use password authentication',
    oauth_scope: 'OAuth is not supported; use password authentication',
};
/** Why a value is refused, for parameters with a fixed set of values the action honours. */
const REFUSED_VALUES = {
    gssencmode: 'GSSAPI encryption is not supported; use gssencmode=disable (or prefer) with sslmode',
    sslsni: 'the action always sends SNI for a host name',
    sslcertmode: 'the client certificate is sent when the server asks for it (sslcertmode=allow)',
    sslcompression: 'TLS compression is not supported',
};
/** Files a URI names that the runner must read. */
const FILE_PARAMS = ['sslrootcert', 'sslcert', 'sslkey'];
const AUTH_METHODS = ['password', 'md5', 'scram-sha-256', 'gss', 'sspi', 'none'];
/**
 * Every problem with a URI's parameters, as "…" phrases that follow "input 'x': ".
 * `params` are the decoded query parameters, in order.
 */
function uriParamProblems(params) {
    const problems = [];
    const seen = new Map(params);
    for (const [key, value] of params) {
        if (key in REFUSED) {
            problems.push(`parameter ${key} is not supported: ${REFUSED[key]}`);
            continue;
        }
        if (!(key in HONOURED)) {
            problems.push(`parameter ${JSON.stringify(key)} is not a libpq connection parameter the action knows; remove it`);
            continue;
        }
        const values = HONOURED[key];
        if (values && !values.includes(value)) {
            const why = REFUSED_VALUES[key] ?? `expected one of ${values.join(', ')}`;
            problems.push(`${key}=${JSON.stringify(value)} is not supported: ${why}`);
        }
    }
    const ra = seen.get('require_auth');
    if (ra !== undefined) {
        try {
            parseRequireAuth(ra);
        }
        catch (e) {
            problems.push(e.message);
        }
    }
    for (const key of ['connect_timeout', 'keepalives_idle']) {
        const v = seen.get(key);
        if (v !== undefined && !/^\d+$/.test(v.trim()))
            problems.push(`${key}=${JSON.stringify(v)} must be whole seconds`);
    }
    if (seen.get('channel_binding') === 'require' && seen.get('sslmode') === 'disable')
        problems.push('channel_binding=require needs TLS, which sslmode=disable turns off');
    if (seen.get('sslnegotiation') === 'direct' && ['disable', 'allow', 'prefer'].includes(seen.get('sslmode') ?? ''))
        problems.push('sslnegotiation=direct needs sslmode=require, verify-ca or verify-full');
    if (seen.get('sslrootcert') === 'system' && seen.has('sslmode') && seen.get('sslmode') !== 'verify-full')
        problems.push(`sslrootcert=system needs sslmode=verify-full (or no sslmode), not ${seen.get('sslmode')}`);
    return problems;
}
/** The problem with a file a URI names (missing, unreadable), or null. */
function certFileProblem(param, path) {
    if (param === 'sslrootcert' && path === 'system')
        return null;
    try {
        (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.accessSync)(path, node_fs__WEBPACK_IMPORTED_MODULE_0__.constants.R_OK);
        return null;
    }
    catch (e) {
        const code = e.code;
        const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code})`;
        return `parameter ${param} names the file ${JSON.stringify(path)}, which ${why} on the runner; create it in an earlier step, or fix the path`;
    }
}
/** require_auth as libpq reads it: a comma list, all negated with '!' or none. */
function parseRequireAuth(text) {
    const items = text.split(',').map((s) => s.trim());
    const negated = items.map((s) => s.startsWith('!'));
    if (negated.some((n) => n !== negated[0]))
        throw new Error(`require_auth=${JSON.stringify(text)} mixes negated (!) and plain methods; use one kind`);
    const names = items.map((s) => s.replace(/^!/, ''));
    for (const n of names) {
        if (!AUTH_METHODS.includes(n))
            throw new Error(`require_auth=${JSON.stringify(text)} names ${JSON.stringify(n)}; expected a comma list of ${AUTH_METHODS.join(', ')} (each may be negated with !)`);
    }
    if (new Set(names).size !== names.length)
        throw new Error(`require_auth=${JSON.stringify(text)} repeats a method`);
    const listed = new Set(names);
    return negated[0] ? new Set(AUTH_METHODS.filter((m) => !listed.has(m))) : listed;
}
/** The authentication policy of a connection: URI parameters, else PGCHANNELBINDING / PGREQUIREAUTH. */
function authPolicy(params, env = {}) {
    const cb = params.get('channel_binding') ?? env.PGCHANNELBINDING ?? 'prefer';
    if (!['disable', 'prefer', 'require'].includes(cb))
        throw new Error(`channel_binding=${JSON.stringify(cb)}: expected disable, prefer or require`);
    const ra = params.get('require_auth') ?? env.PGREQUIREAUTH ?? null;
    return {
        channelBinding: cb,
        allowed: ra === null || ra === '' ? null : parseRequireAuth(ra),
        requireAuth: ra || null,
    };
}
/** The decoded query parameters of a postgres:// URI (empty when it has none or does not parse). */
function uriQuery(url) {
    try {
        return [...new URL(url.replace(/^postgres(ql)?:/, 'http:')).searchParams];
    }
    catch {
        return [];
    }
}


/***/ }),

/***/ 1085:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   JD: () => (/* binding */ checkAppUrl),
/* harmony export */   L_: () => (/* binding */ droppedAppUrlParams),
/* harmony export */   SL: () => (/* binding */ defaultAppUrl),
/* harmony export */   U$: () => (/* binding */ checkConnectionUrl),
/* harmony export */   aH: () => (/* binding */ maskUriSecrets),
/* harmony export */   p5: () => (/* binding */ buildDatabaseUrl),
/* harmony export */   yO: () => (/* binding */ clientConfig)
/* harmony export */ });
/* unused harmony export uriSecrets */
/* harmony import */ var pg_connection_string__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(984);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(241);
/* harmony import */ var _uri_params_js__WEBPACK_IMPORTED_MODULE_2__ = __nccwpck_require__(3028);



const URL_RE = /^(postgres(?:ql)?):\/\/([^/?#]*)(.*)$/s;
// Credentials of the admin connection that must not end up in the application's URL.
const CREDENTIAL_PARAMS = new Set(['user', 'password', 'passfile', 'sslpassword', 'sslcert', 'sslkey']);
// Parameters of the admin connection that name a file on the runner or the admin's own session:
// the default app URL (app-url empty) drops them, since the application runs elsewhere.
const RUNNER_ONLY_PARAMS = new Set([
    'service',
    'sslrootcert',
    'sslcrl',
    'sslcrldir',
    'application_name',
    'fallback_application_name',
]);
// Parameters whose value is a secret.
const SECRET_PARAMS = new Set(['password', 'sslpassword']);
// What pg-connection-string's result pg itself reads; the rest (channel_binding, require_auth,
// keepalives, connect_timeout, ...) is applied by connect() (see uri-params.ts).
const PG_CONFIG_KEYS = new Set([
    'host',
    'port',
    'user',
    'password',
    'database',
    'ssl',
    'sslnegotiation',
    'application_name',
    'fallback_application_name',
    'options',
    'client_encoding',
]);
/** Validates a connection URI; the message never repeats the URI (it may hold a password). */
function checkConnectionUrl(url, input) {
    if (!URL_RE.test(url)) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, 'is not a connection URI; expected postgresql://user:password@host:port/database?sslmode=...');
    }
    const malformed = () => new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, 'is a malformed connection URI (check percent-encoding of the user name and password)');
    try {
        new URL(url.replace(/^postgres(ql)?:/, 'http:'));
    }
    catch {
        throw malformed();
    }
    const params = (0,_uri_params_js__WEBPACK_IMPORTED_MODULE_2__/* .uriQuery */ .DU)(url);
    const problems = (0,_uri_params_js__WEBPACK_IMPORTED_MODULE_2__/* .uriParamProblems */ .UI)(params);
    if (problems.length)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, problems.join('; '));
    for (const [key, value] of params) {
        const problem = _uri_params_js__WEBPACK_IMPORTED_MODULE_2__/* .FILE_PARAMS */ .I2.includes(key) ? (0,_uri_params_js__WEBPACK_IMPORTED_MODULE_2__/* .certFileProblem */ .E1)(key, value) : null;
        if (problem)
            throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, problem);
    }
    try {
        (0,pg_connection_string__WEBPACK_IMPORTED_MODULE_0__/* .parse */ .qg)(withoutSystemRoot(url), { useLibpqCompat: true });
    }
    catch {
        throw malformed();
    }
    return url;
}
/**
 * `sslrootcert=system` (libpq 16+): the system's trusted CAs, with verify-full. Node's
 * default CA store stands for the system's; pg-connection-string would read a file named
 * "system", so the parameter is replaced by sslmode=verify-full before parsing.
 */
function withoutSystemRoot(url) {
    return url.replace(/([?&])sslrootcert=system(?=&|#|$)/, '$1sslmode=verify-full');
}
/**
 * pg client settings for a target. Connection-URI parameters follow libpq's
 * meaning (sslmode=require encrypts without verifying, verify-full verifies);
 * without a URI, pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and
 * PGSSLMODE itself.
 */
function clientConfig(target, override = {}) {
    const parsed = target.url
        ? (0,pg_connection_string__WEBPACK_IMPORTED_MODULE_0__/* .parse */ .qg)(withoutSystemRoot(target.url), { useLibpqCompat: true })
        : {};
    const base = {};
    for (const [k, v] of Object.entries(parsed))
        if (v !== undefined && v !== null && PG_CONFIG_KEYS.has(k))
            base[k] = v;
    if (typeof base.ssl === 'object' && base.ssl) {
        const { sslpassword } = parsed;
        if (sslpassword)
            base.ssl.passphrase = sslpassword;
    }
    return { ...base, ...override };
}
/**
 * Default `app-url`: the admin connection's host, port, database and parameters,
 * without its credentials and without what only the runner or the admin uses
 * (files on the runner, its application_name): see droppedAppUrlParams.
 */
function defaultAppUrl(target, env) {
    if (target.url) {
        const [scheme, authority, rest] = urlParts(target.url);
        const hostPart = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
        return `${scheme}://${hostPart}${stripParams(rest, (k) => CREDENTIAL_PARAMS.has(k) || RUNNER_ONLY_PARAMS.has(k))}`;
    }
    const host = env.PGHOST || 'localhost';
    const port = env.PGPORT || '5432';
    const db = env.PGDATABASE || env.PGUSER || 'postgres';
    // Percent-encode with encodeURIComponent (never '+' for a space: libpq reads '+' literally).
    const params = [];
    let authority;
    if (host.startsWith('/')) {
        params.push(`host=${encodeURIComponent(host)}`);
        if (env.PGPORT)
            params.push(`port=${encodeURIComponent(port)}`);
        authority = '';
    }
    else {
        authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    }
    if (env.PGSSLMODE)
        params.push(`sslmode=${encodeURIComponent(env.PGSSLMODE)}`);
    return `postgresql://${authority}/${encodeURIComponent(db)}${params.length ? `?${params.join('&')}` : ''}`;
}
/** Checks that `app-url` is a URI without credentials. */
function checkAppUrl(url, input) {
    const m = URL_RE.exec(url);
    if (!m)
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, 'is not a connection URI; expected postgresql://host:port/database?parameters');
    if (m[2].includes('@')) {
        throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, 'must not contain a user name or password; the action adds the credentials it issues');
    }
    const query = m[3].split('#')[0].split('?')[1];
    if (query) {
        for (const key of new URLSearchParams(query).keys()) {
            if (CREDENTIAL_PARAMS.has(key))
                throw new _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(input, `must not contain the '${key}' parameter; the action adds the credentials it issues`);
        }
    }
    return url;
}
/** `app-url` with the issued credentials, percent-encoded. */
function buildDatabaseUrl(appUrl, username, password) {
    const [scheme, authority, rest] = urlParts(appUrl);
    return `${scheme}://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${authority}${rest}`;
}
/**
 * What the default app URL leaves out of admin-url, besides the user and password: the
 * names of the runner-only and credential parameters it had (in order, once each), and
 * the sslmode it keeps (null when admin-url has none). Empty for the PG* environment,
 * whose default URL takes only host, port, database and PGSSLMODE.
 */
function droppedAppUrlParams(target) {
    if (!target.url)
        return { dropped: [], sslmode: null };
    const dropped = new Set();
    let sslmode = null;
    for (const [key, value] of queryPairs(urlParts(target.url)[2])) {
        if (key === 'sslmode')
            sslmode = value;
        else if (RUNNER_ONLY_PARAMS.has(key) || (CREDENTIAL_PARAMS.has(key) && key !== 'user' && key !== 'password'))
            dropped.add(key);
    }
    return { dropped: [...dropped], sslmode };
}
/** The decoded key=value pairs of a URI's query (after the authority). */
function queryPairs(rest) {
    const beforeHash = rest.split('#')[0];
    const q = beforeHash.indexOf('?');
    if (q < 0)
        return [];
    return beforeHash
        .slice(q + 1)
        .split('&')
        .filter((pair) => pair !== '')
        .map((pair) => {
        const eq = pair.indexOf('=');
        return eq < 0 ? [safeDecode(pair), ''] : [safeDecode(pair.slice(0, eq)), safeDecode(pair.slice(eq + 1))];
    });
}
/** Drops the parameters `drop` names, keeping every other parameter byte for byte. */
function stripParams(rest, drop) {
    const hash = rest.indexOf('#');
    const beforeHash = hash >= 0 ? rest.slice(0, hash) : rest;
    const q = beforeHash.indexOf('?');
    if (q < 0)
        return beforeHash;
    const kept = beforeHash
        .slice(q + 1)
        .split('&')
        .filter((pair) => pair !== '' && !drop(safeDecode(pair.split('=')[0])));
    return beforeHash.slice(0, q) + (kept.length ? `?${kept.join('&')}` : '');
}
function safeDecode(s) {
    try {
        return decodeURIComponent(s);
    }
    catch {
        return s;
    }
}
/**
 * Every form a connection URI's secrets can take, for masking: the URI itself;
 * the userinfo password as written (everything between the first ':' and the
 * last '@', so an unencoded '@' is kept), percent-decoded and as the URL
 * parser re-encodes it; each `password`/`sslpassword` parameter as written,
 * percent-decoded and form-decoded ('+' as space); and the password that `pg`
 * will send, from the parser `pg` uses (pg-connection-string). Never the user name.
 */
function uriSecrets(uri) {
    const forms = new Set([uri]);
    const m = URL_RE.exec(uri);
    if (m) {
        const at = m[2].lastIndexOf('@');
        const userinfo = at >= 0 ? m[2].slice(0, at) : '';
        if (userinfo.includes(':'))
            addDecodings(forms, userinfo.slice(userinfo.indexOf(':') + 1));
        const query = m[3].split('#')[0].split('?').slice(1).join('?');
        for (const pair of query.split('&')) {
            const eq = pair.indexOf('=');
            if (eq > 0 && SECRET_PARAMS.has(safeDecode(pair.slice(0, eq))))
                addDecodings(forms, pair.slice(eq + 1));
        }
    }
    for (const parsed of [parsedSecrets(uri), urlPassword(uri)])
        for (const v of parsed)
            forms.add(v);
    forms.delete('');
    return [...forms];
}
/** Registers every form of a URI's secrets with the front end (admin-url, replica-urls, any URI input). */
function maskUriSecrets(uri, reporter) {
    for (const s of uriSecrets(uri))
        reporter.secret(s);
}
function addDecodings(forms, raw) {
    forms.add(raw);
    forms.add(safeDecode(raw));
    forms.add(safeDecode(raw.replace(/\+/g, ' ')));
}
/** What pg will use: pg-connection-string's password and sslpassword. */
function parsedSecrets(uri) {
    try {
        const c = (0,pg_connection_string__WEBPACK_IMPORTED_MODULE_0__/* .parse */ .qg)(uri, { useLibpqCompat: true });
        return [c.password ?? '', c.sslpassword ?? ''];
    }
    catch {
        return [];
    }
}
/** The password as the WHATWG URL parser holds it (re-encoded, e.g. an unencoded '@' as %40). */
function urlPassword(uri) {
    try {
        return [new URL(uri.replace(/^postgres(ql)?:/, 'http:')).password];
    }
    catch {
        return [];
    }
}
/** Scheme, authority and the rest of a URI that checkConnectionUrl or checkAppUrl accepted. */
function urlParts(url) {
    const m = URL_RE.exec(url);
    if (!m)
        throw new Error('internal: a connection URI that was checked no longer parses');
    return [m[1], m[2], m[3]];
}


/***/ }),

/***/ 2613:
/***/ ((module) => {

module.exports = require("assert");

/***/ }),

/***/ 6982:
/***/ ((module) => {

module.exports = require("crypto");

/***/ }),

/***/ 2250:
/***/ ((module) => {

module.exports = require("dns");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = require("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = require("fs");

/***/ }),

/***/ 8611:
/***/ ((module) => {

module.exports = require("http");

/***/ }),

/***/ 5692:
/***/ ((module) => {

module.exports = require("https");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = require("net");

/***/ }),

/***/ 4589:
/***/ ((module) => {

module.exports = require("node:assert");

/***/ }),

/***/ 6698:
/***/ ((module) => {

module.exports = require("node:async_hooks");

/***/ }),

/***/ 4573:
/***/ ((module) => {

module.exports = require("node:buffer");

/***/ }),

/***/ 7540:
/***/ ((module) => {

module.exports = require("node:console");

/***/ }),

/***/ 7598:
/***/ ((module) => {

module.exports = require("node:crypto");

/***/ }),

/***/ 3053:
/***/ ((module) => {

module.exports = require("node:diagnostics_channel");

/***/ }),

/***/ 610:
/***/ ((module) => {

module.exports = require("node:dns");

/***/ }),

/***/ 8474:
/***/ ((module) => {

module.exports = require("node:events");

/***/ }),

/***/ 3024:
/***/ ((module) => {

module.exports = require("node:fs");

/***/ }),

/***/ 7067:
/***/ ((module) => {

module.exports = require("node:http");

/***/ }),

/***/ 2467:
/***/ ((module) => {

module.exports = require("node:http2");

/***/ }),

/***/ 1376:
/***/ ((module) => {

module.exports = require("node:module");

/***/ }),

/***/ 7030:
/***/ ((module) => {

module.exports = require("node:net");

/***/ }),

/***/ 8161:
/***/ ((module) => {

module.exports = require("node:os");

/***/ }),

/***/ 6760:
/***/ ((module) => {

module.exports = require("node:path");

/***/ }),

/***/ 643:
/***/ ((module) => {

module.exports = require("node:perf_hooks");

/***/ }),

/***/ 1792:
/***/ ((module) => {

module.exports = require("node:querystring");

/***/ }),

/***/ 7075:
/***/ ((module) => {

module.exports = require("node:stream");

/***/ }),

/***/ 1692:
/***/ ((module) => {

module.exports = require("node:tls");

/***/ }),

/***/ 3136:
/***/ ((module) => {

module.exports = require("node:url");

/***/ }),

/***/ 7975:
/***/ ((module) => {

module.exports = require("node:util");

/***/ }),

/***/ 3429:
/***/ ((module) => {

module.exports = require("node:util/types");

/***/ }),

/***/ 5919:
/***/ ((module) => {

module.exports = require("node:worker_threads");

/***/ }),

/***/ 8522:
/***/ ((module) => {

module.exports = require("node:zlib");

/***/ }),

/***/ 857:
/***/ ((module) => {

module.exports = require("os");

/***/ }),

/***/ 6928:
/***/ ((module) => {

module.exports = require("path");

/***/ }),

/***/ 2203:
/***/ ((module) => {

module.exports = require("stream");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = require("string_decoder");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = require("tls");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = require("util");

/***/ }),

/***/ 8253:
/***/ ((module) => {

module.exports = require("util/types");

/***/ }),

/***/ 984:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   qg: () => (/* binding */ parse)
/* harmony export */ });
/* unused harmony exports toClientConfig, parseIntoClientConfig */
/* harmony import */ var _index_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(6122);
// ESM wrapper for pg-connection-string


// Re-export the parse function
/* unused harmony default export */ var __WEBPACK_DEFAULT_EXPORT__ = (_index_js__WEBPACK_IMPORTED_MODULE_0__.parse);
const parse = _index_js__WEBPACK_IMPORTED_MODULE_0__.parse
const toClientConfig = _index_js__WEBPACK_IMPORTED_MODULE_0__.toClientConfig
const parseIntoClientConfig = _index_js__WEBPACK_IMPORTED_MODULE_0__.parseIntoClientConfig


/***/ })

/******/ 	});
/************************************************************************/
/******/ 	// The module cache
/******/ 	var __webpack_module_cache__ = {};
/******/ 	
/******/ 	// The require function
/******/ 	function __nccwpck_require__(moduleId) {
/******/ 		// Check if module is in cache
/******/ 		var cachedModule = __webpack_module_cache__[moduleId];
/******/ 		if (cachedModule !== undefined) {
/******/ 			return cachedModule.exports;
/******/ 		}
/******/ 		// Create a new module (and put it into the cache)
/******/ 		var module = __webpack_module_cache__[moduleId] = {
/******/ 			// no module.id needed
/******/ 			// no module.loaded needed
/******/ 			exports: {}
/******/ 		};
/******/ 	
/******/ 		// Execute the module function
/******/ 		var threw = true;
/******/ 		try {
/******/ 			__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 			threw = false;
/******/ 		} finally {
/******/ 			if(threw) delete __webpack_module_cache__[moduleId];
/******/ 		}
/******/ 	
/******/ 		// Return the exports of the module
/******/ 		return module.exports;
/******/ 	}
/******/ 	
/******/ 	// expose the modules object (__webpack_modules__)
/******/ 	__nccwpck_require__.m = __webpack_modules__;
/******/ 	
/************************************************************************/
/******/ 	/* webpack/runtime/asset-relocator-loader */
/******/ 	if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = __dirname + "/";
/******/ 	
/******/ 	/* webpack/runtime/compat get default export */
/******/ 	(() => {
/******/ 		// getDefaultExport function for compatibility with non-harmony modules
/******/ 		__nccwpck_require__.n = (module) => {
/******/ 			var getter = module && module.__esModule ?
/******/ 				() => (module['default']) :
/******/ 				() => (module);
/******/ 			__nccwpck_require__.d(getter, { a: getter });
/******/ 			return getter;
/******/ 		};
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/define property getters */
/******/ 	(() => {
/******/ 		// define getter functions for harmony exports
/******/ 		__nccwpck_require__.d = (exports, definition) => {
/******/ 			for(var key in definition) {
/******/ 				if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 					Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 				}
/******/ 			}
/******/ 		};
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/ensure chunk */
/******/ 	(() => {
/******/ 		__nccwpck_require__.f = {};
/******/ 		// This file contains only the entry chunk.
/******/ 		// The chunk loading function for additional chunks
/******/ 		__nccwpck_require__.e = (chunkId) => {
/******/ 			return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 				__nccwpck_require__.f[key](chunkId, promises);
/******/ 				return promises;
/******/ 			}, []));
/******/ 		};
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/get javascript chunk filename */
/******/ 	(() => {
/******/ 		// This function allow to reference async chunks
/******/ 		__nccwpck_require__.u = (chunkId) => {
/******/ 			// return url for filenames based on template
/******/ 			return "" + chunkId + ".index.cjs.js";
/******/ 		};
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/hasOwnProperty shorthand */
/******/ 	(() => {
/******/ 		__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ 	})();
/******/ 	
/******/ 	/* webpack/runtime/require chunk loading */
/******/ 	(() => {
/******/ 		// no baseURI
/******/ 		
/******/ 		// object to store loaded chunks
/******/ 		// "1" means "loaded", otherwise not loaded yet
/******/ 		var installedChunks = {
/******/ 			792: 1
/******/ 		};
/******/ 		
/******/ 		// no on chunks loaded
/******/ 		
/******/ 		var installChunk = (chunk) => {
/******/ 			var moreModules = chunk.modules, chunkIds = chunk.ids, runtime = chunk.runtime;
/******/ 			for(var moduleId in moreModules) {
/******/ 				if(__nccwpck_require__.o(moreModules, moduleId)) {
/******/ 					__nccwpck_require__.m[moduleId] = moreModules[moduleId];
/******/ 				}
/******/ 			}
/******/ 			if(runtime) runtime(__nccwpck_require__);
/******/ 			for(var i = 0; i < chunkIds.length; i++)
/******/ 				installedChunks[chunkIds[i]] = 1;
/******/ 		
/******/ 		};
/******/ 		
/******/ 		// require() chunk loading for javascript
/******/ 		__nccwpck_require__.f.require = (chunkId, promises) => {
/******/ 			// "1" is the signal for "already loaded"
/******/ 			if(!installedChunks[chunkId]) {
/******/ 				if(true) { // all chunks have JS
/******/ 					installChunk(require("./" + __nccwpck_require__.u(chunkId)));
/******/ 				} else installedChunks[chunkId] = 1;
/******/ 			}
/******/ 		};
/******/ 		
/******/ 		// no external install chunk
/******/ 		
/******/ 		// no HMR
/******/ 		
/******/ 		// no HMR manifest
/******/ 	})();
/******/ 	
/************************************************************************/
var __webpack_exports__ = {};
// The action's entry: action.yml runs dist/index.js, which scripts/build.mjs bundles from
// this file. CommonJS on purpose: ncc bundles a `.cjs` entry as CommonJS, and Node starts a
// CommonJS entry about 3 ms sooner than an ES module one (no module loader; measured in
// docs/benchmarks.md). The rest of src/ stays TypeScript modules; the bundler joins them.


// First: from here on, process.stdout (console.log too) writes through the adapter's one
// writer of file descriptor 1, whatever code touches it later (src/action/stdout.ts).
__nccwpck_require__(4007)/* .ownStdout */ .o()
__nccwpck_require__(803)/* .run */ .e()

module.exports = __webpack_exports__;
/******/ })()
;