import type { ClientConfig } from 'pg'
import { parse } from 'pg-connection-string'
import type { ConnectionTarget } from './urls.js'

/** One way to try a connection: its TLS settings, and which failure lets the next attempt run. */
export interface TlsAttempt {
  ssl: ClientConfig['ssl']
  /**
   * TLS when the server answers 'S' to the SSLRequest, plaintext on the same
   * socket when it answers 'N' (sslmode=prefer): one TCP connection either way.
   */
  optional?: boolean
  /** True when this failure means the next attempt may succeed. */
  fallBackOn?: (e: unknown) => boolean
}

const TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'sslnegotiation']

/**
 * The TLS attempts for a connection, in libpq's order. An `sslmode` (or another
 * TLS parameter) in the URI is used as given; else PGSSLMODE; else libpq's
 * default, `prefer`: TLS without verification, and plaintext on the same
 * socket only when the server answers that it does not support SSL. `allow` is
 * the reverse: plaintext, and TLS on a second connection when the server
 * refuses a plaintext one (as libpq does).
 */
export function tlsAttempts(
  target: ConnectionTarget,
  base: ClientConfig,
  env: NodeJS.ProcessEnv = process.env,
): TlsAttempt[] {
  const params = target.url ? uriParams(target.url) : new Map<string, string>()
  const fromUri = TLS_PARAMS.some((p) => params.has(p))
  const envMode = env.PGSSLMODE || 'prefer'
  const mode = fromUri ? params.get('sslmode') : envMode
  const ssl = fromUri ? base.ssl : libpqSsl(envMode, env)
  const versions = tlsVersions(params)
  const unverified = { ...(typeof ssl === 'object' ? ssl : {}), rejectUnauthorized: false, ...versions }
  if (mode === 'prefer') return [{ ssl: unverified, optional: true }]
  if (mode === 'allow') return [{ ssl: false, fallBackOn: plaintextRefused }, { ssl: unverified }]
  if (!ssl || !Object.keys(versions).length) return [{ ssl }]
  return [{ ssl: { ...(ssl === true ? {} : ssl), ...versions } }]
}

/** ssl_min_protocol_version / ssl_max_protocol_version as Node's TLS options. */
function tlsVersions(params: Map<string, string>): { minVersion?: 'TLSv1.2'; maxVersion?: 'TLSv1.2' } {
  const v: { minVersion?: 'TLSv1.2'; maxVersion?: 'TLSv1.2' } = {}
  const min = params.get('ssl_min_protocol_version')
  const max = params.get('ssl_max_protocol_version')
  if (min) v.minVersion = min as 'TLSv1.2'
  if (max) v.maxVersion = max as 'TLSv1.2'
  return v
}

/** "The server does not support SSL connections": the server answered 'N' to SSLRequest. */
export function serverHasNoTls(e: unknown): boolean {
  return /does not support SSL/i.test((e as Error)?.message ?? '')
}

/** pg_hba.conf has no entry for an unencrypted connection (only hostssl lines match). */
function plaintextRefused(e: unknown): boolean {
  const err = e as { code?: string; message?: string }
  return err.code === '28000' && /no encryption/i.test(err.message ?? '')
}

/** TLS settings for an sslmode given outside a URI (PGSSLMODE and friends), with libpq's meaning. */
function libpqSsl(mode: string, env: NodeJS.ProcessEnv): ClientConfig['ssl'] {
  const q = new URLSearchParams({ sslmode: mode })
  if (env.PGSSLROOTCERT) q.set('sslrootcert', env.PGSSLROOTCERT)
  if (env.PGSSLCERT) q.set('sslcert', env.PGSSLCERT)
  if (env.PGSSLKEY) q.set('sslkey', env.PGSSLKEY)
  return (parse(`postgresql://localhost/?${q}`, { useLibpqCompat: true }) as ClientConfig).ssl
}

function uriParams(url: string): Map<string, string> {
  try {
    const u = new URL(url.replace(/^postgres(ql)?:/, 'http:'))
    return new Map(u.searchParams)
  } catch {
    return new Map()
  }
}

/** The warning for an unencrypted admin connection to a host other than this machine, or null. */
export function plaintextWarning(encrypted: boolean, host: string | undefined): string | null {
  if (encrypted || isLocal(host)) return null
  return `The admin connection to ${host} is not encrypted (the server does not support TLS, or sslmode is disable or allow): every statement, including the new passwords' verifiers (the plaintext passwords with password-encryption: server), crosses the network unencrypted. Enable ssl on the server and set sslmode=verify-full in admin-url.`
}

function isLocal(host: string | undefined): boolean {
  if (!host || host.startsWith('/')) return true
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
}
