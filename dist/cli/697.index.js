export const id = 697;
export const ids = [697];
export const modules = {

/***/ 6122:
/***/ ((module, __unused_webpack_exports, __webpack_require__) => {



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
  const fs = config.sslcert || config.sslkey || config.sslrootcert ? __webpack_require__(9896) : null

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

/***/ 697:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runCommand: () => (/* binding */ runCommand),
  usageError: () => (/* binding */ usageError)
});

// UNUSED EXPORTS: EXIT

// EXTERNAL MODULE: ./src/domain/errors.ts
var errors = __webpack_require__(241);
// EXTERNAL MODULE: ./src/cli/args.ts
var args = __webpack_require__(7593);
// EXTERNAL MODULE: ./src/cli/help.ts
var help = __webpack_require__(7911);
// EXTERNAL MODULE: ./src/inputs/config.ts
var config = __webpack_require__(2567);
// EXTERNAL MODULE: ./src/cli/inputs.generated.ts
var inputs_generated = __webpack_require__(4022);
;// CONCATENATED MODULE: ./src/cli/inputs.ts
/**
 * Flags and environment to the Config the action builds: the same parser (parseConfig), so
 * every value is checked, defaulted and refused with the same words, and no phase learns
 * which front door called it. Without --admin-url the core connects with the PG* variables
 * (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT,
 * PGSSLKEY), as psql does.
 */



/** Each input from its flag, else from its PG_ROTATION_ variable, else ''. */
function inputReader(cmd, env) {
    return (name) => {
        if (name === 'phase')
            return cmd.phase;
        return cmd.inputs[name] ?? env[(0,args/* envName */.pD)(name)] ?? '';
    };
}
function cliConfig(cmd, env) {
    const cfg = (0,config/* parseConfig */.o4)(inputReader(cmd, env), env);
    return { ...cfg, run: cliRunInfo(cfg.run, env) };
}
/** Names the CI run (pipeline, build) a phase belongs to, on a CI the CLI does not recognise. */
const RUN_ID_VARIABLE = 'PG_ROTATION_RUN_ID';
/** What a run id may hold: it is recorded in the state, printed, and part of application_name. */
const RUN_ID = /^[A-Za-z0-9._:/@+-]{1,200}$/;
const v = (env, name) => env[name] ?? '';
/** GitLab CI, Buildkite and Azure Pipelines, as their documentation names their variables. */
const CI_RUNS = [
    {
        // CI_PIPELINE_ID stays when a job is retried; CI_JOB_ID is the attempt.
        ci: 'GitLab CI',
        on: (env) => env.GITLAB_CI === 'true',
        prefix: 'gitlab',
        id: 'CI_PIPELINE_ID',
        info: (env) => ({
            runAttempt: v(env, 'CI_JOB_ID'),
            workflow: v(env, 'CI_PIPELINE_NAME'),
            repository: v(env, 'CI_PROJECT_PATH'),
            actor: v(env, 'GITLAB_USER_LOGIN'),
        }),
    },
    {
        // A retried job stays in its build (BUILDKITE_BUILD_ID, a UUID); BUILDKITE_RETRY_COUNT counts the retries.
        ci: 'Buildkite',
        on: (env) => env.BUILDKITE === 'true',
        prefix: 'buildkite',
        id: 'BUILDKITE_BUILD_ID',
        info: (env) => ({
            runAttempt: v(env, 'BUILDKITE_RETRY_COUNT'),
            workflow: v(env, 'BUILDKITE_PIPELINE_SLUG'),
            repository: v(env, 'BUILDKITE_ORGANIZATION_SLUG'),
            actor: v(env, 'BUILDKITE_BUILD_CREATOR'),
        }),
    },
    {
        // Re-running failed jobs keeps the run's Build.BuildId; System.JobAttempt counts the attempts.
        // A classic release job (Release.ReleaseId set) carries the Build.BuildId of its primary
        // artifact's build, the same in every release of that build: no run is known there.
        ci: 'Azure Pipelines',
        on: (env) => env.TF_BUILD?.toLowerCase() === 'true' && !env.RELEASE_RELEASEID?.trim(),
        prefix: 'azure',
        id: 'BUILD_BUILDID',
        info: (env) => ({
            runAttempt: v(env, 'SYSTEM_JOBATTEMPT'),
            workflow: v(env, 'BUILD_DEFINITIONNAME'),
            repository: v(env, 'BUILD_REPOSITORY_NAME'),
            actor: v(env, 'BUILD_REQUESTEDFOR'),
        }),
    },
];
/**
 * The run a phase belongs to, which the state records when open opens a rotation: only the
 * same run may re-run open (a retried job). The core reads GitHub Actions' GITHUB_RUN_ID
 * (`base`), which stays the same across re-run attempts. The CLI also knows, in this order:
 * PG_ROTATION_RUN_ID (any CI: the caller names the run); GitHub Actions; the CIs of CI_RUNS.
 * Elsewhere there is none, and a second open is refused.
 */
function cliRunInfo(base, env) {
    const explicit = env[RUN_ID_VARIABLE]?.trim();
    if (explicit)
        return { ...base, runId: checkedRunId(explicit, RUN_ID_VARIABLE) };
    if (base.runId)
        return base;
    for (const ci of CI_RUNS) {
        const id = ci.on(env) ? env[ci.id]?.trim() : undefined;
        if (id)
            return { runId: checkedRunId(`${ci.prefix}:${id}`, ci.id), ...ci.info(env) };
    }
    return base;
}
function checkedRunId(value, variable) {
    if (RUN_ID.test(value))
        return value;
    throw new args/* UsageError */.eb(`${variable} must name the CI run in letters, digits and . _ : / @ + - only (at most 200 characters), e.g. "myci:<the pipeline's id>"`);
}
/** Inputs given (as flags or variables) that the phase does not read: worth a warning, not an error. */
function unusedInputs(cmd, env) {
    const read = inputReader(cmd, env);
    // pgbouncer-urls: the core adds its own note.
    const ignored = inputs_generated/* CLI_INPUTS */.d.filter((i) => i.name !== 'pgbouncer-urls' && !i.phases.includes(cmd.phase));
    return ignored
        .filter((i) => read(i.name) !== '')
        .map((i) => `--${i.name} is not read by ${cmd.phase} (only by ${i.phases.join(', ')}).`);
}

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

;// CONCATENATED MODULE: ./src/cli/json.ts
/**
 * --json: one object on stdout for a pipeline, everything the action's outputs give:
 *   {"phase", "ok", "outputs": {<action output name>: value}, "changes", "notes", "error"}
 * Outputs keep their JSON types (remaining-connections a number, drained a boolean, status
 * an object). Secrets are included: the caller asked for them. `error` is text for a person,
 * masked as the terminal masks it (connection secrets always, issued credentials unless
 * --show-secrets), whether the phase returned its failure or threw it.
 */

function jsonResult(r, masker) {
    const outputs = {};
    for (const [field, name] of Object.entries(OUTPUT_NAMES))
        if (r.outputs[field] !== undefined)
            outputs[name] = r.outputs[field];
    if (r.status)
        outputs[STATUS_OUTPUT] = r.status;
    return {
        phase: r.phase,
        ok: !r.failure,
        outputs,
        changes: r.changes,
        notes: r.notes,
        error: r.failure === undefined ? null : masker.mask(r.failure),
    };
}
/** A phase that failed (or a command line refused) before it had a result. */
function jsonFailure(phase, error) {
    return { phase, ok: false, outputs: {}, changes: [], notes: [], error };
}
/**
 * The object as one line. `##[` (which can only occur inside a JSON string: server text such as
 * an application_name or an error) is written `\u0023#[`, the same string to a JSON parser: the
 * Actions runner obeys its older command form `##[cmd]` anywhere in a line of a step's output.
 */
function jsonLine(result) {
    return `${JSON.stringify(result).replace(/#(?=#\[)/g, '\\u0023')}\n`;
}

// EXTERNAL MODULE: ./src/inputs/pooler-urls.ts
var pooler_urls = __webpack_require__(235);
// EXTERNAL MODULE: ./src/postgres/urls.ts
var urls = __webpack_require__(1085);
;// CONCATENATED MODULE: ./src/cli/mask.ts
/**
 * What a person must not see unless they ask. Two kinds of secret:
 * - connection secrets (the passwords in admin-url, replica-urls and pgbouncer-urls in every
 *   form they can take, PGPASSWORD, seal-key, github-token): always shown as ***;
 * - the credentials a phase issues (registered through Reporter.secret: the new password and
 *   the database-url holding it): shown as *** unless --show-secrets.
 * The JSON output's values are not masked: the caller asked for them, and they go to a pipe; its
 * `error` (text for a person) is masked as the terminal is.
 */


const MASK = '***';
class Masker {
    showSecrets;
    always = new Set();
    issued = new Set();
    sorted = null;
    constructor(showSecrets) {
        this.showSecrets = showSecrets;
    }
    /** A secret of the connection: never shown. */
    connection(value) {
        this.add(this.always, value);
    }
    /** A credential the phase issued: shown only with --show-secrets. */
    issuedSecret(value) {
        this.add(this.issued, value);
    }
    /** Text with every secret it must not show replaced by ***, longest first (a URL before its password). */
    mask(text) {
        this.sorted ??= [...this.always, ...(this.showSecrets ? [] : this.issued)].sort((a, b) => b.length - a.length);
        let out = text;
        for (const s of this.sorted)
            if (out.includes(s))
                out = out.split(s).join(MASK);
        return out;
    }
    add(set, value) {
        if (value === '' || set.has(value))
            return;
        set.add(value);
        this.sorted = null;
    }
}
/** Registers the connection secrets of the inputs and environment, before anything runs. */
function maskConnectionSecrets(masker, read, env) {
    const uris = [read('admin-url'), ...read('replica-urls').split(/\r?\n/), ...(0,pooler_urls/* splitUriList */.TA)(read('pgbouncer-urls'))]
        .map((u) => u.trim())
        .filter(Boolean);
    for (const uri of uris)
        for (const s of (0,urls/* uriSecrets */.uP)(uri))
            masker.connection(s);
    if (env.PGPASSWORD)
        masker.connection(env.PGPASSWORD);
    for (const name of ['seal-key', 'github-token'])
        masker.connection(read(name));
}

// EXTERNAL MODULE: ./src/domain/family.ts
var family = __webpack_require__(5218);
// EXTERNAL MODULE: ./src/domain/state.ts
var state = __webpack_require__(781);
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

// EXTERNAL MODULE: ./src/domain/escape.ts
var domain_escape = __webpack_require__(9757);
;// CONCATENATED MODULE: ./src/cli/reporter.ts
/**
 * The terminal's Reporter: what the core says goes to stderr (stdout is the result's), each
 * line masked, with control characters escaped and no runner command (`::` or `##[` at a
 * line's start: the CLI may run inside a CI runner). Colour only when stderr is a terminal
 * that takes it (Node's hasColors: NO_COLOR, FORCE_COLOR, TERM). verify-drain's polls are
 * one line redrawn in place on a terminal, one line each elsewhere.
 */

// Every control character but tab and newline, DEL, C1 controls, line and paragraph separators, bidi overrides.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/**
 * Text for a terminal: control characters (escape sequences among them) written as \xNN, and
 * no runner command: `::` or `##[` at a line's start (logLine), nor `##[` anywhere in a line,
 * which the Actions runner's older command format also obeys.
 */
function terminalText(text) {
    const visible = text.replace(CONTROL, (c) => {
        const code = c.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    });
    return (0,domain_escape/* logLine */.BP)(visible).replace(/##\[/g, '\\x23#[');
}
const sgr = (open, close) => (s) => `\x1b[${open}m${s}\x1b[${close}m`;
const COLOURS = { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39) };
const PLAIN = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s, green: (s) => s };
/** Colours for a stream: only on a terminal that has them. */
function styleFor(out) {
    return out.isTTY && (out.hasColors?.() ?? true) ? COLOURS : PLAIN;
}
class TerminalReporter {
    err;
    masker;
    verbose;
    style;
    /** A progress line is on screen without its newline. */
    drawn = false;
    constructor(err, masker, verbose = false) {
        this.err = err;
        this.masker = masker;
        this.verbose = verbose;
        this.style = styleFor(err);
    }
    // Arrow properties: the core may call a method detached from the reporter ((r.notice ?? r.info)(m)).
    info = (message) => this.line(this.clean(message));
    notice = (message) => this.line(`${this.style.bold('notice:')} ${this.clean(message)}`);
    warning = (message) => this.line(`${this.style.yellow('warning:')} ${this.clean(message)}`);
    debug = (message) => {
        if (this.verbose)
            this.line(this.style.dim(`debug: ${this.clean(message)}`));
    };
    error = (message) => this.line(`${this.style.red('error:')} ${this.clean(message)}`);
    secret = (value) => this.masker.issuedSecret(value);
    progress = (message) => {
        const text = this.clean(message).replace(/\n/g, ' ');
        if (!this.err.isTTY)
            return this.line(text);
        const width = Math.max(20, (this.err.columns || 80) - 1); // a pty without a size says 0
        const shown = [...text].length > width ? `${[...text].slice(0, width - 1).join('')}…` : text;
        this.err.write(`\r\x1b[2K${shown}`);
        this.drawn = true;
    };
    /** Ends a progress line left on screen (the last poll stays visible). */
    finish() {
        if (this.drawn)
            this.err.write('\n');
        this.drawn = false;
    }
    line(text) {
        if (this.drawn)
            this.err.write('\r\x1b[2K');
        this.drawn = false;
        this.err.write(`${text}\n`);
    }
    clean(message) {
        return terminalText(this.masker.mask(message));
    }
}

