import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/postgres/db.js'
import { Poolers } from '../../src/postgres/poolers.js'
import { authPolicy, parseRequireAuth, uriParamProblems } from '../../src/postgres/uri-params.js'
import { startFakePostgres, type FakeOptions, type FakePostgres } from '../harness/fake-postgres.js'
import { makeCert, openssl } from '../harness/tls.js'

const SECRET = 'Sup3r-s3cret-admin-pw'

describe('require_auth and channel_binding as libpq reads them', () => {
  it('require_auth: a comma list, all negated or none, of the known methods', () => {
    expect([...parseRequireAuth('scram-sha-256')]).toEqual(['scram-sha-256'])
    expect([...parseRequireAuth('password,md5')]).toEqual(['password', 'md5'])
    expect([...parseRequireAuth('!password,!md5')].sort()).toEqual(['gss', 'none', 'scram-sha-256', 'sspi'])
    expect(() => parseRequireAuth('!password,md5')).toThrow(/mixes negated/)
    expect(() => parseRequireAuth('scram')).toThrow(/names "scram"/)
    expect(() => parseRequireAuth('md5,md5')).toThrow(/repeats/)
  })

  it('the default is channel_binding=prefer and any method; the URI wins over PGCHANNELBINDING / PGREQUIREAUTH', () => {
    expect(authPolicy(new Map())).toEqual({ channelBinding: 'prefer', allowed: null, requireAuth: null })
    const env = { PGCHANNELBINDING: 'require', PGREQUIREAUTH: 'md5' }
    expect(authPolicy(new Map(), env).channelBinding).toBe('require')
    expect([...authPolicy(new Map([['require_auth', 'scram-sha-256']]), env).allowed!]).toEqual(['scram-sha-256'])
  })

  it('a parameter the action cannot honour is refused, naming it; honoured ones pass', () => {
    expect(
      uriParamProblems([
        ['sslmode', 'verify-full'],
        ['channel_binding', 'require'],
        ['require_auth', '!md5'],
      ]),
    ).toEqual([])
    for (const [k, v, why] of [
      ['sslcrl', '/etc/crl.pem', /sslcrl is not supported: certificate revocation lists/],
      ['gssencmode', 'require', /gssencmode="require" is not supported/],
      ['krbsrvname', 'postgres', /krbsrvname is not supported: Kerberos/],
      ['target_session_attrs', 'read-write', /target_session_attrs is not supported/],
      [
        'channel_binding',
        'maybe',
        /channel_binding="maybe" is not supported: expected one of disable, prefer, require/,
      ],
      ['require_auth', 'trust', /require_auth="trust" names "trust"/],
      ['passfile', '/root/.pgpass', /passfile is not supported/],
      ['sslmode', 'no-verify', /sslmode="no-verify" is not supported/],
      ['ssl', 'true', /"ssl" is not a libpq connection parameter/],
      ['connect_timeout', 'ten', /connect_timeout="ten" must be whole seconds/],
    ] as const)
      expect(uriParamProblems([[k, v]]).join('; ')).toMatch(why)
    expect(
      uriParamProblems([
        ['sslmode', 'disable'],
        ['channel_binding', 'require'],
      ]),
    ).toEqual(['channel_binding=require needs TLS, which sslmode=disable turns off'])
  })
})

