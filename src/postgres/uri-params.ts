/**
 * The libpq connection parameters a URI may carry, and what the action does
 * with each. A parameter means what it means in libpq, or the URI is refused
 * at input validation: a parameter silently ignored (`channel_binding=require`
 * that binds nothing, `sslcrl` that checks no revocation list) would promise a
 * protection the connection does not have. Pure: no driver, no network.
 */
import { accessSync, constants } from 'node:fs'

/** Parameters the action honours, each with the values it accepts (undefined: any). */
const HONOURED: Record<string, readonly string[] | undefined> = {
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
}

/** libpq parameters the action cannot honour, with what to do instead. */
const REFUSED: Record<string, string> = {
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
}

/** Why a value is refused, for parameters with a fixed set of values the action honours. */
const REFUSED_VALUES: Record<string, string> = {
  gssencmode: 'GSSAPI encryption is not supported; use gssencmode=disable (or prefer) with sslmode',
  sslsni: 'the action always sends SNI for a host name',
  sslcertmode: 'the client certificate is sent when the server asks for it (sslcertmode=allow)',
  sslcompression: 'TLS compression is not supported',
}

/** Files a URI names that the runner must read. */
export const FILE_PARAMS = ['sslrootcert', 'sslcert', 'sslkey'] as const

export const AUTH_METHODS = ['password', 'md5', 'scram-sha-256', 'gss', 'sspi', 'none'] as const
export type AuthMethod = (typeof AUTH_METHODS)[number]

/** What the connection accepts from the server before it hands over a password. */
export interface AuthPolicy {
  channelBinding: 'disable' | 'prefer' | 'require'
  /** The methods the server may use (after negation is applied), or null for any. */
  allowed: ReadonlySet<AuthMethod> | null
  /** require_auth as written, for messages. */
  requireAuth: string | null
}

/**
 * Every problem with a URI's parameters, as "…" phrases that follow "input 'x': ".
 * `params` are the decoded query parameters, in order.
 */
export function uriParamProblems(params: [string, string][]): string[] {
  const problems: string[] = []
  const seen = new Map(params)
  for (const [key, value] of params) {
    if (key in REFUSED) {
      problems.push(`parameter ${key} is not supported: ${REFUSED[key]}`)
      continue
    }
    if (!(key in HONOURED)) {
      problems.push(`parameter ${JSON.stringify(key)} is not a libpq connection parameter the action knows; remove it`)
      continue
    }
    const values = HONOURED[key]
    if (values && !values.includes(value)) {
      const why = REFUSED_VALUES[key] ?? `expected one of ${values.join(', ')}`
      problems.push(`${key}=${JSON.stringify(value)} is not supported: ${why}`)
    }
  }
  const ra = seen.get('require_auth')
  if (ra !== undefined) {
    try {
      parseRequireAuth(ra)
    } catch (e) {
      problems.push((e as Error).message)
    }
  }
  for (const key of ['connect_timeout', 'keepalives_idle']) {
    const v = seen.get(key)
    if (v !== undefined && !/^\d+$/.test(v.trim())) problems.push(`${key}=${JSON.stringify(v)} must be whole seconds`)
  }
  if (seen.get('channel_binding') === 'require' && seen.get('sslmode') === 'disable')
    problems.push('channel_binding=require needs TLS, which sslmode=disable turns off')
  if (seen.get('sslnegotiation') === 'direct' && ['disable', 'allow', 'prefer'].includes(seen.get('sslmode') ?? ''))
    problems.push('sslnegotiation=direct needs sslmode=require, verify-ca or verify-full')
  if (seen.get('sslrootcert') === 'system' && seen.has('sslmode') && seen.get('sslmode') !== 'verify-full')
    problems.push(`sslrootcert=system needs sslmode=verify-full (or no sslmode), not ${seen.get('sslmode')}`)
  return problems
}

/** The problem with a file a URI names (missing, unreadable), or null. */
export function certFileProblem(param: string, path: string): string | null {
  if (param === 'sslrootcert' && path === 'system') return null
  try {
    accessSync(path, constants.R_OK)
    return null
  } catch (e) {
    const code = (e as { code?: string }).code
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code})`
    return `parameter ${param} names the file ${JSON.stringify(path)}, which ${why} on the runner; create it in an earlier step, or fix the path`
  }
}

/** require_auth as libpq reads it: a comma list, all negated with '!' or none. */
export function parseRequireAuth(text: string): ReadonlySet<AuthMethod> {
  const items = text.split(',').map((s) => s.trim())
  const negated = items.map((s) => s.startsWith('!'))
  if (negated.some((n) => n !== negated[0]))
    throw new Error(`require_auth=${JSON.stringify(text)} mixes negated (!) and plain methods; use one kind`)
  const names = items.map((s) => s.replace(/^!/, ''))
  for (const n of names) {
    if (!(AUTH_METHODS as readonly string[]).includes(n))
      throw new Error(
        `require_auth=${JSON.stringify(text)} names ${JSON.stringify(n)}; expected a comma list of ${AUTH_METHODS.join(', ')} (each may be negated with !)`,
      )
  }
  if (new Set(names).size !== names.length) throw new Error(`require_auth=${JSON.stringify(text)} repeats a method`)
  const listed = new Set(names as AuthMethod[])
  return negated[0] ? new Set(AUTH_METHODS.filter((m) => !listed.has(m))) : listed
}

/** The authentication policy of a connection: URI parameters, else PGCHANNELBINDING / PGREQUIREAUTH. */
export function authPolicy(params: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv = {}): AuthPolicy {
  const cb = params.get('channel_binding') ?? env.PGCHANNELBINDING ?? 'prefer'
  if (!['disable', 'prefer', 'require'].includes(cb))
    throw new Error(`channel_binding=${JSON.stringify(cb)}: expected disable, prefer or require`)
  const ra = params.get('require_auth') ?? env.PGREQUIREAUTH ?? null
  return {
    channelBinding: cb as AuthPolicy['channelBinding'],
    allowed: ra === null || ra === '' ? null : parseRequireAuth(ra),
    requireAuth: ra || null,
  }
}

/** The decoded query parameters of a postgres:// URI (empty when it has none or does not parse). */
export function uriQuery(url: string): [string, string][] {
  try {
    return [...new URL(url.replace(/^postgres(ql)?:/, 'http:')).searchParams]
  } catch {
    return []
  }
}
