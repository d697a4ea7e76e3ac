import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { connectTo } from '../harness/clients.js'
import { familyName, phase, servers } from '../harness/helpers.js'

/** A file that exists on the runner only (the admin's CA bundle); sslmode=disable so it is never used. */
function runnerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runner-'))
  const path = join(dir, 'ca.pem')
  writeFileSync(path, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
  return path
}

describe.each(servers())('PostgreSQL $major: the default app URL', (server) => {
  it('carries no runner-only parameter of admin-url (CA path, application_name), keeps sslmode, and says so', async () => {
    const role = familyName()
    const ca = runnerFile()
    const sep = server.url.includes('?') ? '&' : '?'
    const adminUrl = `${server.url}${sep}sslmode=disable&sslrootcert=${encodeURIComponent(ca)}&application_name=rotation-admin&connect_timeout=10`
    const s = await phase(server, { phase: 'setup', role, 'admin-url': adminUrl })
    const url = s.outputs.databaseUrl!
    expect(url).not.toContain('sslrootcert')
    expect(url).not.toContain('application_name')
    expect(url).not.toContain(encodeURIComponent(ca))
    expect(new URL(url.replace(/^postgres(ql)?:/, 'http:')).searchParams.get('sslmode')).toBe('disable')
    expect(new URL(url.replace(/^postgres(ql)?:/, 'http:')).searchParams.get('connect_timeout')).toBe('10')
    const notice = s.log.lines.find((l) => l.startsWith('notice: '))
    expect(notice).toMatch(/database-url.*admin-url.*sslrootcert, application_name.*sslmode=disable.*app-url/)
    expect(s.notes.join('\n')).toContain(notice!.slice('notice: '.length))

    // The application logs in with it and is not named after the admin in pg_stat_activity.
    const app = await connectTo(url)
    try {
      const row = (
        await app.query('SELECT current_user, application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()')
      ).rows[0]
      expect(row.current_user).toBe(role)
      expect(row.application_name).not.toBe('rotation-admin')
    } finally {
      await app.end()
    }

    const o = await phase(server, { phase: 'open', role, 'admin-url': adminUrl })
    expect(o.outputs.databaseUrl).not.toMatch(/sslrootcert|application_name/)
    expect(o.notes.join('\n')).toMatch(/sslrootcert, application_name/)
  })

  it('says nothing when app-url is given', async () => {
    const role = familyName()
    const u = new URL(server.url.replace(/^postgres(ql)?:/, 'http:'))
    const s = await phase(server, {
      phase: 'setup',
      role,
      'app-url': `postgresql://${u.host}${u.pathname}?application_name=app`,
    })
    expect(s.outputs.databaseUrl).toContain('application_name=app')
    expect(s.log.lines.filter((l) => l.startsWith('notice: '))).toEqual([])
  })
})
