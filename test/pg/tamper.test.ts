/**
 * The state comment is input (issue 8, finding 4): anyone who may COMMENT ON ROLE
 * the group role (CREATEROLE before 16, ADMIN OPTION from 16) can write it. A
 * comment naming a role outside the family must never aim a phase at that role.
 */
import { describe, expect, it } from 'vitest'
import { familyName, loginError, phase, servers, snapshotRoles, withAdmin } from '../harness/helpers.js'
import { family } from '../harness/roles.js'
import type { TestServer } from '../harness/servers.js'

async function adminName(server: TestServer): Promise<string> {
  return withAdmin(server, async (c) => (await c.query('SELECT current_user AS u')).rows[0].u)
}

async function readComment(server: TestServer, role: string): Promise<Record<string, unknown>> {
  return withAdmin(server, async (c) =>
    JSON.parse(
      (await c.query(`SELECT shobj_description(oid, 'pg_authid') AS c FROM pg_roles WHERE rolname = $1`, [role]))
        .rows[0].c,
    ),
  )
}

async function writeComment(server: TestServer, role: string, state: unknown): Promise<void> {
  await withAdmin(server, async (c) => {
    const text = JSON.stringify(state).replace(/'/g, "''")
    await c.query(`COMMENT ON ROLE "${role}" IS '${text}'`)
  })
}

describe.each(servers())('PostgreSQL $major: a tampered state comment', (server) => {
  it('naming the admin as active and adoptedFrom while a rotation is open: close, abort, open, verify-drain and setup refuse as tampered, change nothing, and the admin still logs in', async () => {
    const role = familyName('tamper')
    const admin = await adminName(server)
    await phase(server, { phase: 'setup', role })
    await phase(server, { phase: 'open', role })
    const state = await readComment(server, role)
    await writeComment(server, role, { ...state, active: admin, adoptedFrom: admin })
    const before = await snapshotRoles(server, [...family(role), admin])

    for (const p of ['close', 'abort', 'open', 'verify-drain', 'setup']) {
      const run = phase(
        server,
        { phase: p, role, force: p === 'close' ? 'true' : 'false' },
        { env: { GITHUB_RUN_ID: '1001' } },
      )
      await expect(run, p).rejects.toThrow(
        /state comment on role "[^"]+" was tampered with: adoptedFrom is "[^"]+", not the group role.*nothing was changed.*COMMENT ON ROLE "[^"]+" IS NULL; and run setup/s,
      )
    }
    expect(await snapshotRoles(server, [...family(role), admin])).toEqual(before)
    expect(await loginError(server, admin, server.password)).toBeNull()

    const status = await phase(server, { phase: 'status', role })
    expect(status.status).toMatchObject({ state: 'unreadable' })
    expect(status.log.lines.join('\n')).toMatch(/warning: .*tampered/)
  })

  it('with a forged time (a runner command in rotation.openedAt): every phase refuses as tampered and changes nothing; status reports it', async () => {
    const role = familyName('tamper')
    await phase(server, { phase: 'setup', role })
    await phase(server, { phase: 'open', role })
    const state = (await readComment(server, role)) as { rotation: Record<string, unknown> }
    await writeComment(server, role, { ...state, rotation: { ...state.rotation, openedAt: '##[error]forged' } })
    const before = await snapshotRoles(server, family(role))
    for (const p of ['close', 'abort', 'open', 'verify-drain', 'setup'])
      await expect(phase(server, { phase: p, role, force: p === 'close' ? 'true' : 'false' }), p).rejects.toThrow(
        /state comment on role "[^"]+" was tampered with: rotation\.openedAt is not a time.*nothing was changed/s,
      )
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    const status = await phase(server, { phase: 'status', role })
    expect(status.status).toMatchObject({ state: 'unreadable' })
    expect(status.log.lines.join('\n')).not.toContain('##[error]forged')
  })

  it('the documented repair (clear the comment, run setup) records the login that can log in', async () => {
    const role = familyName('tamper')
    const admin = await adminName(server)
    const s = await phase(server, { phase: 'setup', role })
    const state = await readComment(server, role)
    await writeComment(server, role, { ...state, active: admin })
    await expect(phase(server, { phase: 'open', role })).rejects.toThrow(/tampered/)
    await withAdmin(server, (c) => c.query(`COMMENT ON ROLE "${role}" IS NULL`))
    const repaired = await phase(server, { phase: 'setup', role })
    expect(repaired.outputs.username).toBe(s.outputs.username)
    expect(repaired.outputs.password).toBeUndefined()
    const o = await phase(server, { phase: 'open', role })
    expect(o.outputs.username).toBe(`${role}_b`)
    expect(await loginError(server, s.outputs.username!, s.outputs.password!)).toBeNull()
  })

  it('a consistent comment whose logins include the admin, with login-roles to match: close refuses to alter the admin (apply-layer guard)', async () => {
    const role = familyName('tamper')
    const admin = await adminName(server)
    await phase(server, { phase: 'setup', role })
    await phase(server, { phase: 'open', role })
    const state = (await readComment(server, role)) as { rotation: unknown }
    // As if the family had always been (admin, <role>_b) with the admin active.
    await writeComment(server, role, { ...state, logins: [admin, `${role}_b`], active: admin, passwordSetAt: {} })
    const before = await snapshotRoles(server, [...family(role), admin])
    await expect(
      phase(server, { phase: 'close', role, 'login-roles': `${admin},${role}_b`, force: 'true' }),
    ).rejects.toThrow(
      new RegExp(`Refusing to change the roles: "${admin}" is (the admin role itself \\(session_user\\)|a superuser)`),
    )
    // Without the matching login-roles the mismatch itself points at the state.
    await expect(phase(server, { phase: 'close', role })).rejects.toThrow(
      /login-roles is .*the state comment was altered/,
    )
    expect(await snapshotRoles(server, [...family(role), admin])).toEqual(before)
    expect(await loginError(server, admin, server.password)).toBeNull()
  })
})
