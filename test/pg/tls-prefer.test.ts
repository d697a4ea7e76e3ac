import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installedMajors, startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { familyName, phase } from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

const openssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((p) => existsSync(p))
const major = installedMajors().at(-1)
/** An address of this machine that is not loopback, to stand for a remote database host. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address

const on = (s: EmbeddedServer, url: string): TestServer => ({
  major: s.major,
  version: s.version,
  url,
  host: s.host,
  port: s.port,
  password: s.password,
  driver: 'embedded',
})
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
      const cert = join(dir, 'server.crt')
      const key = join(dir, 'server.key')
      execFileSync(
        openssl!,
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=localhost',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'ignore' },
      )
      const hba = join(dir, 'pg_hba.conf')
      writeFileSync(
        hba,
        [
          'local all all scram-sha-256',
          'host all all 127.0.0.1/32 scram-sha-256',
          ...(external ? [`host all all ${external}/32 scram-sha-256`] : []),
        ].join('\n') + '\n',
      )
      if (process.getuid?.() === 0) {
        const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
        const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
        for (const f of [dir, cert, key, hba]) chownSync(f, uid, gid)
      }
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
