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
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { silentReporter, type Reporter } from '../domain/reporter.js'
import type { Clock } from '../domain/clock.js'
import { retryWithBackoff } from '../domain/retry.js'

export {
  SECRET_OUTPUTS,
  parseSecretMap,
  secretNameProblem,
  type SecretMapping,
  type SecretOutput,
} from '../inputs/secret-map.js'
import { secretNameProblem } from '../inputs/secret-map.js'
import { insecureApiUrl } from '../inputs/github-api-url.js'

export const DEFAULT_API_URL = 'https://api.github.com'

export interface WriteSecretsOptions {
  /** Fine-grained personal access token or GitHub App token with "Secrets: write". */
  token: string
  /** REST API root: GITHUB_API_URL (https://HOST/api/v3 on GitHub Enterprise Server). Default https://api.github.com. */
  apiUrl?: string
  /** owner/name */
  repository: string
  /** Write environment secrets of this environment instead of repository secrets. */
  environment?: string
  /** Secret name -> plaintext value. Written in this order. */
  secrets: Record<string, string>
  reporter?: Reporter
  /** Waits before the 2nd, 3rd... attempt after a 5xx or network error. Default [1000, 3000]: 3 attempts. */
  retryDelaysMs?: readonly number[]
  /** Waits between attempts with this clock. Default: systemClock. */
  clock?: Clock
  /** Per request. Default 30 s. */
  requestTimeoutMs?: number
  /** The input the token comes from, for messages. Default 'github-token'. */
  tokenInput?: string
}

export interface WriteSecretsResult {
  /** Names written, in order. */
  written: string[]
}

/** Writing secrets failed. Says which were written before the failure; never carries the token or a value. */
export class GitHubSecretsError extends Error {
  constructor(
    message: string,
    /** HTTP status of the failed request; undefined for network errors and bad arguments. */
    readonly status: number | undefined,
    /** Secrets written before the failure. */
    readonly written: string[],
  ) {
    super(message)
    this.name = 'GitHubSecretsError'
  }
}

interface PublicKey {
  keyId: string
  key: Uint8Array
}

/** Encrypts each value with the repository's or environment's public key and writes it. */
export async function writeSecrets(opts: WriteSecretsOptions): Promise<WriteSecretsResult> {
  const request = checkRequest(opts)
  if (request.entries.length === 0) return { written: [] }
  const api = await connect(opts, request)
  const publicKey = await readPublicKey(api)
  for (const [name, value] of request.entries) {
    await putSecret(api, publicKey, name, value)
    api.written.push(name)
    api.reporter.info(`Wrote secret ${name} to ${api.target}.`)
  }
  return { written: api.written }
}

/** A write request whose arguments have been checked. */
interface CheckedRequest {
  owner: string
  repo: string
  /** The API root, without trailing slashes. */
  baseUrl: string
  env: string | undefined
  entries: [string, string][]
  tokenInput: string
}

/** Checks the arguments before anything is loaded or sent; throws a GitHubSecretsError that says what to fix. */
function checkRequest(opts: WriteSecretsOptions): CheckedRequest {
  const tokenInput = opts.tokenInput ?? 'github-token'
  const refuse = (message: string) => new GitHubSecretsError(message, undefined, [])
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(opts.repository)
  if (!m) throw refuse(`'${opts.repository}' is not a repository; expected owner/name`)
  if (!opts.token)
    throw refuse(`${tokenInput} is empty; give a token with "Secrets: write" on ${opts.repository} to write secrets`)
  if (!/^[\x21-\x7e]+$/.test(opts.token)) {
    throw refuse(
      `${tokenInput} contains spaces, line breaks or other characters a token cannot have; check the secret it comes from`,
    )
  }
  const baseUrl = apiRoot(opts.apiUrl || DEFAULT_API_URL)
  if (!baseUrl)
    throw refuse(
      'the GitHub API URL is not an http(s) URL; set GITHUB_API_URL to https://api.github.com or https://HOST/api/v3',
    )
  const insecure = insecureApiUrl(baseUrl)
  if (insecure) throw refuse(insecure)
  const entries = Object.entries(opts.secrets)
  for (const [name, value] of entries) {
    const problem = secretNameProblem(name)
    if (problem) throw refuse(problem)
    if (typeof value !== 'string' || value === '')
      throw refuse(`the value for secret ${name} is empty; GitHub does not store empty secrets`)
  }
  return { owner: m[1], repo: m[2], baseUrl, env: opts.environment || undefined, entries, tokenInput }
}

