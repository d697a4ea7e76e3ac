import { parseDuration } from './duration.js'
import { InputError } from '../domain/errors.js'
import { ROTATION_ID } from '../domain/state.js'
import { checkRoleName } from './names.js'
import { parsePoolerUrls, type PoolerTarget } from './pooler-urls.js'
import { parseSecretMap, type SecretMapping } from './secret-map.js'
import { insecureApiUrl } from './github-api-url.js'
import { MIN_PASSWORD_LENGTH, SEAL_KEY_MIN_LENGTH } from '../crypto/limits.js'
import {
  checkAppUrl,
  checkConnectionUrl,
  defaultAppUrl,
  droppedAppUrlParams,
  type ConnectionTarget,
} from '../postgres/urls.js'

export const PHASES = ['setup', 'open', 'verify-drain', 'close', 'abort', 'status', 'unseal'] as const
export type Phase = (typeof PHASES)[number]

export type PasswordEncryption = 'scram-sha-256' | 'server'

/** The workflow run a phase comes from; recorded in the rotation state. */
export interface RunInfo {
  runId: string
  runAttempt: string
  workflow: string
  repository: string
  actor: string
}

/** Everything a phase needs, validated once, before any connection is made. */
export interface Config {
  phase: Phase
  admin: ConnectionTarget
  /** The NOLOGIN group role (the input `role`): owns the objects, and is what the logins SET role to. */
  group: string
  logins: [string, string]
  appUrl: string
  /**
   * Set when app-url is empty and appUrl was derived from the admin connection: the
   * parameters of admin-url it left out (runner files, the admin's application_name)
   * and the sslmode it kept.
   */
  appUrlDefault?: { dropped: string[]; sslmode: string | null }
  passwordLength: number
  passwordEncryption: PasswordEncryption
  timeoutMs: number
  intervalMs: number
  terminateAfterMs: number | null
  minNewConnections: number
  terminate: boolean
  force: boolean
  rotationId: string | null
  /** setup: turn the existing login named by `role` into the group role. */
  adopt: boolean
  /** setup: move objects owned by the login roles to the group role (REASSIGN OWNED). */
  fixOwnership: boolean
  /**
   * Read replicas: their sessions count (verify-drain, close, abort, status), and setup, open, close
   * and abort wait for them to replay each commit.
   */
  replicas: ConnectionTarget[]
  /** How long setup, open, close and abort wait for every replica to replay their commit. */
  replicaTimeoutMs: number
  /** Admin consoles of the poolers in front of the database (verify-drain, close, abort, status). */
  poolers: PoolerTarget[]
  /** Passphrase for sealed-credentials (setup/open seal, unseal/close open). */
  sealKey: string | null
  sealedCredentials: string | null
  /** Write-back of the issued credentials to GitHub secrets (setup, close). */
  github: GitHubWriteBack | null
  run: RunInfo
}

export interface GitHubWriteBack {
  token: string
  secrets: SecretMapping[]
  repository: string
  environment: string | null
  apiUrl: string
}

/** Reads one input by its action.yml name; '' when not given. */
export type InputReader = (name: string) => string

export const DEFAULTS = {
  passwordLength: '32',
  passwordEncryption: 'scram-sha-256',
  timeout: '15m',
  interval: '5s',
  minNewConnections: '0',
  replicaTimeout: '1m',
} as const

export function parseConfig(read: InputReader, env: NodeJS.ProcessEnv): Config {
  const get = (name: string) => read(name).trim()
  // Inputs are checked in the order of these calls: the first bad one is the one reported.
  const phase = parsePhase(get('phase'))
  const connection = parseConnectionInputs(get, env, phase)
  const password = parsePasswordInputs(get)
  const timing = parseDrainTimingInputs(get)
  const rotationId = parseRotationId(get('rotation-id'))
  const replicas = parseReplicaUrls(get('replica-urls'))
  const replicaTimeoutMs = parseDuration(get('replica-timeout') || DEFAULTS.replicaTimeout, 'replica-timeout')
  const sealing = parseSealInputs(read, get, phase)
  const github = parseWriteBackInputs(get, env, phase, sealing)
  const options = parsePhaseOptions(get)
  const poolers = parsePoolerUrls(read('pgbouncer-urls'))
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
  }
}

/** Reads one trimmed input by its action.yml name; '' when not given. */
type TrimmedReader = (name: string) => string

function parsePhase(text: string): Phase {
  if (!text) throw new InputError('phase', `is required; one of ${PHASES.join(', ')}`)
  if (!(PHASES as readonly string[]).includes(text)) {
    throw new InputError('phase', `'${text}' is not a phase; use one of ${PHASES.join(', ')}`)
  }
  return text as Phase
}

