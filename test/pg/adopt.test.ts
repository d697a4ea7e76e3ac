import { describe, expect, it } from 'vitest'
import {
  familyName,
  loginAs,
  loginError,
  ownerOf,
  phase,
  servers,
  snapshotRoles,
  withAdmin,
} from '../harness/helpers.js'

describe.each(servers())("PostgreSQL $major: adopting today's single login (adopt: true)", (server) => {
  it('migrates with zero downtime: the old login keeps working until the first close, then is disabled', async () => {
    const role = familyName('legacy')
    const oldPassword = 'legacy-password-1234'
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${oldPassword}'`)
      await c.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`)
    })
    const legacyApp = await loginAs(server, role, oldPassword)
    await legacyApp.query(`CREATE TABLE ${role}.orders (id int)`)

    const family = [role, `${role}_a`, `${role}_b`]
    const before = await snapshotRoles(server, family)
    await expect(phase(server, { phase: 'setup', role })).rejects.toThrow(/can log in.*adopt: true/)
    expect(await snapshotRoles(server, family)).toEqual(before)

    const s = await phase(server, { phase: 'setup', role, adopt: 'true' })
    expect(s.outputs).toMatchObject({ username: role, state: 'idle' })
    expect(s.outputs.password).toBeUndefined()
    expect(await loginError(server, role, oldPassword)).toBeNull()
    expect(await loginError(server, `${role}_a`, 'x'.repeat(16))).not.toBeNull()
    const again = await phase(server, { phase: 'setup', role, adopt: 'true' })
    expect(again.changes).toEqual([])

    const o = await phase(server, { phase: 'open', role })
    expect(o.outputs).toMatchObject({ username: `${role}_a`, previousUsername: role })
    const newApp = await loginAs(server, `${role}_a`, o.outputs.password!)
    await newApp.query(`INSERT INTO ${role}.orders VALUES (1)`)
    await newApp.query(`CREATE TABLE ${role}.invoices (id int)`)

    const waiting = await phase(server, { phase: 'verify-drain', role, timeout: '300ms' })
    expect(waiting.outputs).toMatchObject({ drained: false, remainingConnections: 1 })
    await legacyApp.end()
    const d = await phase(server, { phase: 'verify-drain', role })
    expect(d.outputs.drained).toBe(true)

    const c = await phase(server, { phase: 'close', role })
    expect(c.outputs).toMatchObject({ username: `${role}_a`, previousUsername: role, state: 'idle' })
    expect(await loginError(server, role, oldPassword)).not.toBeNull()
    await withAdmin(server, (a) => a.query(`ALTER ROLE ${role} LOGIN`))
    expect(await loginError(server, role, oldPassword)).toBe('28P01') // the password was scrambled too
    await withAdmin(server, (a) => a.query(`ALTER ROLE ${role} NOLOGIN`))
    expect(await ownerOf(server, 'invoices')).toBe(role)

    // From here on it is an ordinary family.
    const o2 = await phase(server, { phase: 'open', role })
    expect(o2.outputs).toMatchObject({ username: `${role}_b`, previousUsername: `${role}_a` })
    await newApp.end()
    await phase(server, { phase: 'close', role })
    const st = await phase(server, { phase: 'status', role })
    expect(st.status).toMatchObject({ active: `${role}_b`, drift: [] })
  })

  it('aborting the first rotation after adoption leaves the old login working', async () => {
    const role = familyName('legacy')
    await withAdmin(server, (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'legacy-password-1234'`))
    await phase(server, { phase: 'setup', role, adopt: 'true' })
    await phase(server, { phase: 'open', role })
    await phase(server, { phase: 'abort', role })
    expect(await loginError(server, role, 'legacy-password-1234')).toBeNull()
    const st = await phase(server, { phase: 'status', role })
    expect(st.status).toMatchObject({ state: 'idle', active: role, drift: [] })
  })
})
