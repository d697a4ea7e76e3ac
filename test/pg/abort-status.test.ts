import { describe, expect, it } from 'vitest'
import {
  clientAddrOf,
  familyName,
  literally,
  loginAs,
  loginError,
  ownerOf,
  phase,
  servers,
  snapshotRoles,
  withAdmin,
} from '../harness/helpers.js'
import { family } from '../harness/roles.js'

describe.each(servers())('PostgreSQL $major: abort', (server) => {
  it('cancels an open rotation: the incoming login is disabled with a scrambled password, the active login keeps working', async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    const o = await phase(server, { phase: 'open', role })
    const a = await phase(server, { phase: 'abort', role })
    expect(a.outputs).toMatchObject({
      username: `${role}_a`,
      previousUsername: `${role}_b`,
      state: 'idle',
      rotationId: o.outputs.rotationId,
    })
    expect(await loginError(server, `${role}_b`, o.outputs.password!)).not.toBeNull()
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${role}_b LOGIN`))
    expect(await loginError(server, `${role}_b`, o.outputs.password!)).toBe('28P01')
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${role}_b NOLOGIN`))
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
    // a new rotation can start afterwards, from any run
    const again = await phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '9999' } })
    expect(again.outputs.username).toBe(`${role}_b`)
    expect(again.outputs.rotationId).not.toBe(o.outputs.rotationId)
  })

  it('refuses, changing nothing, while the incoming login has a session (a deploy already uses it), naming it and saying what to do', async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    const o = await phase(server, { phase: 'open', role })
    const app = await loginAs(server, `${role}_b`, o.outputs.password!)
    // 127.0.0.1 on the embedded driver; a container sees its bridge's gateway.
    const from = literally(await clientAddrOf(app))
    try {
      const before = await snapshotRoles(server, family(role))
      for (const inputs of [{}, { terminate: 'true' }] as Record<string, string>[]) {
        const e = await phase(server, { phase: 'abort', role, ...inputs }).then(
          () => new Error('abort succeeded'),
          (x: Error) => x,
        )
        expect(e.message).toMatch(
          new RegExp(
            `The incoming login "${role}_b" has 1 session\\(s\\): primary pid \\d+ \\(database postgres, application 'test-app', from ${from}\\)`,
          ),
        )
        expect(e.message).toMatch(/Nothing was changed/)
        expect(e.message).toMatch(
          new RegExp(
            `finish the rollout and run close.*move the application back to the credentials of "${role}_a".*force: true`,
            'is',
          ),
        )
        expect((e as { committed?: boolean }).committed).toBeUndefined()
      }
      expect(await snapshotRoles(server, family(role))).toEqual(before)
      expect((await app.query('SELECT current_user AS u')).rows[0].u).toBe(role)
      expect(await loginError(server, `${role}_b`, o.outputs.password!)).toBeNull()

      // force: true aborts anyway; the session keeps running (it cannot log in again), and the notes say so.
      const a = await phase(server, { phase: 'abort', role, force: 'true' })
      expect(a.outputs).toMatchObject({ state: 'idle', previousUsername: `${role}_b` })
      expect(a.notes.join(' ')).toMatch(new RegExp(`force: true: "${role}_b" had 1 session`))
      expect((await app.query('SELECT 1 AS one')).rows[0].one).toBe(1)
      expect(await loginError(server, `${role}_b`, o.outputs.password!)).not.toBeNull()
      expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
    } finally {
      await app.end().catch(() => {})
    }
  })

  it("force: true with terminate: true aborts and ends the incoming login's sessions", async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const o = await phase(server, { phase: 'open', role })
    const app = await loginAs(server, `${role}_b`, o.outputs.password!)
    const ended = new Promise((r) => app.once('error', r))
    const a = await phase(server, { phase: 'abort', role, terminate: 'true', force: 'true' })
    expect(a.notes.join(' ')).toMatch(/Signalled 1 sessions/)
    await ended
    await app.end().catch(() => {})
  })

  it('is a no-op that says so when no rotation is open, when the family is not set up, and when re-run after success', async () => {
    const role = familyName()
    const none = await phase(server, { phase: 'abort', role })
    expect(none.notes.join(' ')).toMatch(/Nothing to do: the family is not set up/)
    expect(await snapshotRoles(server, family(role))).toEqual({ roles: [], members: [] })
    await phase(server, { phase: 'setup', role })
    const idle = await phase(server, { phase: 'abort', role })
    expect(idle.notes.join(' ')).toMatch(/Nothing to do: no rotation is open/)
    expect(idle.outputs).toMatchObject({ username: `${role}_a`, state: 'idle' })
    await phase(server, { phase: 'open', role })
    await phase(server, { phase: 'abort', role })
    const before = await snapshotRoles(server, family(role))
    const rerun = await phase(server, { phase: 'abort', role })
    expect(rerun.changes).toEqual([])
    expect(rerun.notes.join(' ')).toMatch(/no rotation is open \(rotation \S+ was aborted at/)
    expect(await snapshotRoles(server, family(role))).toEqual(before)
  })

  it('verify-drain and close after an abort fail and say there is no open rotation', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const o = await phase(server, { phase: 'open', role })
    await phase(server, { phase: 'abort', role })
    await expect(phase(server, { phase: 'close', role, 'rotation-id': o.outputs.rotationId! })).rejects.toThrow(
      /No rotation is open/,
    )
    await expect(phase(server, { phase: 'verify-drain', role, 'rotation-id': o.outputs.rotationId! })).rejects.toThrow(
      /No rotation is open/,
    )
  })
})

