/**
 * The `pgbouncer-urls` input: console URIs of the poolers in front of the
 * database. Pure parsing, apart from the console client, so that reading the
 * inputs at start-up does not load the PostgreSQL driver.
 */
import { parse } from 'pg-connection-string'
import { InputError } from '../domain/errors.js'
import { oneLine } from '../domain/escape.js'
import { checkConnectionUrl } from '../postgres/urls.js'

/**
 * URIs one per line or comma-separated (a comma only splits before another
 * postgres:// URI, so a comma inside a password stays); # starts a comment line.
 */
export function splitUriList(text: string): string[] {
  return text
    .split(/\r?\n|,(?=\s*postgres(?:ql)?:\/\/)/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

export const POOLER_INPUT = 'pgbouncer-urls'

export interface PoolerTarget {
  url: string
  /** host:port, never credentials. */
  label: string
  /** 1-based position in pgbouncer-urls. */
  line: number
}

/**
 * Console URIs, one per line or comma-separated (a comma only splits before
 * another postgres:// URI, so a comma inside a URI stays). Lines starting with
 * # are comments. Errors name the input and never repeat a URI.
 */
export function parsePoolerUrls(text: string): PoolerTarget[] {
  return splitUriList(text).map((url, i) => {
    try {
      checkConnectionUrl(url, POOLER_INPUT)
    } catch (e) {
      throw new InputError(POOLER_INPUT, `entry ${i + 1} ${(e as InputError).message.replace(/^input '[^']*': /, '')}`)
    }
    const c = parse(url, { useLibpqCompat: true })
    if (c.host?.startsWith('/'))
      throw new InputError(POOLER_INPUT, `entry ${i + 1} names a Unix socket; give the pooler's host and port`)
    if (c.database && c.database !== 'pgbouncer') {
      throw new InputError(
        POOLER_INPUT,
        `entry ${i + 1} connects to database "${oneLine(c.database)}"; the admin console is the database pgbouncer (postgresql://user:password@host:6432/pgbouncer)`,
      )
    }
    return { url, label: `${c.host || 'localhost'}:${c.port || 5432}`, line: i + 1 }
  })
}
