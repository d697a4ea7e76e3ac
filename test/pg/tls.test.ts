import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installedMajors, startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { familyName, phase } from '../harness/helpers.js'
import { embeddedTestServer, type TestServer } from '../harness/servers.js'
import { makeCert, openssl, readableByServer } from '../harness/tls.js'

const major = installedMajors().at(-1)

describe.skipIf(!openssl || major === undefined)(
  'TLS: sslmode and sslrootcert in admin-url work as in libpq, and never fall back to plaintext',
  () => {
    let dir: string
    let tls: EmbeddedServer
    let plain: EmbeddedServer
    let good: { cert: string; key: string }
    let other: { cert: string; key: string }
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'pgrot-tls-'))
      good = makeCert(dir, 'server')
      other = makeCert(dir, 'other')
      readableByServer([dir, good.cert, good.key])
      tls = await startEmbedded(major!, {
        ssl: 'on',
        ssl_cert_file: good.cert,
        ssl_key_file: good.key,
        log_connections: 'on',
      })
      plain = await startEmbedded(major!)
    })
    afterAll(async () => {
      await tls?.stop()
      await plain?.stop()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    const on = (s: EmbeddedServer, url: string): TestServer => ({ ...embeddedTestServer(s), url })

    it("sslmode=require encrypts (the server logs the action's connections as SSL)", async () => {
      const url = `postgresql://postgres:${tls.password}@127.0.0.1:${tls.port}/postgres?sslmode=require`
      const r = await phase(on(tls, url), { phase: 'setup', role: familyName() })
      expect(r.outputs.state).toBe('idle')
      const log = readFileSync(tls.logFile, 'utf8')
      expect(log).toMatch(
        /connection authorized: user=postgres database=postgres application_name=pg-credential-rotation\/setup.*SSL enabled/,
      )
    })

    it('sslmode=verify-full with sslrootcert verifies the server, and a wrong root certificate fails before anything changes', async () => {
      const ok = `postgresql://postgres:${tls.password}@localhost:${tls.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(good.cert)}`
      const role = familyName()
      await phase(on(tls, ok), { phase: 'setup', role })
      // open's login check uses the same TLS settings and must verify too
      const o = await phase(on(tls, ok), { phase: 'open', role })
      expect(o.outputs.state).toBe('open')
      const bad = `postgresql://postgres:${tls.password}@localhost:${tls.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(other.cert)}`
      await expect(phase(on(tls, bad), { phase: 'close', role, force: 'true' })).rejects.toThrow(
        /admin connection \(admin-url\): .*(self[- ]signed|certificate)/i,
      )
      const st = await phase(on(tls, ok), { phase: 'status', role })
      expect(st.status!.state).toBe('open')
    })

    it('channel_binding=require authenticates with SCRAM-SHA-256-PLUS over TLS, and fails without TLS; require_auth is enforced', async () => {
      const base = `postgresql://postgres:${tls.password}@127.0.0.1:${tls.port}/postgres`
      const st = await phase(on(tls, `${base}?sslmode=require&channel_binding=require`), {
        phase: 'status',
        role: familyName(),
      })
      expect(st.status!.state).toBe('not set up')
      await expect(
        phase(on(tls, `${base}?sslmode=require&require_auth=md5`), { phase: 'status', role: familyName() }),
      ).rejects.toThrow(
        /require_auth=md5, but the server asked for SCRAM-SHA-256 authentication; the password was not sent/,
      )
      const plainUrl = `postgresql://postgres:${plain.password}@127.0.0.1:${plain.port}/postgres?channel_binding=require`
      await expect(phase(on(plain, plainUrl), { phase: 'status', role: familyName() })).rejects.toThrow(
        /channel_binding=require, but the connection is not encrypted/,
      )
    })

    it('sslmode=require against a server without TLS fails; it does not fall back to an unencrypted connection', async () => {
      const url = `postgresql://postgres:${plain.password}@127.0.0.1:${plain.port}/postgres?sslmode=require`
      await expect(phase(on(plain, url), { phase: 'status', role: familyName() })).rejects.toThrow(
        /does not support SSL/i,
      )
    })
  },
)
