import { describe, expect, it } from 'vitest'
import { plaintextWarning, serverHasNoTls, tlsAttempts } from '../../src/postgres/tls.js'
import { clientConfig } from '../../src/postgres/urls.js'

const attempts = (url: string | undefined, env: NodeJS.ProcessEnv = {}) => {
  const target = url ? { url } : {}
  return tlsAttempts(target, clientConfig(target), env).map((a) => a.ssl)
}
const noTls = new Error('The server does not support SSL connections')

describe("tlsAttempts: sslmode with libpq's meaning", () => {
  it('no sslmode anywhere is prefer: one attempt, unverified TLS, plaintext on the same socket only when the server has no TLS', () => {
    const target = { url: 'postgresql://u:p@db.example.com/app' }
    const a = tlsAttempts(target, clientConfig(target), {})
    expect(a).toEqual([{ ssl: { rejectUnauthorized: false }, optional: true }])
    expect(serverHasNoTls(noTls)).toBe(true)
  })

  it('ssl_min_protocol_version and ssl_max_protocol_version reach the TLS options', () => {
    expect(attempts('postgresql://u:p@h/app?sslmode=require&ssl_min_protocol_version=TLSv1.3')).toEqual([
      { rejectUnauthorized: false, minVersion: 'TLSv1.3' },
    ])
    expect(attempts('postgresql://u:p@h/app?ssl_max_protocol_version=TLSv1.2')).toEqual([
      { rejectUnauthorized: false, maxVersion: 'TLSv1.2' },
    ])
  })

  it('require and verify-full are single attempts that never fall back to plaintext', () => {
    expect(attempts('postgresql://u:p@h/app?sslmode=require')).toEqual([{ rejectUnauthorized: false }])
    expect(attempts('postgresql://u:p@h/app?sslmode=verify-full')).toEqual([{}])
    expect(attempts('postgresql://u:p@h/app?sslmode=disable')).toEqual([false])
  })

  it('allow tries plaintext first, then TLS', () => {
    expect(attempts('postgresql://u:p@h/app?sslmode=allow')).toEqual([false, { rejectUnauthorized: false }])
  })

  it('PGSSLMODE applies when the URI has no TLS parameter, and without a URI', () => {
    expect(attempts('postgresql://u:p@h/app', { PGSSLMODE: 'disable' })).toEqual([false])
    expect(attempts(undefined, { PGSSLMODE: 'require' })).toEqual([{ rejectUnauthorized: false }])
    expect(attempts(undefined, {})).toEqual([{ rejectUnauthorized: false }])
    expect(attempts('postgresql://u:p@h/app?sslmode=verify-full', { PGSSLMODE: 'disable' })).toEqual([{}])
  })
})

describe('plaintextWarning', () => {
  it('warns about a plaintext connection to another host, never about loopback, a socket or TLS', () => {
    expect(plaintextWarning(false, 'db.example.com')).toMatch(/admin connection to db\.example\.com is not encrypted/)
    expect(plaintextWarning(false, '10.0.0.5')).not.toBeNull()
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '/var/run/postgresql', undefined])
      expect(plaintextWarning(false, h)).toBeNull()
    expect(plaintextWarning(true, 'db.example.com')).toBeNull()
  })
})

describe('tlsAttempts: TLS parameters other than sslmode', () => {
  it("sslnegotiation without sslmode keeps pg's stricter reading (one attempt, no plaintext)", () => {
    expect(attempts('postgresql://u:p@h/app?sslnegotiation=direct')).toEqual([true])
  })
})