/** admin-url (or the PG* variables), the group role, its two logins and the URL the application uses. */
function parseConnectionInputs(
  get: TrimmedReader,
  env: NodeJS.ProcessEnv,
  phase: Phase,
): Pick<Config, 'admin' | 'group' | 'logins' | 'appUrl' | 'appUrlDefault'> {
  const adminUrl = get('admin-url')
  const admin: ConnectionTarget = adminUrl ? { url: checkConnectionUrl(adminUrl, 'admin-url') } : {}
  if (phase !== 'unseal' && !adminUrl && !env.PGHOST && !env.PGUSER && !env.PGDATABASE) {
    throw new InputError(
      'admin-url',
      'is empty and none of PGHOST, PGUSER, PGDATABASE is set; give an admin connection URI (from a secret)',
    )
  }

  const role = get('role')
  if (!role) throw new InputError('role', 'is required: the NOLOGIN group role that owns the objects, e.g. app')
  checkRoleName(role, 'role')

  const logins = parseLogins(get('login-roles'), role)

  const appUrlText = get('app-url')
  if (appUrlText) return { admin, group: role, logins, appUrl: checkAppUrl(appUrlText, 'app-url') }
  return { admin, group: role, logins, appUrl: defaultAppUrl(admin, env), appUrlDefault: droppedAppUrlParams(admin) }
}

/** How new passwords are made: their length, and who hashes them. */
function parsePasswordInputs(get: TrimmedReader): Pick<Config, 'passwordLength' | 'passwordEncryption'> {
  const passwordLength = parseInteger(
    get('password-length') || DEFAULTS.passwordLength,
    'password-length',
    MIN_PASSWORD_LENGTH,
    1024,
  )
  const passwordEncryption = get('password-encryption') || DEFAULTS.passwordEncryption
  if (passwordEncryption !== 'scram-sha-256' && passwordEncryption !== 'server') {
    throw new InputError('password-encryption', `'${passwordEncryption}' is not supported; use scram-sha-256 or server`)
  }
  return { passwordLength, passwordEncryption }
}

/** How long verify-drain waits, how often it looks, and when it terminates what is left. */
function parseDrainTimingInputs(get: TrimmedReader): Pick<Config, 'timeoutMs' | 'intervalMs' | 'terminateAfterMs'> {
  const timeoutMs = parseDuration(get('timeout') || DEFAULTS.timeout, 'timeout')
  const intervalMs = parseDuration(get('interval') || DEFAULTS.interval, 'interval')
  if (intervalMs <= 0) throw new InputError('interval', 'must be greater than zero')
  const terminateAfterText = get('terminate-after')
  const terminateAfterMs = terminateAfterText ? parseDuration(terminateAfterText, 'terminate-after') : null
  return { timeoutMs, intervalMs, terminateAfterMs }
}

function parseRotationId(text: string): string | null {
  const rotationId = text || null
  if (rotationId !== null && !ROTATION_ID.test(rotationId)) {
    throw new InputError(
      'rotation-id',
      `'${rotationId}' is not a rotation id; pass the rotation-id output of the open phase`,
    )
  }
  return rotationId
}

/** One connection URI a line; blank lines and # comments skipped. */
function parseReplicaUrls(text: string): ConnectionTarget[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((url) => ({ url: checkConnectionUrl(url, 'replica-urls') }))
}

/** seal-key (read untrimmed: a passphrase is taken as given) and sealed-credentials, both required by unseal. */
function parseSealInputs(
  read: InputReader,
  get: TrimmedReader,
  phase: Phase,
): Pick<Config, 'sealKey' | 'sealedCredentials'> {
  const sealKey = read('seal-key') || null
  if (sealKey !== null && [...sealKey].length < SEAL_KEY_MIN_LENGTH) {
    throw new InputError(
      'seal-key',
      `must be at least ${SEAL_KEY_MIN_LENGTH} characters; use a long random passphrase stored as a secret`,
    )
  }
  const sealedCredentials = get('sealed-credentials') || null
  if (phase === 'unseal') {
    if (!sealedCredentials)
      throw new InputError(
        'sealed-credentials',
        'is required by the unseal phase: pass the sealed-credentials output of setup or open',
      )
    if (!sealKey)
      throw new InputError(
        'seal-key',
        'is required by the unseal phase: pass the same secret that sealed the credentials',
      )
  }
  return { sealKey, sealedCredentials }
}

/**
 * The sealed credentials and the key that opens them. parseConfig already
 * requires both for unseal and for close with write-back; this narrows the
 * types, and says which input is missing should a new caller forget that.
 */
