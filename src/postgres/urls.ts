import type { ClientConfig } from 'pg'
import { parse } from 'pg-connection-string'
import { InputError } from '../domain/errors.js'
import type { Reporter } from '../domain/reporter.js'
import { FILE_PARAMS, certFileProblem, uriParamProblems, uriQuery } from './uri-params.js'

const URL_RE = /^(postgres(?:ql)?):\/\/([^/?#]*)(.*)$/s
// Credentials of the admin connection that must not end up in the application's URL.
const CREDENTIAL_PARAMS = new Set(['user', 'password', 'passfile', 'sslpassword', 'sslcert', 'sslkey'])
// Parameters of the admin connection that name a file on the runner or the admin's own session:
// the default app URL (app-url empty) drops them, since the application runs elsewhere.
const RUNNER_ONLY_PARAMS = new Set([
  'service',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'application_name',
  'fallback_application_name',
])
// Parameters whose value is a secret.
const SECRET_PARAMS = new Set(['password', 'sslpassword'])

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
])

/** Where the admin connection goes: a URI, or the libpq PG* environment when absent. */
export interface ConnectionTarget {
  url?: string
}

/** Validates a connection URI; the message never repeats the URI (it may hold a password). */
export function checkConnectionUrl(url: string, input: string): string {
  if (!URL_RE.test(url)) {
    throw new InputError(
      input,
      'is not a connection URI; expected postgresql://user:password@host:port/database?sslmode=...',
    )
  }
  const malformed = () =>
    new InputError(input, 'is a malformed connection URI (check percent-encoding of the user name and password)')
  try {
    new URL(url.replace(/^postgres(ql)?:/, 'http:'))
  } catch {
    throw malformed()
  }
  const params = uriQuery(url)
  const problems = uriParamProblems(params)
  if (problems.length) throw new InputError(input, problems.join('; '))
  for (const [key, value] of params) {
    const problem = (FILE_PARAMS as readonly string[]).includes(key) ? certFileProblem(key, value) : null
    if (problem) throw new InputError(input, problem)
  }
  try {
    parse(withoutSystemRoot(url), { useLibpqCompat: true })
  } catch {
    throw malformed()
  }
  return url
}

/**
 * `sslrootcert=system` (libpq 16+): the system's trusted CAs, with verify-full. Node's
 * default CA store stands for the system's; pg-connection-string would read a file named
 * "system", so the parameter is replaced by sslmode=verify-full before parsing.
 */
