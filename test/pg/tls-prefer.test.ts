import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installedMajors, startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { familyName, phase } from '../harness/helpers.js'
import { embeddedTestServer, type TestServer } from '../harness/servers.js'
import { makeCert, openssl, readableByServer } from '../harness/tls.js'
import { startCountingProxy } from '../harness/counting-proxy.js'

const major = installedMajors().at(-1)
/** An address of this machine that is not loopback, to stand for a remote database host. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address

const on = (s: EmbeddedServer, url: string): TestServer => ({ ...embeddedTestServer(s), url })
const url = (s: EmbeddedServer, query = '', host = '127.0.0.1') =>
  `postgresql://postgres:${s.password}@${host}:${s.port}/postgres${query}`
let run = 7000
/** A phase with its own run id, so its connections can be found in the server log. */
async function tagged(server: TestServer, inputs: Record<string, string>) {
  const id = String(run++)
  const r = await phase(server, inputs, { env: { GITHUB_RUN_ID: id } })
  return { ...r, id }
}
const sslIn = (s: EmbeddedServer, app: string) =>
  new RegExp(`connection authorized: .*application_name=${app.replace(/\//g, '\\/')}.*SSL enabled`).test(
    readFileSync(s.logFile, 'utf8'),
  )
const plaintextWarned = (lines: string[]) =>
  lines.some((l) => /warning: The admin connection to .* is not encrypted/.test(l))

describe.skipIf(!openssl || major === undefined)(
  'TLS like libpq: no sslmode means prefer, and an unencrypted admin connection to a remote host is warned about',
  () => {
    let dir: string
    let tls: EmbeddedServer
    let plain: EmbeddedServer
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'pgrot-prefer-'))
      const { cert, key } = makeCert(dir, 'server')
      const hba = join(dir, 'pg_hba.conf')
      writeFileSync(
        hba,
        [
          'local all all scram-sha-256',
          'host all all 127.0.0.1/32 scram-sha-256',
          ...(external ? [`host all all ${external}/32 scram-sha-256`] : []),
        ].join('\n') + '\n',
      )
      readableByServer([dir, cert, key, hba])
      const listen = {
        listen_addresses: external ? `127.0.0.1,${external}` : '127.0.0.1',
        hba_file: hba,
        log_connections: 'on',
      }
      tls = await startEmbedded(major!, { ...listen, ssl: 'on', ssl_cert_file: cert, ssl_key_file: key })
      plain = await startEmbedded(major!, listen)
    })
    afterAll(async () => {
      await tls?.stop()
      await plain?.stop()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('without sslmode, every connection (admin, login check) uses TLS when the server offers it', async () => {
      const role = familyName()
      const s = await tagged(on(tls, url(tls)), { phase: 'setup', role })
      expect(sslIn(tls, `pg-credential-rotation/setup run ${s.id}`)).toBe(true)
      await tagged(on(tls, url(tls)), { phase: 'open', role })
      expect(sslIn(tls, 'pg-credential-rotation/open-check')).toBe(true)
    })

    it('without sslmode or with sslmode=prefer, a server without TLS is reached in plaintext, with no warning on loopback', async () => {
      for (const query of ['', '?sslmode=prefer']) {
        const r = await tagged(on(plain, url(plain, query)), { phase: 'status', role: familyName() })
        expect(r.status!.state).toBe('not set up')
        expect(plaintextWarned(r.log.lines)).toBe(false)
      }
    })

    it('sslmode=prefer against a server without TLS costs one TCP connection per connection, as in libpq', async () => {
      const proxy = await startCountingProxy({ host: '127.0.0.1', port: plain.port })
      try {
        const role = familyName()
        const via = on(plain, `postgresql://postgres:${plain.password}@127.0.0.1:${proxy.port}/postgres`)
        for (const p of ['setup', 'open', 'status']) {
          proxy.reset()
          const r = await tagged(via, { phase: p, role })
          expect(r.log.lines.join('\n')).not.toMatch(/error/i)
          // Every TCP connection carried a login: none was spent on an SSLRequest answered 'N'.
          expect({ phase: p, accepted: proxy.accepted }).toEqual({ phase: p, accepted: proxy.logins })
          expect(proxy.logins).toBeGreaterThan(0)
        }
      } finally {
        await proxy.close()
      }
    })

    it.skipIf(!external)(
      'a plaintext admin connection to a non-loopback host is warned about; an encrypted one is not',
      async () => {
        const r = await tagged(on(plain, url(plain, '', external)), { phase: 'status', role: familyName() })
        expect(plaintextWarned(r.log.lines)).toBe(true)
        const t = await tagged(on(tls, url(tls, '', external)), { phase: 'status', role: familyName() })
        expect(plaintextWarned(t.log.lines)).toBe(false)
        const d = await tagged(on(tls, url(tls, '?sslmode=disable', external)), { phase: 'status', role: familyName() })
        expect(plaintextWarned(d.log.lines)).toBe(true)
      },
    )

    it.skipIf((major ?? 0) < 17)(
      'sslnegotiation=direct (PostgreSQL 17+): TLS from the first byte with ALPN "postgresql", admin connection and login check',
      async () => {
        const role = familyName()
        const via = on(tls, url(tls, '?sslmode=require&sslnegotiation=direct'))
        const s = await tagged(via, { phase: 'setup', role })
        expect(sslIn(tls, `pg-credential-rotation/setup run ${s.id}`)).toBe(true)
        const o = await tagged(via, { phase: 'open', role })
        expect(o.outputs.state).toBe('open')
      },
    )

    it('PGSSLMODE=require without admin-url encrypts without verifying the certificate, as libpq does', async () => {
      const saved = { ...process.env }
      Object.assign(process.env, {
        PGHOST: '127.0.0.1',
        PGPORT: String(tls.port),
        PGUSER: 'postgres',
        PGPASSWORD: tls.password,
        PGDATABASE: 'postgres',
        PGSSLMODE: 'require',
      })
      try {
        const r = await phase(
          on(tls, ''),
          { 'admin-url': '', phase: 'status', role: familyName() },
          { env: { ...process.env, GITHUB_RUN_ID: '7999' } },
        )
        expect(r.status!.state).toBe('not set up')
        expect(sslIn(tls, 'pg-credential-rotation/status run 7999')).toBe(true)
      } finally {
        for (const k of ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE']) {
          if (saved[k] === undefined) delete process.env[k]
          else process.env[k] = saved[k]
        }
      }
    })
  },
)