describe.skipIf(!openssl)(
  'a server that asks for a weaker authentication than the URI allows never gets the password',
  () => {
    let dir: string
    let cert: { cert: string; key: string }
    const fakes: FakePostgres[] = []
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'pgrot-fake-'))
      cert = makeCert(dir, 'impostor')
    })
    afterAll(async () => {
      await Promise.all(fakes.map((f) => f.close()))
      rmSync(dir, { recursive: true, force: true })
    })
    const fake = async (auth: FakeOptions['auth'], tls = true) => {
      const f = await startFakePostgres({ auth, cert: tls ? cert : undefined })
      fakes.push(f)
      return f
    }
    const url = (f: FakePostgres, query: string) => `postgresql://admin:${SECRET}@127.0.0.1:${f.port}/postgres?${query}`
    const attempt = (f: FakePostgres, query: string) =>
      connect({ url: url(f, query) }, 'admin connection (admin-url)', {
        applicationName: 'test',
        connectTimeoutMs: 5000,
      })

    it('without require_auth or channel_binding the fake server does receive the password (the test can fail)', async () => {
      const f = await fake('cleartext')
      await expect(attempt(f, 'sslmode=require')).rejects.toThrow(/password authentication failed/)
      expect(f.passwords).toEqual([`${SECRET}\0`])
      expect(f.tlsConnections).toBe(1)
    })

    it.each([
      ['channel_binding=require', /channel_binding=require, but the server asked for a cleartext password/],
      [
        'sslmode=require&channel_binding=require',
        /channel_binding=require, but the server asked for a cleartext password/,
      ],
      ['require_auth=scram-sha-256', /require_auth=scram-sha-256, but the server asked for a cleartext password/],
      ['require_auth=!password', /require_auth=!password, but the server asked for a cleartext password/],
      ['sslmode=prefer&require_auth=md5,scram-sha-256', /asked for a cleartext password/],
    ])('cleartext request under %s: refused, the password not sent', async (query, message) => {
      const f = await fake('cleartext')
      const err = await attempt(f, query).then(
        () => null,
        (e: Error) => e,
      )
      expect(err?.message).toMatch(message)
      expect(err?.message).toMatch(/admin connection \(admin-url\): .*the password was not sent/)
      expect(err?.message).not.toContain(SECRET)
      expect(f.passwords).toEqual([])
      expect(f.connections).toBe(1)
    })

    it('an MD5 request under require_auth=scram-sha-256 or !md5 is refused before the hash leaves', async () => {
      const f = await fake('md5')
      for (const q of ['require_auth=scram-sha-256', 'require_auth=!md5', 'channel_binding=require'])
        await expect(attempt(f, q)).rejects.toThrow(/asked for an MD5-hashed password.*; the password was not sent/)
      expect(f.passwords).toEqual([])
      await expect(attempt(f, 'require_auth=md5')).rejects.toThrow(/password authentication failed/)
      expect(f.passwords).toHaveLength(1)
    })

    it('SCRAM without channel binding under channel_binding=require is refused before the first SASL message', async () => {
      const f = await fake('scram')
      await expect(attempt(f, 'channel_binding=require')).rejects.toThrow(
        /channel_binding=require, but the server did not offer SCRAM-SHA-256-PLUS/,
      )
      const plain = await fake('scram', false)
      await expect(attempt(plain, 'channel_binding=require')).rejects.toThrow(/the connection is not encrypted/)
      expect([...f.passwords, ...plain.passwords]).toEqual([])
    })

    it('a server that lets the client in without authentication fails require_auth and channel_binding=require', async () => {
      const f = await fake('none')
      await expect(attempt(f, 'require_auth=scram-sha-256')).rejects.toThrow(/asked for no authentication/)
      await expect(attempt(f, 'channel_binding=require')).rejects.toThrow(/asked for no authentication/)
    })

    it("bytes after the server's TLS answer (injected in plaintext before the handshake) fail the connection", async () => {
      const f = await startFakePostgres({ auth: 'cleartext', cert, inject: Buffer.from('R\0\0\0\x08\0\0\0\0') })
      fakes.push(f)
      await expect(attempt(f, 'sslmode=require')).rejects.toThrow(/unexpected data after the answer to the SSL request/)
      expect(f.passwords).toEqual([])
    })

    it('sslnegotiation=direct: a TLS server that does not select ALPN "postgresql" gets no startup message and no password', async () => {
      const f = await fake('cleartext')
      const err = await attempt(f, 'sslmode=require&sslnegotiation=direct').then(
        () => null,
        (e: Error) => e,
      )
      expect(err?.message).toMatch(
        /admin connection \(admin-url\): sslnegotiation=direct: .*ALPN protocol "postgresql"/,
      )
      expect(f.startups).toBe(0)
      expect(f.passwords).toEqual([])
      expect(err?.message).not.toContain(SECRET)
    })

    it('a pooler console follows the same rules: its password is not sent either', async () => {
      const f = await fake('cleartext')
      const poolers = new Poolers(
        [
          {
            url: `postgresql://stats:${SECRET}@127.0.0.1:${f.port}/pgbouncer?require_auth=scram-sha-256`,
            label: 'fake',
            line: 1,
          },
        ],
        'test',
      )
      const [reading] = await poolers.read()
      await poolers.end()
      expect(reading.error).toMatch(
        /require_auth=scram-sha-256, but the server asked for a cleartext password; the password was not sent/,
      )
      expect(f.passwords).toEqual([])
    })
  },
)
