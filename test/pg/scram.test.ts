import { describe, expect, it } from 'vitest'
import { generatePassword } from '../../src/crypto/password.js'
import { parseVerifier, scramVerifier } from '../../src/crypto/scram.js'
import { familyName, loginError, phase, servers, withAdmin } from '../harness/helpers.js'
import { canReadServerLog, serverLog } from '../harness/servers.js'

describe.each(servers())('PostgreSQL $major: SCRAM-SHA-256 verifiers', (server) => {
  it('a verifier computed by the action lets the password log in, and a wrong password fails', async () => {
    const name = familyName('scram')
    const password = generatePassword(32)
    await withAdmin(server, (c) => c.query(`CREATE ROLE ${name} LOGIN PASSWORD '${scramVerifier(password)}'`))
    expect(await loginError(server, name, password)).toBeNull()
    expect(await loginError(server, name, password.slice(1))).toBe('28P01')
  })

  it('recomputing the verifier the server stored for a plaintext password gives the same string', async () => {
    const name = familyName('scram')
    const password = 'correct horse battery staple'
    const stored = await withAdmin(server, async (c) => {
      await c.query(`SET password_encryption = 'scram-sha-256'`)
      await c.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`)
      return (await c.query(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, [name])).rows[0]
        .rolpassword as string
    })
    const { iterations, salt } = parseVerifier(stored)
    expect(salt.length).toBe(16)
    expect(scramVerifier(password, iterations, salt)).toBe(stored)
  })

  it.runIf(server.major >= 16)("uses the server's scram_iterations on PostgreSQL 16+", async () => {
    const role = familyName()
    const url = `${server.url}?options=${encodeURIComponent('-c scram_iterations=5000')}`
    const r = await phase(server, { phase: 'setup', role, 'admin-url': url })
    const stored = await withAdmin(
      server,
      async (c) =>
        (await c.query(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, [`${role}_a`])).rows[0]
          .rolpassword as string,
    )
    expect(stored.startsWith('SCRAM-SHA-256$5000:')).toBe(true)
    expect(await loginError(server, `${role}_a`, r.outputs.password!)).toBeNull()
  })

  it.runIf(canReadServerLog(server))(
    'with scram-sha-256 the plaintext never reaches the server log, even with log_statement = all',
    async () => {
      const role = familyName()
      const url = `${server.url}?options=${encodeURIComponent('-c log_statement=all')}`
      const s = await phase(server, { phase: 'setup', role, 'admin-url': url })
      const o = await phase(server, { phase: 'open', role, 'admin-url': url })
      // A container's output reaches the runtime's log a moment after the server wrote it: wait for open's statement.
      const statement = `ALTER ROLE "${role}_b" WITH LOGIN PASSWORD 'SCRAM-SHA-256$`
      await expect.poll(async () => (await serverLog(server)).includes(statement), { timeout: 5000 }).toBe(true)
      const log = await serverLog(server)
      expect(log).not.toContain(s.outputs.password!)
      expect(log).not.toContain(o.outputs.password!)
    },
  )

  it('password-encryption: server sends the password for the server to hash, and it works', async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role, 'password-encryption': 'server' })
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
    const stored = await withAdmin(
      server,
      async (c) =>
        (await c.query(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, [`${role}_a`])).rows[0]
          .rolpassword as string,
    )
    expect(stored.startsWith('SCRAM-SHA-256$')).toBe(true)
  })
})
