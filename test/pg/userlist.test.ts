/**
 * pgbouncer-userlist: the auth_file lines of the logins that can log in, each
 * with the SCRAM verifier PostgreSQL stores (compared byte for byte with
 * pg_authid), from a superuser admin (which reads pg_authid) and from a
 * CREATEROLE admin (which cannot: the state's sealed copy, or a note that says
 * what is missing). The load test through a real PgBouncer is
 * test/pooler/auth-file.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { familyName, phase, servers, withAdmin } from '../harness/helpers.js'
import { createRoleAdmin } from '../harness/roles.js'
import type { TestServer } from '../harness/servers.js'

const SEAL_KEY = 'userlist-test-seal-key-0123456789'

async function authidLines(server: TestServer, logins: string[]): Promise<string> {
  return withAdmin(server, async (c) => {
    const rows = (
      await c.query(`SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname`, [logins])
    ).rows
    return rows.map((r) => `"${r.rolname}" "${r.rolpassword}"`).join('\n')
  })
}

describe.each(servers())('PostgreSQL $major: pgbouncer-userlist', (server) => {
  it('a superuser admin lists both logins after open and the active one after setup and close, as pg_authid holds them; masked', async () => {
    const role = familyName()
    const [a, b] = [`${role}_a`, `${role}_b`]
    const s = await phase(server, { phase: 'setup', role })
    expect(s.outputs.pgbouncerUserlist).toBe(await authidLines(server, [a]))
    const o = await phase(server, { phase: 'open', role })
    expect(o.outputs.pgbouncerUserlist).toBe(await authidLines(server, [a, b]))
    expect(o.outputs.pgbouncerUserlist).toMatch(/^"[^"]+_a" "SCRAM-SHA-256\$\d+:[^"]+"\n"[^"]+_b" "SCRAM-SHA-256\$/)
    expect(o.log.secrets).toEqual(
      expect.arrayContaining([o.outputs.pgbouncerUserlist, ...o.outputs.pgbouncerUserlist!.split('\n')]),
    )
    expect(o.log.lines.join('\n')).not.toContain('SCRAM-SHA-256$')
    const c = await phase(server, { phase: 'close', role, force: 'true' })
    expect(c.outputs.pgbouncerUserlist).toBe(await authidLines(server, [b]))
  })

  it('a CREATEROLE admin without seal-key emits none after open and says what is missing; with seal-key the state keeps the verifier for the next rotation', async () => {
    const admin = await createRoleAdmin(server)
    const role = familyName()
    const [a, b] = [`${role}_a`, `${role}_b`]
    const plain = { role, 'admin-url': admin.url }
    const s = await phase(server, { phase: 'setup', ...plain })
    // The password setup set is the one verifier it knows.
    expect(s.outputs.pgbouncerUserlist).toBe(await authidLines(server, [a]))
    const o = await phase(server, { phase: 'open', ...plain })
    expect(o.outputs.pgbouncerUserlist).toBeUndefined()
    expect(o.notes.join('\n')).toMatch(
      new RegExp(
        `pgbouncer-userlist: not emitted, because the action does not know the SCRAM verifier of "${a}".*cannot read pg_authid.*keeps no sealed copy.*pass seal-key`,
      ),
    )
    // This rotation's open had seal-key: after its close, the next open lists both without pg_authid.
    await phase(server, { phase: 'abort', ...plain })
    const sealed = { ...plain, 'seal-key': SEAL_KEY }
    const o2 = await phase(server, { phase: 'open', ...sealed }, { env: { GITHUB_RUN_ID: '2001' } })
    expect(o2.outputs.pgbouncerUserlist).toBeUndefined() // still no copy of the first login's verifier
    const c2 = await phase(server, { phase: 'close', ...sealed, force: 'true' })
    expect(c2.outputs.pgbouncerUserlist).toBe(await authidLines(server, [b]))
    const o3 = await phase(server, { phase: 'open', ...sealed }, { env: { GITHUB_RUN_ID: '2002' } })
    expect(o3.outputs.pgbouncerUserlist, o3.notes.join('\n')).toBe(await authidLines(server, [a, b]))
    // Inside sealed-credentials: unseal returns it, and a re-run of open emits it again.
    const u = await phase(server, {
      phase: 'unseal',
      role,
      'seal-key': SEAL_KEY,
      'sealed-credentials': o3.outputs.sealedCredentials!,
    })
    expect(u.outputs.pgbouncerUserlist).toBe(o3.outputs.pgbouncerUserlist)
    expect(u.log.secrets).toContain(u.outputs.pgbouncerUserlist)
    const again = await phase(server, { phase: 'open', ...sealed }, { env: { GITHUB_RUN_ID: '2002' } })
    expect(again.outputs.pgbouncerUserlist).toBe(o3.outputs.pgbouncerUserlist)
    // Without seal-key, close cannot open the state's copy: it says so.
    const c3 = await phase(server, { phase: 'close', ...plain, force: 'true' })
    expect(c3.outputs.pgbouncerUserlist).toBeUndefined()
    expect(c3.notes.join('\n')).toMatch(/this step has no seal-key to open it/)
  })

  it('with password-encryption: server nothing is emitted, and a note says why', async () => {
    const role = familyName()
    const server_ = { role, 'password-encryption': 'server' }
    const s = await phase(server, { phase: 'setup', ...server_ })
    expect(s.outputs.pgbouncerUserlist).toBeUndefined()
    const o = await phase(server, { phase: 'open', ...server_, 'seal-key': SEAL_KEY })
    expect(o.outputs.pgbouncerUserlist).toBeUndefined()
    expect(o.notes.join('\n')).toMatch(
      /pgbouncer-userlist: not emitted: with password-encryption: server the server computes the SCRAM verifier/,
    )
  })
})
