"use strict";
exports.id = 298;
exports.ids = [298];
exports.modules = {

/***/ 298:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   writeSecrets: () => (/* binding */ writeSecrets)
/* harmony export */ });
/* unused harmony exports DEFAULT_API_URL, GitHubSecretsError */
/* harmony import */ var node_module__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1376);
/* harmony import */ var node_module__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_module__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_url__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3136);
/* harmony import */ var node_url__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_url__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var _domain_reporter_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(9231);
/* harmony import */ var _domain_retry_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(6906);
/* harmony import */ var _inputs_secret_map_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(8122);
/* harmony import */ var _inputs_github_api_url_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(8543);
/**
 * Writes the new credentials back to GitHub as repository or environment secrets.
 *
 * Each value is encrypted with the repository's (or environment's) public key as a
 * libsodium sealed box, as GitHub's REST API requires, and PUT with the key's id.
 * The token needs the "Secrets" permission with write access (a fine-grained
 * personal access token or a GitHub App installation token); the workflow's own
 * GITHUB_TOKEN cannot write secrets.
 *
 * Importing this module does nothing: @actions/github and libsodium (about 2 MB
 * together) are loaded by writeSecrets, so parseSecretMap can be used at config
 * time for free.
 */








const DEFAULT_API_URL = 'https://api.github.com';
/** Writing secrets failed. Says which were written before the failure; never carries the token or a value. */
class GitHubSecretsError extends Error {
    status;
    written;
    constructor(message, 
    /** HTTP status of the failed request; undefined for network errors and bad arguments. */
    status, 
    /** Secrets written before the failure. */
    written) {
        super(message);
        this.status = status;
        this.written = written;
        this.name = 'GitHubSecretsError';
    }
}
/** Encrypts each value with the repository's or environment's public key and writes it. */
async function writeSecrets(opts) {
    const request = checkRequest(opts);
    if (request.entries.length === 0)
        return { written: [] };
    const api = await connect(opts, request);
    const publicKey = await readPublicKey(api);
    for (const [name, value] of request.entries) {
        await putSecret(api, publicKey, name, value);
        api.written.push(name);
        api.reporter.info(`Wrote secret ${name} to ${api.target}.`);
    }
    return { written: api.written };
}
/** Checks the arguments before anything is loaded or sent; throws a GitHubSecretsError that says what to fix. */
function checkRequest(opts) {
    const tokenInput = opts.tokenInput ?? 'github-token';
    const refuse = (message) => new GitHubSecretsError(message, undefined, []);
    const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(opts.repository);
    if (!m)
        throw refuse(`'${opts.repository}' is not a repository; expected owner/name`);
    if (!opts.token)
        throw refuse(`${tokenInput} is empty; give a token with "Secrets: write" on ${opts.repository} to write secrets`);
    if (!/^[\x21-\x7e]+$/.test(opts.token)) {
        throw refuse(`${tokenInput} contains spaces, line breaks or other characters a token cannot have; check the secret it comes from`);
    }
    const baseUrl = apiRoot(opts.apiUrl || DEFAULT_API_URL);
    if (!baseUrl)
        throw refuse('the GitHub API URL is not an http(s) URL; set GITHUB_API_URL to https://api.github.com or https://HOST/api/v3');
    const insecure = (0,_inputs_github_api_url_js__WEBPACK_IMPORTED_MODULE_6__/* .insecureApiUrl */ .g)(baseUrl);
    if (insecure)
        throw refuse(insecure);
    const entries = Object.entries(opts.secrets);
    for (const [name, value] of entries) {
        const problem = (0,_inputs_secret_map_js__WEBPACK_IMPORTED_MODULE_5__/* .secretNameProblem */ .nL)(name);
        if (problem)
            throw refuse(problem);
        if (typeof value !== 'string' || value === '')
            throw refuse(`the value for secret ${name} is empty; GitHub does not store empty secrets`);
    }
    return { owner: m[1], repo: m[2], baseUrl, env: opts.environment || undefined, entries, tokenInput };
}
/** Loads libsodium and the GitHub client (only now: about 2 MB), with a log that never shows the token or a value. */
async function connect(opts, request) {
    const reporter = opts.reporter ?? _domain_reporter_js__WEBPACK_IMPORTED_MODULE_3__/* .silentReporter */ .P;
    const redact = redactor([opts.token, ...request.entries.map(([, v]) => v)]);
    const { env } = request;
    const sodium = await loadSodium();
    const { getOctokit } = await __webpack_require__.e(/* import() */ 413).then(__webpack_require__.bind(__webpack_require__, 2413));
    const octokit = getOctokit(opts.token, {
        baseUrl: request.baseUrl,
        userAgent: 'pg-credential-rotation',
        log: {
            debug: (msg) => reporter.debug(redact(msg)),
            info: (msg) => reporter.debug(redact(msg)),
            warn: (msg) => reporter.warning(redact(msg)),
            error: (msg) => reporter.debug(redact(msg)),
        },
    });
    return {
        opts,
        request,
        sodium,
        octokit,
        reporter,
        redact,
        target: env ? `environment '${env}' of ${opts.repository}` : `repository ${opts.repository}`,
        prefix: env
            ? '/repos/{owner}/{repo}/environments/{environment_name}/secrets'
            : '/repos/{owner}/{repo}/actions/secrets',
        written: [],
    };
}
/** The route parameters, version header and timeout every request carries. */
function requestParams(api) {
    const { owner, repo, env } = api.request;
    return {
        owner,
        repo,
        ...(env ? { environment_name: env } : {}),
        headers: { 'x-github-api-version': '2022-11-28' },
        request: { signal: AbortSignal.timeout(api.opts.requestTimeoutMs ?? 30_000) },
    };
}
async function readPublicKey(api) {
    const step = {
        kind: 'key',
        doing: `reading the public key of ${api.target}`,
        act: `read the public key of ${api.target}`,
        route: `GET ${api.prefix}/public-key`,
    };
    const publicKey = await callWithRetry(api, step, async () => {
        const res = await api.octokit.request(`GET ${api.prefix}/public-key`, requestParams(api));
        return parsePublicKey(res.data, api.sodium);
    });
    if (!publicKey) {
        throw new GitHubSecretsError(`GitHub API at ${api.request.baseUrl} returned a public key for ${api.target} that is not a 32-byte base64 key; no secret was written.`, undefined, api.written);
    }
    return publicKey;
}
/** Encrypts the value as a sealed box to the public key and writes it. */
async function putSecret(api, publicKey, name, value) {
    const { sodium } = api;
    const sealed = sodium.crypto_box_seal(sodium.from_string(value), publicKey.key);
    const encrypted = sodium.to_base64(sealed, sodium.base64_variants.ORIGINAL);
    const step = {
        kind: 'put',
        doing: `writing secret ${name} to ${api.target}`,
        act: `write secret ${name} to ${api.target}`,
        route: `PUT ${api.prefix}/{secret_name}`,
    };
    await callWithRetry(api, step, () => api.octokit.request(`PUT ${api.prefix}/{secret_name}`, {
        ...requestParams(api),
        secret_name: name,
        encrypted_value: encrypted,
        key_id: publicKey.keyId,
    }));
}
/** Runs a request, retrying 5xx and network errors; maps any failure to a GitHubSecretsError. */
async function callWithRetry(api, step, request) {
    const { redact, opts } = api;
    const delays = opts.retryDelaysMs ?? [1000, 3000];
    let attempts = 0;
    try {
        return await (0,_domain_retry_js__WEBPACK_IMPORTED_MODULE_4__/* .retryWithBackoff */ .Z)((attempt) => {
            attempts = attempt.number;
            return request();
        }, {
            clock: opts.clock,
            delaysMs: delays,
            isRetryable: (e) => classify(e, redact)?.retryable === true,
            onRetry: ({ error, attempt, delayMs }) => api.reporter.info(`GitHub API: ${step.doing} failed (${classify(error, redact)?.summary}); retrying in ${delayMs} ms (attempt ${attempt + 1} of ${delays.length + 1}).`),
        });
    }
    catch (e) {
        const f = classify(e, redact);
        if (!f)
            throw e;
        throw new GitHubSecretsError(redact(explainFailure(api, f, step, attempts)), f.status, [...api.written]);
    }
}
/** What failed, why, and what to do: for a 5xx or network error, a bad token, a rate limit, a missing permission. */
function explainFailure(api, f, what, attempts) {
    const { repository } = api.opts;
    const { env, tokenInput } = api.request;
    const written = api.written;
    const done = written.length ? ` Already written: ${written.join(', ')}.` : ' No secret was written.';
    const needs = env
        ? `it needs the "Secrets" and "Environments" repository permissions with write access on ${repository} (a fine-grained personal access token or a GitHub App installation token; a classic token needs the repo scope)`
        : `it needs the "Secrets" repository permission with write access on ${repository} (a fine-grained personal access token or a GitHub App installation token; a classic token needs the repo scope)`;
    const noGithubToken = "The workflow's GITHUB_TOKEN cannot write secrets, whatever its permissions: pass another token.";
    const apiAt = `GitHub API at ${api.request.baseUrl}`;
    if (f.status === undefined || f.status >= 500) {
        const tried = attempts > 1 ? ` after ${attempts} attempts` : '';
        return `${apiAt} failed while ${what.doing}${tried}: ${f.summary}. Check the API URL and GitHub's status, then run the phase again.${done}`;
    }
    if (f.status === 401) {
        return `${apiAt} rejected the token in ${tokenInput} (401 ${f.message || 'Bad credentials'}): it is invalid, expired or revoked. Give a current token; ${needs}.${done}`;
    }
    if (f.rateLimited) {
        const reset = f.rateLimitReset ? `; the limit resets at ${f.rateLimitReset}` : '';
        return `${apiAt} refused ${what.doing} because the token's rate limit is exhausted (${f.status})${reset}. Run the phase again later.${done}`;
    }
    if (f.status === 404 && env && what.kind === 'key') {
        return `${apiAt} found no environment '${env}' in ${repository} (404 on ${what.route}): create it under Settings > Environments or fix the environment name. If it exists, the token in ${tokenInput} cannot see it: ${needs}.${done}`;
    }
    if (f.status === 403 || f.status === 404) {
        const missing = f.status === 404 ? `, or ${repository} does not exist or is not visible to it` : '';
        return `The token in ${tokenInput} may not ${what.act} (${f.summary} on ${what.route})${missing}: ${needs}. ${noGithubToken}${done}`;
    }
    return `${apiAt} refused ${what.doing} (${f.summary} on ${what.route}).${done}`;
}
/** Reads an Octokit RequestError; null for anything else (a bug, rethrown as is). Redacts before shortening. */
function classify(e, redact) {
    if (!(e instanceof Error) || typeof e.status !== 'number')
        return null;
    const err = e;
    if (!err.response) {
        // Octokit reports a failed fetch (refused, reset, DNS, timeout) as status 500 without a response.
        const cause = err.cause;
        const timedOut = err.name === 'AbortError' || cause?.name === 'TimeoutError' || cause?.name === 'AbortError';
        const detail = timedOut ? 'no answer within the request timeout' : redact(err.message || 'unknown').slice(0, 200);
        return { status: undefined, message: '', summary: `network error: ${detail}`, retryable: true, rateLimited: false };
    }
    const status = err.status;
    const data = err.response.data;
    const message = typeof data?.message === 'string' ? redact(data.message).slice(0, 200) : '';
    const h = err.response.headers ?? {};
    const rateLimited = status === 429 || (status === 403 && (h['x-ratelimit-remaining'] === '0' || /rate limit/i.test(message)));
    const resetEpoch = Number(h['x-ratelimit-reset']);
    return {
        status,
        message,
        summary: `${status}${message ? ` ${message}` : ''}`,
        retryable: status >= 500,
        rateLimited,
        rateLimitReset: resetEpoch > 0 ? new Date(resetEpoch * 1000).toISOString() : undefined,
    };
}
function parsePublicKey(data, sodium) {
    const d = data;
    if (!d || typeof d.key !== 'string' || (typeof d.key_id !== 'string' && typeof d.key_id !== 'number'))
        return null;
    try {
        const key = sodium.from_base64(d.key, sodium.base64_variants.ORIGINAL);
        return key.length === sodium.crypto_box_PUBLICKEYBYTES ? { keyId: String(d.key_id), key } : null;
    }
    catch {
        return null;
    }
}
/**
 * libsodium-wrappers 0.7's ES-module build imports './libsodium.mjs', a file the
 * package does not ship, so it cannot be imported (neither by Node nor by ncc).
 * The CommonJS build works:
 * - in the ncc bundle, `require` is webpack's and bundles it; libsodium's loader
 *   reads `__dirname`, which an ES-module bundle lacks, so it is provided while
 *   the module initialises;
 * - unbundled (vitest, plain Node), `createRequire` loads it.
 */