export function sealedInput(cfg: Pick<Config, 'sealKey' | 'sealedCredentials'>): { sealed: string; key: string } {
  if (!cfg.sealedCredentials)
    throw new InputError('sealed-credentials', 'is required here: pass the sealed-credentials output of setup or open')
  if (!cfg.sealKey) throw new InputError('seal-key', 'is required to open sealed-credentials')
  return { sealed: cfg.sealedCredentials, key: cfg.sealKey }
}

/** The GitHub write-back; close can only write what it can unseal. */
function parseWriteBackInputs(
  get: TrimmedReader,
  env: NodeJS.ProcessEnv,
  phase: Phase,
  sealing: Pick<Config, 'sealKey' | 'sealedCredentials'>,
): GitHubWriteBack | null {
  const github = parseWriteBack(get, env)
  if (github && phase === 'close' && (!sealing.sealedCredentials || !sealing.sealKey)) {
    throw new InputError(
      'sealed-credentials',
      "close writes the new credentials to GitHub secrets, so it needs them: pass sealed-credentials (the open step's output) and seal-key",
    )
  }
  return github
}

/** The drain threshold and the switches: terminate, force, adopt, fix-ownership. */
function parsePhaseOptions(
  get: TrimmedReader,
): Pick<Config, 'minNewConnections' | 'terminate' | 'force' | 'adopt' | 'fixOwnership'> {
  return {
    minNewConnections: parseInteger(
      get('min-new-connections') || DEFAULTS.minNewConnections,
      'min-new-connections',
      0,
      1_000_000,
    ),
    terminate: parseBoolean(get('terminate'), 'terminate'),
    force: parseBoolean(get('force'), 'force'),
    adopt: parseBoolean(get('adopt'), 'adopt'),
    fixOwnership: parseBoolean(get('fix-ownership'), 'fix-ownership'),
  }
}

function readRunInfo(env: NodeJS.ProcessEnv): RunInfo {
  return {
    runId: env.GITHUB_RUN_ID ?? '',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '',
    workflow: env.GITHUB_WORKFLOW ?? '',
    repository: env.GITHUB_REPOSITORY ?? '',
    actor: env.GITHUB_ACTOR ?? '',
  }
}

function parseWriteBack(get: TrimmedReader, env: NodeJS.ProcessEnv): GitHubWriteBack | null {
  const mapText = get('github-secrets')
  const token = get('github-token')
  if (!mapText && !token) return null
  if (!mapText)
    throw new InputError(
      'github-secrets',
      'is required with github-token: one SECRET_NAME=output per line (output: username, password or database-url)',
    )
  if (!token)
    throw new InputError(
      'github-token',
      "is required with github-secrets: a fine-grained token or GitHub App token with Secrets: write (the workflow's GITHUB_TOKEN cannot write secrets)",
    )
  const secrets = parseSecretMap(mapText)
  const repository = get('github-repository') || env.GITHUB_REPOSITORY || ''
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) {
    throw new InputError(
      'github-repository',
      repository ? `'${repository}' is not owner/name` : 'is empty and GITHUB_REPOSITORY is not set; pass owner/name',
    )
  }
  const apiUrl = env.GITHUB_API_URL || 'https://api.github.com'
  // Before any connection: setup writes back after its commit, so a refusal there would come too late.
  const insecure = insecureApiUrl(apiUrl)
  if (insecure) throw new InputError('github-secrets', insecure)
  return {
    token,
    secrets,
    repository,
    environment: get('github-environment') || null,
    apiUrl,
  }
}

function parseLogins(text: string, role: string): [string, string] {
  const names = text ? text.split(',').map((s) => s.trim()) : [`${role}_a`, `${role}_b`]
  if (names.length !== 2 || names.some((n) => n === '')) {
    throw new InputError('login-roles', `must name exactly two login roles, comma-separated (got '${text}')`)
  }
  for (const n of names) checkRoleName(n, text ? 'login-roles' : 'role')
  if (names[0] === names[1]) throw new InputError('login-roles', `names the same role twice ('${names[0]}')`)
  if (names.includes(role)) throw new InputError('login-roles', `must not include the group role '${role}'`)
  return [names[0], names[1]]
}

function parseInteger(text: string, input: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new InputError(input, `'${text}' is not a whole number`)
  const n = Number(text)
  if (n < min || n > max) throw new InputError(input, `must be between ${min} and ${max} (got ${n})`)
  return n
}

/** YAML 1.2 core-schema booleans, as @actions/core's getBooleanInput; empty is false. */
function parseBoolean(text: string, input: string): boolean {
  if (text === '') return false
  if (['true', 'True', 'TRUE'].includes(text)) return true
  if (['false', 'False', 'FALSE'].includes(text)) return false
  throw new InputError(input, `'${text}' is not a boolean; use true or false`)
}