type Octokit = ReturnType<typeof import('@actions/github').getOctokit>

/** Everything a request to the secrets API needs, and the names written so far. */
interface SecretsApi {
  opts: WriteSecretsOptions
  request: CheckedRequest
  sodium: Sodium
  octokit: Octokit
  reporter: Reporter
  redact: (text: string) => string
  /** "repository o/r" or "environment 'e' of o/r" */
  target: string
  /** The secrets route of the repository or environment, with {owner}/{repo}/{environment_name}. */
  prefix: string
  /** Names written, in order. */
  written: string[]
}

/** Loads libsodium and the GitHub client (only now: about 2 MB), with a log that never shows the token or a value. */
async function connect(opts: WriteSecretsOptions, request: CheckedRequest): Promise<SecretsApi> {
  const reporter = opts.reporter ?? silentReporter
  const redact = redactor([opts.token, ...request.entries.map(([, v]) => v)])
  const { env } = request
  const sodium = await loadSodium()
  const { getOctokit } = await import('@actions/github')
  const octokit = getOctokit(opts.token, {
    baseUrl: request.baseUrl,
    userAgent: 'pg-credential-rotation',
    log: {
      debug: (msg: string) => reporter.debug(redact(msg)),
      info: (msg: string) => reporter.debug(redact(msg)),
      warn: (msg: string) => reporter.warning(redact(msg)),
      error: (msg: string) => reporter.debug(redact(msg)),
    },
  })
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
  }
}

/** The route parameters, version header and timeout every request carries. */
function requestParams(api: SecretsApi) {
  const { owner, repo, env } = api.request
  return {
    owner,
    repo,
    ...(env ? { environment_name: env } : {}),
    headers: { 'x-github-api-version': '2022-11-28' },
    request: { signal: AbortSignal.timeout(api.opts.requestTimeoutMs ?? 30_000) },
  }
}

async function readPublicKey(api: SecretsApi): Promise<PublicKey> {
  const step: Step = {
    kind: 'key',
    doing: `reading the public key of ${api.target}`,
    act: `read the public key of ${api.target}`,
    route: `GET ${api.prefix}/public-key`,
  }
  const publicKey = await callWithRetry(api, step, async () => {
    const res = await api.octokit.request(`GET ${api.prefix}/public-key`, requestParams(api))
    return parsePublicKey(res.data, api.sodium)
  })
  if (!publicKey) {
    throw new GitHubSecretsError(
      `GitHub API at ${api.request.baseUrl} returned a public key for ${api.target} that is not a 32-byte base64 key; no secret was written.`,
      undefined,
      api.written,
    )
  }
  return publicKey
}

/** Encrypts the value as a sealed box to the public key and writes it. */
async function putSecret(api: SecretsApi, publicKey: PublicKey, name: string, value: string): Promise<void> {
  const { sodium } = api
  const sealed = sodium.crypto_box_seal(sodium.from_string(value), publicKey.key)
  const encrypted = sodium.to_base64(sealed, sodium.base64_variants.ORIGINAL)
  const step: Step = {
    kind: 'put',
    doing: `writing secret ${name} to ${api.target}`,
    act: `write secret ${name} to ${api.target}`,
    route: `PUT ${api.prefix}/{secret_name}`,
  }
  await callWithRetry(api, step, () =>
    api.octokit.request(`PUT ${api.prefix}/{secret_name}`, {
      ...requestParams(api),
      secret_name: name,
      encrypted_value: encrypted,
      key_id: publicKey.keyId,
    }),
  )
}