describe.each(servers())('PostgreSQL $major: status and drift', (server) => {
  it('reports the active login, the open rotation, sessions per login and database, and last rotations, as JSON', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    const o = await phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: '31337', GITHUB_ACTOR: 'octocat' } })
    const app = await loginAs(server, `${role}_b`, o.outputs.password!)
    try {
      const before = await snapshotRoles(server, family(role))
      const st = await phase(server, { phase: 'status', role })
      expect(st.changes).toEqual([])
      expect(await snapshotRoles(server, family(role))).toEqual(before)
      expect(st.status).toMatchObject({
        group: role,
        state: 'open',
        active: `${role}_a`,
        canLogin: { [role]: false, [`${role}_a`]: true, [`${role}_b`]: true },
        rotation: { id: o.outputs.rotationId, incoming: `${role}_b`, openedBy: { runId: '31337', actor: 'octocat' } },
        drift: [],
      })
      expect(st.status!.sessions).toContainEqual(
        expect.objectContaining({ login: `${role}_b`, database: 'postgres', count: 1, server: 'primary' }),
      )
      expect(Object.keys(st.status!.passwordSetAt).sort()).toEqual([`${role}_a`, `${role}_b`])
      // username is the login to use now (the incoming one); the state's active login is the outgoing one until close.
      expect(st.outputs).toMatchObject({
        state: 'open',
        username: `${role}_b`,
        previousUsername: `${role}_a`,
        rotationId: o.outputs.rotationId,
      })
    } finally {
      await app.end()
    }
  })

  it('says a family that does not exist is not set up', async () => {
    const st = await phase(server, { phase: 'status', role: familyName() })
    expect(st.status).toMatchObject({ state: 'not set up', active: null })
    expect(st.status!.drift.map((d) => d.kind)).toContain('missing-role')
  })

  it('reports drift made on purpose, and setup with fix-ownership clears the ownership drift', async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    const db = `db_${role}`
    await withAdmin(server, async (c) => {
      await c.query(`CREATE DATABASE ${db}`)
      await c.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`)
      // Drift: a table owned by the login itself (SET ROLE back to the login), a missing SET role
      // default, a membership revoked, and the standby given LOGIN by hand.
      await c.query(`GRANT CREATE ON DATABASE ${db} TO ${role}_a`)
      await c.query(`ALTER ROLE ${role}_b RESET role`)
      await c.query(`REVOKE ${role} FROM ${role}_b`)
      await c.query(`ALTER ROLE ${role}_b LOGIN`)
    })
    const app = await loginAs(server, `${role}_a`, s.outputs.password!)
    await app.query(`SET ROLE ${role}_a`)
    await app.query(`CREATE TABLE ${role}.owned_by_login (id int)`)
    await app.end()
    const other = await loginAs(server, `${role}_a`, s.outputs.password!, db)
    await other.query(`SET ROLE ${role}_a`)
    await other.query(`CREATE SCHEMA s_${role}`)
    await other.end()
    expect(await ownerOf(server, 'owned_by_login')).toBe(`${role}_a`)

    const st = await phase(server, { phase: 'status', role })
    const kinds = st.status!.drift.map((d) => `${d.kind}:${d.role}`)
    expect(kinds).toEqual(
      expect.arrayContaining([
        `owns-objects:${role}_a`,
        `missing-default-role:${role}_b`,
        `not-member:${role}_b`,
        `unexpected-login:${role}_b`,
      ]),
    )
    const owned = st.status!.drift.filter((d) => d.kind === 'owns-objects').map((d) => d.detail)
    expect(owned.some((d) => d.includes('"postgres"'))).toBe(true)
    expect(owned.some((d) => d.includes(`"${db}"`))).toBe(true)

    await withAdmin(server, (c) => c.query(`ALTER ROLE ${role}_b NOLOGIN`))
    const fixed = await phase(server, { phase: 'setup', role, 'fix-ownership': 'true' })
    expect(fixed.changes.join('\n')).toContain(
      `REASSIGN OWNED BY "${role}_a", "${role}_b" TO "${role}"; -- in database "${db}"`,
    )
    expect(await ownerOf(server, 'owned_by_login')).toBe(role)
    const after = await phase(server, { phase: 'status', role })
    // What REASSIGN OWNED does not move: the CREATE privilege granted to the login itself.
    expect(after.status!.drift.map((d) => `${d.kind}:${d.role}`)).toEqual([`direct-privileges:${role}_a`])
    expect(after.status!.drift[0].detail).toContain(`database privileges granted to it directly`)
    await withAdmin(server, (c) => c.query(`REVOKE CREATE ON DATABASE ${db} FROM ${role}_a`))
    expect((await phase(server, { phase: 'status', role })).status!.drift).toEqual([])
  })
})
