import { describe, expect, it } from 'vitest'
import { loginAs, loginError, phase, servers, snapshotRoles, withAdmin } from '../harness/helpers.js'
import { family, openedFamily as opened } from '../harness/roles.js'

describe.each(servers())('PostgreSQL $major: verify-drain', (server) => {
  it('is drained at once when the outgoing login has no sessions', async () => {
    const f = await opened(server)
    const d = await phase(server, { phase: 'verify-drain', role: f.role })
    expect(d.outputs).toMatchObject({
      drained: true,
      remainingConnections: 0,
      state: 'open',
      rotationId: f.rotationId,
      previousUsername: f.old.user,
    })
  })

  it('waits while a session of the outgoing login is open, and finishes once it closes', async () => {
    const f = await opened(server)
    const app = await loginAs(server, f.old.user, f.old.password)
    const started = Date.now()
    setTimeout(() => void app.end(), 700)
    const d = await phase(server, { phase: 'verify-drain', role: f.role, interval: '100ms' })
    expect(d.outputs.drained).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(650)
    expect(d.log.lines.some((l) => l.includes(`"${f.old.user}" 1 (postgres: 1)`))).toBe(true)
  })

  it('sees sessions in every database, not only the one it connects to', async () => {
    const f = await opened(server)
    const db = `db_${f.role}`
    await withAdmin(server, (c) => c.query(`CREATE DATABASE ${db}`))
    const app = await loginAs(server, f.old.user, f.old.password, db)
    try {
      const d = await phase(server, { phase: 'verify-drain', role: f.role, timeout: '300ms' })
      expect(d.outputs).toMatchObject({ drained: false, remainingConnections: 1 })
      expect(d.failure).toMatch(new RegExp(`1 \\(${db}: 1\\)`))
    } finally {
      await app.end()
    }
  })

  it('fails when sessions remain at the timeout, lists them, and leaves the rotation open', async () => {
    const f = await opened(server)
    const app = await loginAs(server, f.old.user, f.old.password)
    try {
      const before = await snapshotRoles(server, family(f.role))
      const d = await phase(server, { phase: 'verify-drain', role: f.role, timeout: '500ms' })
      expect(d.outputs).toMatchObject({ drained: false, remainingConnections: 1, state: 'open' })
      expect(d.failure).toMatch(/Not drained: .* still has 1 \(postgres: 1\) sessions after 500ms/)
      // The address the server sees: 127.0.0.1 for a local server, the bridge's gateway for a container.
      const from: string = (await app.query('SELECT host(inet_client_addr()) AS a')).rows[0].a
      expect(d.log.lines.join('\n')).toContain(
        `remaining: 1 session(s) of "${f.old.user}" on database postgres from ${from} (application_name 'test-app')`,
      )
      expect(await snapshotRoles(server, family(f.role))).toEqual(before)
    } finally {
      await app.end()
    }
  })

  it('terminate-after ends the stragglers and confirms they are gone', async () => {
    const f = await opened(server)
    const app = await loginAs(server, f.old.user, f.old.password)
    const ended = new Promise((r) => app.once('error', r))
    const d = await phase(server, { phase: 'verify-drain', role: f.role, 'terminate-after': '300ms', timeout: '5s' })
    expect(d.outputs).toMatchObject({ drained: true, remainingConnections: 0 })
    expect(d.notes.join(' ')).toMatch(/Terminated 1 sessions/)
    await ended
    await app.end().catch(() => {})
  })

  it('min-new-connections waits until the new login has sessions', async () => {
    const f = await opened(server)
    const early = await phase(server, {
      phase: 'verify-drain',
      role: f.role,
      'min-new-connections': '2',
      timeout: '300ms',
    })
    expect(early.outputs.drained).toBe(false)
    expect(early.failure).toMatch(/fewer than min-new-connections \(2\)/)
    const a = await loginAs(server, f.next.user, f.next.password)
    const b = await loginAs(server, f.next.user, f.next.password)
    try {
      const d = await phase(server, { phase: 'verify-drain', role: f.role, 'min-new-connections': '2' })
      expect(d.outputs.drained).toBe(true)
    } finally {
      await a.end()
      await b.end()
    }
  })

  it('refuses a rotation-id that is not the open rotation', async () => {
    const f = await opened(server)
    await expect(
      phase(server, { phase: 'verify-drain', role: f.role, 'rotation-id': '20200101T000000Z-abcdef' }),
    ).rejects.toThrow(/does not match the open rotation/)
  })
})

