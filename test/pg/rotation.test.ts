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

describe.each(servers())('PostgreSQL $major: a full rotation', (server) => {
  it('setup creates the family: group NOLOGIN, first login active with the emitted password, second NOLOGIN', async () => {
    const role = familyName()
    const r = await phase(server, { phase: 'setup', role })
    expect(r.outputs.username).toBe(`${role}_a`)
    expect(r.outputs.state).toBe('idle')
    expect(r.outputs.password).toMatch(/^[A-Za-z0-9._~-]{32}$/)
    expect(r.outputs.databaseUrl).toBe(
      `postgresql://${role}_a:${r.outputs.password}@${server.host}:${server.port}/postgres`,
    )
    expect(r.log.secrets).toContain(r.outputs.password)
    expect(r.log.secrets).toContain(r.outputs.databaseUrl)

    expect(await loginError(server, `${role}_a`, r.outputs.password!)).toBeNull()
    expect(await loginError(server, `${role}_a`, 'wrong-password-123')).toBe('28P01')
    expect(await loginError(server, `${role}_b`, r.outputs.password!)).not.toBeNull()
    expect(await loginError(server, role, r.outputs.password!)).not.toBeNull()

    const c = await loginAs(server, `${role}_a`, r.outputs.password!)
    const who = (await c.query('SELECT current_user, session_user')).rows[0]
    await c.end()
    expect(who).toEqual({ current_user: role, session_user: `${role}_a` })

    await withAdmin(server, async (a) => {
      const roles = (
        await a.query(`SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1`, [`${role}%`])
      ).rows
      expect(roles).toEqual([
        { rolname: role, rolcanlogin: false },
        { rolname: `${role}_a`, rolcanlogin: true },
        { rolname: `${role}_b`, rolcanlogin: false },
      ])
      const settings = (
        await a.query(
          `SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname LIKE $1 ORDER BY 1`,
          [`${role}%`],
        )
      ).rows
      expect(settings).toEqual([
        { rolname: `${role}_a`, setconfig: [`role=${role}`] },
        { rolname: `${role}_b`, setconfig: [`role=${role}`] },
      ])
    })
  })

  it('setup run again changes nothing and never touches the live password', async () => {
    const role = familyName()
    const first = await phase(server, { phase: 'setup', role })
    const before = await snapshotRoles(server, [role, `${role}_a`, `${role}_b`])
    const again = await phase(server, { phase: 'setup', role })
    expect(again.outputs.password).toBeUndefined()
    expect(again.outputs.databaseUrl).toBeUndefined()
    expect(again.outputs.username).toBe(`${role}_a`)
    expect(again.changes).toEqual([])
    expect(await snapshotRoles(server, [role, `${role}_a`, `${role}_b`])).toEqual(before)
    expect(await loginError(server, `${role}_a`, first.outputs.password!)).toBeNull()
  })

  it('rotates twice: open, deploy, verify-drain, close; old passwords stop working and objects stay owned by the group', async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    await withAdmin(server, (a) => a.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`))
    let active = { user: s.outputs.username!, password: s.outputs.password! }
    let app = await loginAs(server, active.user, active.password)
    await app.query(`CREATE TABLE ${role}.t_${role}_0 (id int)`)

    for (let round = 1; round <= 2; round++) {
      const o = await phase(server, { phase: 'open', role })
      expect(o.outputs.state).toBe('open')
      expect(o.outputs.previousUsername).toBe(active.user)
      expect(o.outputs.username).not.toBe(active.user)
      expect(o.outputs.rotationId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/)
      // both logins work while the rotation is open
      expect(await loginError(server, active.user, active.password)).toBeNull()
      const next = { user: o.outputs.username!, password: o.outputs.password! }

      // "deploy": the application moves to the new login
      const newApp = await loginAs(server, next.user, next.password)
      await newApp.query(`CREATE TABLE ${role}.t_${role}_${round} (id int)`)
      setTimeout(() => void app.end(), 300)

      const d = await phase(server, { phase: 'verify-drain', role, 'rotation-id': o.outputs.rotationId! })
      expect(d.failure).toBeUndefined()
      expect(d.outputs).toMatchObject({
        drained: true,
        remainingConnections: 0,
        previousUsername: active.user,
        rotationId: o.outputs.rotationId,
        state: 'open',
      })

      const c = await phase(server, { phase: 'close', role, 'rotation-id': o.outputs.rotationId! })
      expect(c.outputs).toMatchObject({
        username: next.user,
        previousUsername: active.user,
        state: 'idle',
        remainingConnections: 0,
        rotationId: o.outputs.rotationId,
      })
      expect(await loginError(server, active.user, active.password)).not.toBeNull()
      expect(await loginError(server, next.user, next.password)).toBeNull()
      active = next
      app = newApp
    }
    await app.end()
    for (const t of [0, 1, 2]) expect(await ownerOf(server, `t_${role}_${t}`)).toBe(role)
  })
})