function withoutSystemRoot(url: string): string {
  return url.replace(/([?&])sslrootcert=system(?=&|#|$)/, '$1sslmode=verify-full')
}

/**
 * pg client settings for a target. Connection-URI parameters follow libpq's
 * meaning (sslmode=require encrypts without verifying, verify-full verifies);
 * without a URI, pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and
 * PGSSLMODE itself.
 */
export function clientConfig(target: ConnectionTarget, override: Partial<ClientConfig> = {}): ClientConfig {
  const parsed = target.url
    ? (parse(withoutSystemRoot(target.url), { useLibpqCompat: true }) as ClientConfig & Record<string, unknown>)
    : {}
  const base: ClientConfig = {}
  for (const [k, v] of Object.entries(parsed))
    if (v !== undefined && v !== null && PG_CONFIG_KEYS.has(k)) (base as Record<string, unknown>)[k] = v
  if (typeof base.ssl === 'object' && base.ssl) {
    const { sslpassword } = parsed as Record<string, string>
    if (sslpassword) base.ssl.passphrase = sslpassword
  }
  return { ...base, ...override }
}

/**
 * Default `app-url`: the admin connection's host, port, database and parameters,
 * without its credentials and without what only the runner or the admin uses
 * (files on the runner, its application_name): see droppedAppUrlParams.
 */
export function defaultAppUrl(target: ConnectionTarget, env: NodeJS.ProcessEnv): string {
  if (target.url) {
    const [scheme, authority, rest] = urlParts(target.url)
    const hostPart = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority
    return `${scheme}://${hostPart}${stripParams(rest, (k) => CREDENTIAL_PARAMS.has(k) || RUNNER_ONLY_PARAMS.has(k))}`
  }
  const host = env.PGHOST || 'localhost'
  const port = env.PGPORT || '5432'
  const db = env.PGDATABASE || env.PGUSER || 'postgres'
  // Percent-encode with encodeURIComponent (never '+' for a space: libpq reads '+' literally).
  const params: string[] = []
  let authority: string
  if (host.startsWith('/')) {
    params.push(`host=${encodeURIComponent(host)}`)
    if (env.PGPORT) params.push(`port=${encodeURIComponent(port)}`)
    authority = ''
  } else {
    authority = `${host.includes(':') ? `[${host}]` : host}:${port}`
  }
  if (env.PGSSLMODE) params.push(`sslmode=${encodeURIComponent(env.PGSSLMODE)}`)
  return `postgresql://${authority}/${encodeURIComponent(db)}${params.length ? `?${params.join('&')}` : ''}`
}

/** Checks that `app-url` is a URI without credentials. */
export function checkAppUrl(url: string, input: string): string {
  const m = URL_RE.exec(url)
  if (!m) throw new InputError(input, 'is not a connection URI; expected postgresql://host:port/database?parameters')
  if (m[2].includes('@')) {
    throw new InputError(input, 'must not contain a user name or password; the action adds the credentials it issues')
  }
  const query = m[3].split('#')[0].split('?')[1]
  if (query) {
    for (const key of new URLSearchParams(query).keys()) {
      if (CREDENTIAL_PARAMS.has(key))
        throw new InputError(
          input,
          `must not contain the '${key}' parameter; the action adds the credentials it issues`,
        )
    }
  }
  return url
}

/** `app-url` with the issued credentials, percent-encoded. */
export function buildDatabaseUrl(appUrl: string, username: string, password: string): string {
  const [scheme, authority, rest] = urlParts(appUrl)
  return `${scheme}://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${authority}${rest}`
}

/**
 * What the default app URL leaves out of admin-url, besides the user and password: the
 * names of the runner-only and credential parameters it had (in order, once each), and
 * the sslmode it keeps (null when admin-url has none). Empty for the PG* environment,
 * whose default URL takes only host, port, database and PGSSLMODE.
 */
export function droppedAppUrlParams(target: ConnectionTarget): { dropped: string[]; sslmode: string | null } {
  if (!target.url) return { dropped: [], sslmode: null }
  const dropped = new Set<string>()
  let sslmode: string | null = null
  for (const [key, value] of queryPairs(urlParts(target.url)[2])) {
    if (key === 'sslmode') sslmode = value
    else if (RUNNER_ONLY_PARAMS.has(key) || (CREDENTIAL_PARAMS.has(key) && key !== 'user' && key !== 'password'))
      dropped.add(key)
  }
  return { dropped: [...dropped], sslmode }
}

/** The decoded key=value pairs of a URI's query (after the authority). */
function queryPairs(rest: string): [string, string][] {
  const beforeHash = rest.split('#')[0]
  const q = beforeHash.indexOf('?')
  if (q < 0) return []
  return beforeHash
    .slice(q + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=')
      return eq < 0 ? [safeDecode(pair), ''] : [safeDecode(pair.slice(0, eq)), safeDecode(pair.slice(eq + 1))]
    })
}

/** Drops the parameters `drop` names, keeping every other parameter byte for byte. */
function stripParams(rest: string, drop: (key: string) => boolean): string {
  const hash = rest.indexOf('#')
  const beforeHash = hash >= 0 ? rest.slice(0, hash) : rest
  const q = beforeHash.indexOf('?')
  if (q < 0) return beforeHash
  const kept = beforeHash
    .slice(q + 1)
    .split('&')
    .filter((pair) => pair !== '' && !drop(safeDecode(pair.split('=')[0])))
  return beforeHash.slice(0, q) + (kept.length ? `?${kept.join('&')}` : '')
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
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
export function uriSecrets(uri: string): string[] {
  const forms = new Set<string>([uri])
  const m = URL_RE.exec(uri)
  if (m) {
    const at = m[2].lastIndexOf('@')
    const userinfo = at >= 0 ? m[2].slice(0, at) : ''
    if (userinfo.includes(':')) addDecodings(forms, userinfo.slice(userinfo.indexOf(':') + 1))
    const query = m[3].split('#')[0].split('?').slice(1).join('?')
    for (const pair of query.split('&')) {
      const eq = pair.indexOf('=')
      if (eq > 0 && SECRET_PARAMS.has(safeDecode(pair.slice(0, eq)))) addDecodings(forms, pair.slice(eq + 1))
    }
  }
  for (const parsed of [parsedSecrets(uri), urlPassword(uri)]) for (const v of parsed) forms.add(v)
  forms.delete('')
  return [...forms]
}

/** Registers every form of a URI's secrets with the front end (admin-url, replica-urls, any URI input). */
export function maskUriSecrets(uri: string, reporter: Pick<Reporter, 'secret'>): void {
  for (const s of uriSecrets(uri)) reporter.secret(s)
}

function addDecodings(forms: Set<string>, raw: string): void {
  forms.add(raw)
  forms.add(safeDecode(raw))
  forms.add(safeDecode(raw.replace(/\+/g, ' ')))
}

/** What pg will use: pg-connection-string's password and sslpassword. */
function parsedSecrets(uri: string): string[] {
  try {
    const c = parse(uri, { useLibpqCompat: true }) as { password?: string; sslpassword?: string }
    return [c.password ?? '', c.sslpassword ?? '']
  } catch {
    return []
  }
}

/** The password as the WHATWG URL parser holds it (re-encoded, e.g. an unencoded '@' as %40). */
function urlPassword(uri: string): string[] {
  try {
    return [new URL(uri.replace(/^postgres(ql)?:/, 'http:')).password]
  } catch {
    return []
  }
}

/** Scheme, authority and the rest of a URI that checkConnectionUrl or checkAppUrl accepted. */
function urlParts(url: string): [scheme: string, authority: string, rest: string] {
  const m = URL_RE.exec(url)
  if (!m) throw new Error('internal: a connection URI that was checked no longer parses')
  return [m[1], m[2], m[3]]
}