describe.each(servers())('PostgreSQL $major: close', (server) => {
  it('refuses while the outgoing login has sessions, and changes nothing', async () => {
    const f = await opened(server)
    const app = await loginAs(server, f.old.user, f.old.password)
    try {
      const before = await snapshotRoles(server, family(f.role))
      await expect(phase(server, { phase: 'close', role: f.role })).rejects.toThrow(
        /still has 1 \(postgres: 1\) sessions.*terminate: true.*force: true/,
      )
      expect(await snapshotRoles(server, family(f.role))).toEqual(before)
    } finally {
      await app.end()
    }
  })

  it('terminate: true ends the outgoing sessions after disabling the login', async () => {
    const f = await opened(server)
    const app = await loginAs(server, f.old.user, f.old.password)
    const ended = new Promise((r) => app.once('error', r))
    const c = await phase(server, { phase: 'close', role: f.role, terminate: 'true' })
    expect(c.outputs).toMatchObject({
      remainingConnections: 0,
      username: f.next.user,
      previousUsername: f.old.user,
      state: 'idle',
    })
    await ended
    await app.end().catch(() => {})
    expect(await loginError(server, f.old.user, f.old.password)).not.toBeNull()
  })

  it('force: true closes while sessions run on, and reports them', async () => {
    const f = await opened(server)
    const app = await loginAs(server, f.old.user, f.old.password)
    try {
      const c = await phase(server, { phase: 'close', role: f.role, force: 'true' })
      expect(c.outputs).toMatchObject({ remainingConnections: 1, state: 'idle' })
      expect((await app.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    } finally {
      await app.end()
    }
  })

  it('replaces the outgoing password, so re-enabling LOGIN (or a pooler caching it) does not bring the old password back', async () => {
    const f = await opened(server)
    await phase(server, { phase: 'close', role: f.role })
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${f.old.user} LOGIN`))
    expect(await loginError(server, f.old.user, f.old.password)).toBe('28P01')
  })

  it('re-runs of verify-drain and close with the closed rotation-id succeed and change nothing; without it they fail', async () => {
    const f = await opened(server)
    await phase(server, { phase: 'verify-drain', role: f.role, 'rotation-id': f.rotationId })
    await phase(server, { phase: 'close', role: f.role, 'rotation-id': f.rotationId })
    const before = await snapshotRoles(server, family(f.role))
    const d = await phase(server, { phase: 'verify-drain', role: f.role, 'rotation-id': f.rotationId })
    expect(d.outputs).toMatchObject({ drained: true, state: 'idle', rotationId: f.rotationId })
    const c = await phase(server, { phase: 'close', role: f.role, 'rotation-id': f.rotationId })
    expect(c.outputs).toMatchObject({
      username: f.next.user,
      previousUsername: f.old.user,
      state: 'idle',
      rotationId: f.rotationId,
    })
    expect(c.changes).toEqual([])
    expect(await snapshotRoles(server, family(f.role))).toEqual(before)
    await expect(phase(server, { phase: 'close', role: f.role })).rejects.toThrow(/No rotation is open.*Run open first/)
    await expect(
      phase(server, { phase: 'verify-drain', role: f.role, 'rotation-id': '20200101T000000Z-000000' }),
    ).rejects.toThrow(/not the last closed one/)
  })
})