async function loadSodium() {
    let sodium;
    if (true) {
        const g = globalThis;
        const provided = !('__dirname' in g);
        if (provided)
            g.__dirname = (0,node_path__WEBPACK_IMPORTED_MODULE_1__.dirname)((0,node_url__WEBPACK_IMPORTED_MODULE_2__.fileURLToPath)(require("url").pathToFileURL(__filename).href));
        try {
            // The bundler's require, on purpose: createRequire would load from a node_modules the bundle does not have.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            sodium = __webpack_require__(7071);
        }
        finally {
            if (provided)
                delete g.__dirname;
        }
    }
    else {}
    await sodium.ready;
    return sodium;
}
/** Replaces every occurrence of the given secrets (and their URI-encoded forms) with ***. */
function redactor(secrets) {
    const needles = new Set();
    for (const s of secrets) {
        if (s.length < 4)
            continue;
        needles.add(s);
        needles.add(encodeURIComponent(s));
    }
    const sorted = [...needles].sort((a, b) => b.length - a.length);
    return (text) => sorted.reduce((t, s) => t.split(s).join('***'), text);
}
/** The API root without trailing slashes; null unless an http(s) URL without credentials, query or fragment. */
function apiRoot(url) {
    let u;
    try {
        u = new URL(url);
    }
    catch {
        return null;
    }
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash)
        return null;
    return url.replace(/\/+$/, '');
}


/***/ })

};
;