/**
 * The PgBouncer console connection follows the same sslmode rules as every
 * other connection: without sslmode (prefer) it tries TLS and falls back to
 * plaintext on the same socket; require and verify-* never fall back. Run
 * against every PgBouncer installed, with client TLS on (certificates from
 * test/harness/tls.ts) and off.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Poolers } from '../../src/postgres/poolers.js'
import { familyName, phase, servers } from '../harness/helpers.js'
import { pgbouncerBinaries, pgbouncerMissing, startPgBouncer, type PgBouncer } from '../harness/pgbouncer.js'
import { makeCert, openssl, readableByServer } from '../harness/tls.js'

const missing = pgbouncerMissing() ?? (openssl ? null : 'openssl is not installed')
if (missing) {
  console.log(`[pooler] console TLS skipped: ${missing}`)
  it.skip(missing, () => {})
}

describe.skipIf(Boolean(missing)).each(pgbouncerBinaries())('the console connection to $version', ({ bin }) => {
  let dir: string
  let cert: { cert: string; key: string }
  let withTls: PgBouncer
  let withoutTls: PgBouncer
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgrot-pgb-tls-'))
    cert = makeCert(dir, 'pgbouncer')
    readableByServer([dir, cert.cert, cert.key])
    const server = servers()[0]
    withTls = await startPgBouncer(server, {
      bin,
      settings: { client_tls_sslmode: 'allow', client_tls_cert_file: cert.cert, client_tls_key_file: cert.key },
    })
    withoutTls = await startPgBouncer(server, { bin })
  })
  afterAll(async () => {
    await withTls?.stop()
    await withoutTls?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Reads the console through `query`, and returns what the admin console says about that connection's TLS. */
  async function consoleTls(b: PgBouncer, query: string): Promise<{ error?: string; tls?: string }> {
    const poolers = new Poolers([{ url: `${b.statsUrl}${query}`, label: 'pgb', line: 1 }], 'console-tls-test')
    try {
      const [reading] = await poolers.read()
      if (reading.error) return { error: reading.error }
      const clients = await b.console('SHOW CLIENTS')
      const mine = clients.filter((c) => c.user === 'pgb_stats' && c.application_name === 'console-tls-test')
      expect(mine).toHaveLength(1)
      return { tls: String(mine[0].tls ?? '') }
    } finally {
      await poolers.end()
    }
  }

  it('without sslmode, and with sslmode=prefer, the console connection uses TLS when PgBouncer offers it', async () => {
    for (const q of ['', '?sslmode=prefer', '?sslmode=require', `?sslmode=verify-full&sslrootcert=${cert.cert}`]) {
      const r = await consoleTls(withTls, q)
      expect({ q, ...r }).toEqual({ q, tls: expect.stringMatching(/TLSv1\.[23]/) })
    }
  })

  it('against a PgBouncer without client TLS, prefer carries on in plaintext; require and verify-full fail, naming TLS', async () => {
    for (const q of ['', '?sslmode=prefer', '?sslmode=disable'])
      expect(await consoleTls(withoutTls, q)).toEqual({ tls: '' })
    for (const q of ['?sslmode=require', `?sslmode=verify-full&sslrootcert=${cert.cert}`])
      expect((await consoleTls(withoutTls, q)).error).toMatch(
        /the console does not support TLS, and the URI requires it/,
      )
  })

  it('a wrong root certificate under verify-full is refused, and a phase reports the pooler it could not read', async () => {
    const other = makeCert(dir, 'other')
    expect((await consoleTls(withTls, `?sslmode=verify-full&sslrootcert=${other.cert}`)).error).toMatch(
      /self[- ]signed|certificate/i,
    )
    const r = await phase(servers()[0], {
      phase: 'status',
      role: familyName(),
      'pgbouncer-urls': `${withoutTls.statsUrl}?sslmode=require`,
    })
    expect(r.log.lines.join('\n')).toMatch(/does not support TLS/)
  })
})