/** Runs a request, retrying 5xx and network errors; maps any failure to a GitHubSecretsError. */
async function callWithRetry<T>(api: SecretsApi, step: Step, request: () => Promise<T>): Promise<T> {
  const { redact, opts } = api
  const delays = opts.retryDelaysMs ?? [1000, 3000]
  let attempts = 0
  try {
    return await retryWithBackoff(
      (attempt) => {
        attempts = attempt.number
        return request()
      },
      {
        clock: opts.clock,
        delaysMs: delays,
        isRetryable: (e) => classify(e, redact)?.retryable === true,
        onRetry: ({ error, attempt, delayMs }) =>
          api.reporter.info(
            `GitHub API: ${step.doing} failed (${classify(error, redact)?.summary}); retrying in ${delayMs} ms (attempt ${attempt + 1} of ${delays.length + 1}).`,
          ),
      },
    )
  } catch (e) {
    const f = classify(e, redact)
    if (!f) throw e
    throw new GitHubSecretsError(redact(explainFailure(api, f, step, attempts)), f.status, [...api.written])
  }
}

/** What failed, why, and what to do: for a 5xx or network error, a bad token, a rate limit, a missing permission. */
function explainFailure(api: SecretsApi, f: Failure, what: Step, attempts: number): string {
  const { repository } = api.opts
  const { env, tokenInput } = api.request
  const written = api.written
  const done = written.length ? ` Already written: ${written.join(', ')}.` : ' No secret was written.'
  const needs = env
    ? `it needs the "Secrets" and "Environments" repository permissions with write access on ${repository} (a fine-grained personal access token or a GitHub App installation token; a classic token needs the repo scope)`
    : `it needs the "Secrets" repository permission with write access on ${repository} (a fine-grained personal access token or a GitHub App installation token; a classic token needs the repo scope)`
  const noGithubToken =
    "The workflow's GITHUB_TOKEN cannot write secrets, whatever its permissions: pass another token."
  const apiAt = `GitHub API at ${api.request.baseUrl}`
  if (f.status === undefined || f.status >= 500) {
    const tried = attempts > 1 ? ` after ${attempts} attempts` : ''
    return `${apiAt} failed while ${what.doing}${tried}: ${f.summary}. Check the API URL and GitHub's status, then run the phase again.${done}`
  }
  if (f.status === 401) {
    return `${apiAt} rejected the token in ${tokenInput} (401 ${f.message || 'Bad credentials'}): it is invalid, expired or revoked. Give a current token; ${needs}.${done}`
  }
  if (f.rateLimited) {
    const reset = f.rateLimitReset ? `; the limit resets at ${f.rateLimitReset}` : ''
    return `${apiAt} refused ${what.doing} because the token's rate limit is exhausted (${f.status})${reset}. Run the phase again later.${done}`
  }
  if (f.status === 404 && env && what.kind === 'key') {
    return `${apiAt} found no environment '${env}' in ${repository} (404 on ${what.route}): create it under Settings > Environments or fix the environment name. If it exists, the token in ${tokenInput} cannot see it: ${needs}.${done}`
  }
  if (f.status === 403 || f.status === 404) {
    const missing = f.status === 404 ? `, or ${repository} does not exist or is not visible to it` : ''
    return `The token in ${tokenInput} may not ${what.act} (${f.summary} on ${what.route})${missing}: ${needs}. ${noGithubToken}${done}`
  }
  return `${apiAt} refused ${what.doing} (${f.summary} on ${what.route}).${done}`
}

interface Step {
  kind: 'key' | 'put'
  /** "reading the public key of repository o/r" */
  doing: string
  /** "read the public key of repository o/r" */
  act: string
  /** "GET /repos/{owner}/{repo}/actions/secrets/public-key" */
  route: string
}

