/**
 * setup prints the grants the family it just created still needs and cannot run itself
 * (step 5 of the prerequisites in docs/managed-services.md): each statement with who runs
 * it, in the log and the job summary. Run as printed, they are all the application needs.
 */
import { describe, expect, it } from 'vitest'
import { familyName, loginAs, phase, servers, withAdmin } from '../harness/helpers.js'
import { createRoleAdmin } from '../harness/roles.js'
import { withClient } from '../harness/clients.js'

const inDatabase = (url: string, db: string) => url.replace(/\/[^/?]+(\?|$)/, `/${db}$1`)

describe.each(servers())('PostgreSQL $major: the grants setup leaves to others', (server) => {
  it('setup names each remaining grant and who runs it; run as printed, the application logs in and creates a table; a re-run prints none', async () => {
    const role = familyName()
    const db = `${role}_db`
    const admin = await createRoleAdmin(server)
    // A locked-down database: CONNECT and CREATE on public revoked from PUBLIC (15+ has the latter by default).
    await withAdmin(server, (c) => c.query(`CREATE DATABASE ${db}`))
    await withAdmin(server, (c) =>
      c.query(`REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC; GRANT CONNECT ON DATABASE ${db} TO ${admin.name}`),
    )
    await withClient(inDatabase(server.url, db), (c) => c.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC'))
    const a = { 'admin-url': inDatabase(admin.url, db), role }
    const s = await phase(server, { ...a, phase: 'setup' })
    const note = s.notes.find((n) => n.startsWith('Remaining grants'))
    expect(note).toBeDefined()
    expect(s.log.lines).toContain(note)
    expect(note).toContain(`GRANT USAGE, CREATE ON SCHEMA public TO "${role}";`)
    expect(note).toContain(`GRANT CONNECT ON DATABASE "${db}" TO "${role}";`)
    expect(note).toMatch(/as a superuser or the owner of schema public, "postgres": GRANT USAGE/)
    expect(note).toMatch(new RegExp(`as a superuser or the owner of database "${db}", "postgres": GRANT CONNECT`))
    // Before: the application cannot even connect.
    await expect(loginAs(server, s.outputs.username!, s.outputs.password!, db)).rejects.toThrow(/permission denied/)
    const statements = note!.match(/GRANT [^;]+;/g)!
    expect(statements).toHaveLength(2)
    await withClient(inDatabase(server.url, db), (c) => c.query(statements.join(' ')))
    const app = await loginAs(server, s.outputs.username!, s.outputs.password!, db)
    await app.query('CREATE TABLE public.t (id int)')
    await app.end()
    const again = await phase(server, { ...a, phase: 'setup' })
    expect(again.notes.join('\n')).not.toMatch(/Remaining grants/)
  })
})