;// CONCATENATED MODULE: ./src/cli/render.ts
/**
 * The result of a phase for a person at a terminal: what the job summary says, as plain
 * lines and aligned columns, each change as a sentence (src/domain/story.ts), the SQL with
 * --verbose. Every text that is not the CLI's own (role names, server text,
 * statements) is masked and has its control characters escaped; outputs keep the action's
 * names, so what a person reads matches the --json keys and the action's outputs.
 */





/** `sql`: list the statements executed (redacted) after the sentences that describe them (--verbose). */
function renderResult(r, masker, style, sql = false) {
    const t = (s) => terminalText(masker.mask(s)).replace(/\n/g, ' ');
    const verdict = r.failure ? style.red('failed') : style.green('done');
    const out = [`${style.bold(r.phase)} ${verdict}`, ...outputLines(r, masker, t), ''];
    if (!r.offline) {
        out.push(style.bold('Roles'), ...table(roleRows(r).map((row) => row.map(t))), '');
        if (r.poolers?.length)
            out.push(style.bold('Poolers'), ...poolerTable(r.poolers, loginNames(r), t), '');
    }
    if (r.status)
        out.push(...statusLines(r.status, t, style));
    if (!r.offline) {
        if (r.changes.length)
            out.push(style.bold('Changes'), ...describeChanges(r.changes).map((c) => `  ${t(c)}`), '');
        else
            out.push('No role was changed.', '');
        if (sql && r.changes.length)
            out.push(style.bold('Statements'), ...r.changes.map((c) => `  ${t(c)};`), '');
    }
    for (const n of r.notes)
        out.push(`${style.dim('note:')} ${t(n)}`);
    return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
/** The group role, then every output the phase set, by its action name (status: rendered below instead). */
function outputLines(r, masker, t) {
    const rows = [['group role', t(r.group)]];
    for (const [field, name] of Object.entries(OUTPUT_NAMES)) {
        const value = r.outputs[field];
        if (value === undefined)
            continue;
        const text = String(value);
        // A value holding a hidden secret (the password, database-url, pgbouncer-userlist's verifiers) is hidden whole.
        rows.push([name, masker.mask(text) !== text ? '***  (--show-secrets prints it)' : t(text)]);
    }
    return table(rows);
}
function loginNames(r) {
    return r.roles.logins.map((l) => l.name);
}
function roleRows(r) {
    const rows = [['role', 'kind', 'can log in', 'sessions', 'member of group', 'default role']];
    const g = r.roles.group;
    rows.push([r.group, 'group', g ? yesNo(g.canLogin) : 'missing', '', '', '']);
    for (const l of r.roles.logins) {
        if ('missing' in l)
            rows.push([l.name, 'login', 'missing', '', '', '']);
        else
            rows.push([
                l.name,
                'login',
                yesNo(l.canLogin),
                (0,family/* describeSessions */.Pj)(r.sessions, l.name),
                yesNo(l.member && l.canSet),
                l.defaultRole ?? '(none)',
            ]);
    }
    return rows;
}
function statusLines(st, t, style) {
    const out = [`${style.bold(t(st.group))}: ${t(st.description)}`];
    if (st.rotation) {
        const by = st.rotation.openedBy.runId
            ? ` (run ${st.rotation.openedBy.runId}${st.rotation.openedBy.actor ? ` by ${st.rotation.openedBy.actor}` : ''})`
            : '';
        out.push(t(`Open rotation ${st.rotation.id} since ${st.rotation.openedAt}${by}.`));
    }
    if (st.writtenBack)
        out.push(t((0,state/* describeWrittenBack */.Kc)(st.writtenBack)));
    out.push('');
    const rotated = Object.entries(st.passwordSetAt);
    if (rotated.length)
        out.push(...table([['login', 'password last set'], ...rotated].map((row) => row.map(t))), '');
    if (st.sessions.length) {
        const rows = [['login', 'server', 'database', 'application', 'client', 'sessions']];
        for (const x of st.sessions)
            rows.push([x.login, x.server, x.database ?? '', x.applicationName, x.clientAddr ?? 'local', String(x.count)]);
        out.push(style.bold('Sessions'), ...table(rows.map((row) => row.map(t))), '');
    }
    if (st.poolers?.length) {
        const logins = Object.keys(st.canLogin).filter((l) => l !== st.group);
        out.push(style.bold('Poolers'), ...poolerTable(st.poolers, logins, t), '');
        for (const p of st.poolers)
            for (const f of p.forcedUsers)
                out.push(t(`Pooler ${p.label}: database entry ${f.database} forces user ${f.user}; the server sees only that user, so drain and close cannot tell its clients' logins apart.`));
    }
    if (st.drift.length)
        out.push(style.bold('Drift'), ...table([['role', 'problem', 'detail'], ...st.drift.map((d) => [d.role, d.kind, d.detail])].map((r) => r.map(t))), '');
    else
        out.push('No drift.', '');
    return out;
}
function poolerTable(views, logins, t) {
    const rows = [['pooler', 'version', 'login', 'clients', 'server connections (in use)']];
    for (const v of views) {
        if (v.error !== undefined) {
            rows.push([v.label, `not readable: ${v.error}`, '', '', '']);
            continue;
        }
        const modes = 'poolModes' in v ? ` (${v.poolModes.join(', ')})` : '';
        for (const l of logins)
            rows.push([
                v.label,
                `${v.version}${modes}`,
                l,
                String(v.clients[l] ?? 0),
                `${v.servers[l]?.total ?? 0} (${v.servers[l]?.inUse ?? 0})`,
            ]);
    }
    return table(rows.map((row) => row.map(t)));
}
/** Rows as aligned columns, two spaces in, two between. */
function table(rows) {
    const widths = [];
    for (const row of rows)
        row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
    return rows.map((row) => `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - [...cell].length))).join('  ')}`.trimEnd());
}
function yesNo(b) {
    return b ? 'yes' : 'no';
}

;// CONCATENATED MODULE: ./src/cli/run.ts
/**
 * One phase from the command line: flags to Config (as the action does), the phase through
 * runPhase with the terminal's reporter, the result on stdout (for a person, or one JSON
 * object), and the exit status: 0 done or nothing to do, 1 failed or refused (the action's
 * words on stderr), 2 a usage error (naming the flag).
 */








const EXIT = { ok: 0, failed: 1, usage: 2 };
async function runCommand(cmd, io) {
    const masker = new Masker(cmd.showSecrets);
    // Before anything can print: the connection's secrets in every form they take.
    maskConnectionSecrets(masker, inputReader(cmd, io.env), io.env);
    const reporter = new TerminalReporter(io.stderr, masker, cmd.verbose);
    let cfg;
    try {
        cfg = cliConfig(cmd, io.env);
    }
    catch (e) {
        if (e instanceof args/* UsageError */.eb)
            return usageError(io, cmd.phase, e.message, cmd.json, masker);
        if (!(e instanceof errors/* InputError */.dz))
            throw e;
        return usageError(io, cmd.phase, `--${e.input}: ${e.message.replace(/^input '[^']*': /, '')}`, cmd.json, masker);
    }
    for (const w of unusedInputs(cmd, io.env))
        reporter.warning(w);
    try {
        // Loaded after the inputs are valid: a usage error never loads pg or the phases.
        const { runPhase } = await Promise.all(/* import() */[__webpack_require__.e(849), __webpack_require__.e(918)]).then(__webpack_require__.bind(__webpack_require__, 1918));
        const result = await runPhase(cfg, { reporter });
        reporter.finish();
        io.stdout.write(cmd.json ? jsonLine(jsonResult(result, masker)) : renderResult(result, masker, styleFor(io.stdout), cmd.verbose));
        if (!result.failure)
            return EXIT.ok;
        reporter.error(result.failure);
        return EXIT.failed;
    }
    catch (e) {
        reporter.finish();
        const message = e instanceof Error ? e.message : String(e);
        reporter.error(message);
        reporter.info((0,errors/* wasCommitted */.ii)(e)
            ? 'Some changes were made before the failure (a commit, GitHub secrets written, or sessions ended): the message above says which.'
            : 'Nothing was changed.');
        if (cmd.json)
            io.stdout.write(jsonLine(jsonFailure(cmd.phase, masker.mask(message))));
        return EXIT.failed;
    }
}
/** A command line that cannot run: the reason on stderr (and in the JSON object with --json), status 2. */
function usageError(io, phase, message, json, masker = new Masker(false)) {
    const reporter = new TerminalReporter(io.stderr, masker);
    reporter.error(message);
    reporter.info(`Run '${help/* BIN */.A} --help' for the phases and flags.`);
    if (json)
        io.stdout.write(jsonLine(jsonFailure(phase, masker.mask(message))));
    return EXIT.usage;
}


/***/ }),