interface Failure {
  /** undefined: no HTTP response (network error, timeout). */
  status: number | undefined
  /** GitHub's message, without the documentation link. */
  message: string
  summary: string
  retryable: boolean
  rateLimited: boolean
  rateLimitReset?: string
}

/** Reads an Octokit RequestError; null for anything else (a bug, rethrown as is). Redacts before shortening. */
function classify(e: unknown, redact: (text: string) => string): Failure | null {
  if (!(e instanceof Error) || typeof (e as { status?: unknown }).status !== 'number') return null
  const err = e as Error & {
    status: number
    response?: { headers?: Record<string, string | undefined>; data?: unknown }
  }
  if (!err.response) {
    // Octokit reports a failed fetch (refused, reset, DNS, timeout) as status 500 without a response.
    const cause = (err as { cause?: { name?: string; message?: string } }).cause
    const timedOut = err.name === 'AbortError' || cause?.name === 'TimeoutError' || cause?.name === 'AbortError'
    const detail = timedOut ? 'no answer within the request timeout' : redact(err.message || 'unknown').slice(0, 200)
    return { status: undefined, message: '', summary: `network error: ${detail}`, retryable: true, rateLimited: false }
  }
  const status = err.status
  const data = err.response.data as { message?: unknown } | undefined
  const message = typeof data?.message === 'string' ? redact(data.message).slice(0, 200) : ''
  const h = err.response.headers ?? {}
  const rateLimited =
    status === 429 || (status === 403 && (h['x-ratelimit-remaining'] === '0' || /rate limit/i.test(message)))
  const resetEpoch = Number(h['x-ratelimit-reset'])
  return {
    status,
    message,
    summary: `${status}${message ? ` ${message}` : ''}`,
    retryable: status >= 500,
    rateLimited,
    rateLimitReset: resetEpoch > 0 ? new Date(resetEpoch * 1000).toISOString() : undefined,
  }
}

type Sodium = typeof import('libsodium-wrappers')

function parsePublicKey(data: unknown, sodium: Sodium): PublicKey | null {
  const d = data as { key?: unknown; key_id?: unknown } | null
  if (!d || typeof d.key !== 'string' || (typeof d.key_id !== 'string' && typeof d.key_id !== 'number')) return null
  try {
    const key = sodium.from_base64(d.key, sodium.base64_variants.ORIGINAL)
    return key.length === sodium.crypto_box_PUBLICKEYBYTES ? { keyId: String(d.key_id), key } : null
  } catch {
    return null
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
async function loadSodium(): Promise<Sodium> {
  let sodium: Sodium
  if (typeof require === 'function') {
    const g = globalThis as { __dirname?: string }
    const provided = !('__dirname' in g)
    if (provided) g.__dirname = dirname(fileURLToPath(import.meta.url))
    try {
      // The bundler's require, on purpose: createRequire would load from a node_modules the bundle does not have.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      sodium = require('libsodium-wrappers') as Sodium
    } finally {
      if (provided) delete g.__dirname
    }
  } else {
    sodium = createRequire(import.meta.url)('libsodium-wrappers') as Sodium
  }
  await sodium.ready
  return sodium
}

/** Replaces every occurrence of the given secrets (and their URI-encoded forms) with ***. */
function redactor(secrets: string[]): (text: string) => string {
  const needles = new Set<string>()
  for (const s of secrets) {
    if (s.length < 4) continue
    needles.add(s)
    needles.add(encodeURIComponent(s))
  }
  const sorted = [...needles].sort((a, b) => b.length - a.length)
  return (text) => sorted.reduce((t, s) => t.split(s).join('***'), text)
}

/** The API root without trailing slashes; null unless an http(s) URL without credentials, query or fragment. */
function apiRoot(url: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash) return null
  return url.replace(/\/+$/, '')
}