/***/ 3153:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   BP: () => (/* binding */ logLine),
/* harmony export */   TN: () => (/* binding */ oneLine)
/* harmony export */ });
/* unused harmony exports RUNNER_WHITESPACE, markdownText, markdownCode */
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Ft: () => (/* binding */ describeAddr),
/* harmony export */   M1: () => (/* binding */ describeLoginSessions),
/* harmony export */   Pj: () => (/* binding */ describeSessions),
/* harmony export */   TH: () => (/* binding */ idOf),
/* harmony export */   iH: () => (/* binding */ foreignGrantees),
/* harmony export */   oL: () => (/* binding */ describeForeignGrantee),
/* harmony export */   yJ: () => (/* binding */ sessionCount)
/* harmony export */ });
/* harmony import */ var _escape_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(9757);

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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   XU: () => (/* binding */ sealedInput),
/* harmony export */   o4: () => (/* binding */ parseConfig)
/* harmony export */ });
/* unused harmony exports PHASES, DEFAULTS */
/* harmony import */ var _duration_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1601);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(241);
/* harmony import */ var _domain_state_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(781);
/* harmony import */ var _names_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(5585);
/* harmony import */ var _pooler_urls_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(235);
/* harmony import */ var _secret_map_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(8122);
/* harmony import */ var _github_api_url_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(8543);
/* harmony import */ var _crypto_limits_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(3153);
/* harmony import */ var _postgres_urls_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(1085);









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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   E: () => (/* binding */ parseDuration),
/* harmony export */   a: () => (/* binding */ formatDuration)
/* harmony export */ });
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(241);

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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Ko: () => (/* binding */ checkRoleName),
/* harmony export */   ce: () => (/* binding */ quoteLiteral),
/* harmony export */   v4: () => (/* binding */ quoteIdent)
/* harmony export */ });
/* unused harmony export MAX_NAME_BYTES */
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(241);

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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   D8: () => (/* binding */ parsePoolerUrls),
/* harmony export */   H0: () => (/* binding */ POOLER_INPUT),
/* harmony export */   TA: () => (/* binding */ splitUriList)
/* harmony export */ });
/* harmony import */ var pg_connection_string__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(984);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(241);
/* harmony import */ var _domain_escape_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(9757);
/* harmony import */ var _postgres_urls_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(1085);
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   MQ: () => (/* binding */ parseSecretMap),
/* harmony export */   nL: () => (/* binding */ secretNameProblem)
/* harmony export */ });
/* unused harmony export SECRET_OUTPUTS */
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(241);
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   DU: () => (/* binding */ uriQuery),
/* harmony export */   E1: () => (/* binding */ certFileProblem),
/* harmony export */   I2: () => (/* binding */ FILE_PARAMS),
/* harmony export */   UI: () => (/* binding */ uriParamProblems),
/* harmony export */   vv: () => (/* binding */ authPolicy)
/* harmony export */ });
/* unused harmony exports AUTH_METHODS, parseRequireAuth */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
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
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   JD: () => (/* binding */ checkAppUrl),
/* harmony export */   L_: () => (/* binding */ droppedAppUrlParams),
/* harmony export */   SL: () => (/* binding */ defaultAppUrl),
/* harmony export */   U$: () => (/* binding */ checkConnectionUrl),
/* harmony export */   p5: () => (/* binding */ buildDatabaseUrl),
/* harmony export */   uP: () => (/* binding */ uriSecrets),
/* harmony export */   yO: () => (/* binding */ clientConfig)
/* harmony export */ });
/* unused harmony export maskUriSecrets */
/* harmony import */ var pg_connection_string__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(984);
/* harmony import */ var _domain_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(241);
/* harmony import */ var _uri_params_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3028);



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

/***/ 984:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   qg: () => (/* binding */ parse)
/* harmony export */ });
/* unused harmony exports toClientConfig, parseIntoClientConfig */
/* harmony import */ var _index_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6122);
// ESM wrapper for pg-connection-string


// Re-export the parse function
/* unused harmony default export */ var __WEBPACK_DEFAULT_EXPORT__ = (_index_js__WEBPACK_IMPORTED_MODULE_0__.parse);
const parse = _index_js__WEBPACK_IMPORTED_MODULE_0__.parse
const toClientConfig = _index_js__WEBPACK_IMPORTED_MODULE_0__.toClientConfig
const parseIntoClientConfig = _index_js__WEBPACK_IMPORTED_MODULE_0__.parseIntoClientConfig


/***/ })

};
