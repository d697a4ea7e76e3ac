/**
 * What serializes phases: the group role's catalog row, which only a role that may alter
 * the group (the admin, a superuser, a holder of ADMIN OPTION on it) or the group itself (a
 * family login's session) can lock. A role with no grants cannot block a rotation; two phases
 * still serialize, and the one that gives up names the session it waited for.
 */
import { createHash } from 'node:crypto'
import type pg from 'pg'
import { expect, it } from 'vitest'
import {
  adminClient,
  describeEachServer,
  familyName,
  loginAs,
  loginError,
  phase,
  withAdmin,
} from '../harness/helpers.js'
import { createRoleAdmin, ownRun, waitingBackend } from '../harness/roles.js'
import type { TestServer } from '../harness/servers.js'

/** The advisory-lock key earlier versions derived, publicly, from the group role's name. */
const oldLockKey = (group: string) =>
  createHash('sha256').update(`pg-credential-rotation:${group}`).digest().readBigInt64BE(0).toString()

/** A login with no grants at all. */
async function nobody(server: TestServer): Promise<pg.Client> {
  const name = familyName('nobody')
  await withAdmin(server, (c) => c.query(`CREATE ROLE ${name} LOGIN PASSWORD 'nobody-pw'`))
  const c = await loginAs(server, name, 'nobody-pw')
  c.on('error', () => {})
  return c
}

describeEachServer('the family lock', (server) => {
  it('a role with no grants holding the old advisory-lock key blocks neither close nor abort', async () => {
    const role = familyName()
    const s = await phase(server, { role, phase: 'setup' })
    const squatter = await nobody(server)
    try {
      await squatter.query('SELECT pg_advisory_lock($1::bigint)', [oldLockKey(role)])
      const o = await phase(server, { role, phase: 'open' }, { lockTimeoutMs: 10_000 })
      let t = Date.now()
      const c = await phase(
        server,
        { role, phase: 'close', 'rotation-id': o.outputs.rotationId! },
        { lockTimeoutMs: 10_000 },
      )
      const closeMs = Date.now() - t
      expect(c.outputs.state).toBe('idle')
      expect(await loginError(server, s.outputs.username!, s.outputs.password!)).not.toBeNull()
      await phase(server, { role, phase: 'open' }, { lockTimeoutMs: 10_000 })
      t = Date.now()
      const a = await phase(server, { role, phase: 'abort' }, { lockTimeoutMs: 10_000 })
      const abortMs = Date.now() - t
      expect(a.outputs.state).toBe('idle')
      // A phase that waited on the squatter's key would wait out its 10 s lock_timeout.
      expect(closeMs).toBeLessThan(5000)
      expect(abortMs).toBeLessThan(5000)
      console.log(
        `[lock] PostgreSQL ${server.major}: with the old advisory key held by a role with no grants, close took ${closeMs} ms, abort ${abortMs} ms`,
      )
    } finally {
      await squatter.end()
    }
  })

  it("the outgoing login holding the group's row (current_user is the group) is named as a family session, not a phase, whatever its application_name", async () => {
    const role = familyName()
    const s = await phase(server, { role, phase: 'setup' })
    const o = await phase(server, { role, phase: 'open' })
    const holder = await loginAs(server, s.outputs.username!, s.outputs.password!)
    holder.on('error', () => {})
    try {
      await holder.query("SET application_name = 'pg-credential-rotation/close'")
      await holder.query('BEGIN')
      await holder.query(`ALTER ROLE ${role} PASSWORD NULL`)
      const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
      const err = await phase(
        server,
        { role, phase: 'close', 'rotation-id': o.outputs.rotationId! },
        { lockTimeoutMs: 1000 },
      ).then(
        () => null,
        (e: Error) => e.message,
      )
      expect(err).toMatch(/lock_timeout/)
      expect(err).toContain(`pid ${pid} is a session of "${s.outputs.username}", the login this phase disables`)
      expect(err).toContain('Run close with terminate: true')
      expect(err).not.toMatch(/Let it finish/)
      // Without terminate it is left alone.
      expect((await holder.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    } finally {
      await holder.end()
    }
  })

  it.each([
    ["the group's row (as the group)", (role: string) => [`ALTER ROLE ${role} PASSWORD NULL`]],
    ['its own row (SET ROLE NONE)', (role: string) => ['SET ROLE NONE', `ALTER ROLE ${role}_a PASSWORD 'mine-now'`]],
  ])("close with terminate: true ends the outgoing login's session that holds %s, and closes", async (_, holds) => {
    const role = familyName()
    const s = await phase(server, { role, phase: 'setup' })
    const o = await phase(server, { role, phase: 'open' })
    const holder = await loginAs(server, s.outputs.username!, s.outputs.password!)
    let lost: Error | null = null
    holder.on('error', (e) => (lost = e))
    try {
      await holder.query('BEGIN')
      for (const sql of holds(role)) await holder.query(sql)
      const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
      const t = Date.now()
      const c = await phase(
        server,
        { role, phase: 'close', 'rotation-id': o.outputs.rotationId!, terminate: 'true' },
        { lockTimeoutMs: 1000 },
      )
      const ms = Date.now() - t
      expect(c.outputs.state).toBe('idle')
      expect(c.log.lines.join('\n')).toContain(
        `Ended 1 session(s) of "${s.outputs.username}" that held the family's lock (pid ${pid}).`,
      )
      expect(await loginError(server, s.outputs.username!, s.outputs.password!)).not.toBeNull()
      await expect(holder.query('SELECT 1')).rejects.toThrow()
      expect(lost).not.toBeNull()
      console.log(`[lock] PostgreSQL ${server.major}: close with terminate ended the holder and closed in ${ms} ms`)
    } finally {
      await holder.end().catch(() => {})
    }
  })

  it("close with terminate: true ends the outgoing login's holder even while an unrelated session holds a role-catalog lock elsewhere (another family's phase)", async () => {
    const role = familyName()
    const other = familyName('other')
    await withAdmin(server, (c) => c.query(`CREATE ROLE ${other} NOLOGIN`))
    const s = await phase(server, { role, phase: 'setup' })
    const o = await phase(server, { role, phase: 'open' })
    const holder = await loginAs(server, s.outputs.username!, s.outputs.password!)
    holder.on('error', () => {})
    const dba = await adminClient(server)
    try {
      // What a phase of another family holds while it runs: a write lock on pg_authid, on another row.
      await dba.query('BEGIN')
      await dba.query(`ALTER ROLE ${other} CONNECTION LIMIT 5`)
      await holder.query('BEGIN')
      await holder.query(`ALTER ROLE ${role} PASSWORD NULL`)
      const c = await phase(
        server,
        { role, phase: 'close', 'rotation-id': o.outputs.rotationId!, terminate: 'true' },
        { lockTimeoutMs: 1000 },
      )
      expect(c.outputs.state).toBe('idle')
      expect(c.log.lines.join('\n')).toMatch(/Ended 1 session\(s\) of ".*" that held the family's lock/)
      // The unrelated session is untouched.
      expect((await dba.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    } finally {
      await dba.query('ROLLBACK').catch(() => {})
      await dba.end()
      await holder.end().catch(() => {})
    }
  })

  it("abort ends the incoming login's session that holds the group's row only with force: true and terminate: true", async () => {
    const role = familyName()
    await phase(server, { role, phase: 'setup' })
    const o = await phase(server, { role, phase: 'open' })
    const holder = await loginAs(server, o.outputs.username!, o.outputs.password!)
    holder.on('error', () => {})
    try {
      await holder.query('BEGIN')
      await holder.query(`ALTER ROLE ${role} PASSWORD NULL`)
      const pid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
      const err = await phase(server, { role, phase: 'abort', terminate: 'true' }, { lockTimeoutMs: 1000 }).then(
        () => null,
        (e: Error) => e.message,
      )
      expect(err).toContain(`pid ${pid} is a session of "${o.outputs.username}", the login this phase disables`)
      expect(err).toContain('Run abort with force: true and terminate: true')
      expect((await holder.query('SELECT 1 AS one')).rows[0].one).toBe(1)
      const a = await phase(server, { role, phase: 'abort', terminate: 'true', force: 'true' }, { lockTimeoutMs: 1000 })
      expect(a.outputs.state).toBe('idle')
      expect(a.log.lines.join('\n')).toContain(
        `Ended 1 session(s) of "${o.outputs.username}" that held the family's lock`,
      )
      await expect(holder.query('SELECT 1')).rejects.toThrow()
    } finally {
      await holder.end().catch(() => {})
    }
  })

  it('close with terminate: true never ends a session of another role that holds the lock', async () => {
    const role = familyName()
    await phase(server, { role, phase: 'setup' })
    const o = await phase(server, { role, phase: 'open' })
    const dba = await adminClient(server)
    try {
      await dba.query('BEGIN')
      await dba.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`)
      const err = await phase(
        server,
        { role, phase: 'close', 'rotation-id': o.outputs.rotationId!, terminate: 'true' },
        { lockTimeoutMs: 1000 },
      ).then(
        () => null,
        (e: Error) => e.message,
      )
      expect(err).toMatch(/lock_timeout/)
      expect(err).not.toMatch(/Ended \d+ session/)
      expect((await dba.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    } finally {
      await dba.query('ROLLBACK').catch(() => {})
      await dba.end()
    }
  })

  it('a setup whose CREATE ROLE races another creation of the group waits, then retries and completes', async () => {
    const role = familyName()
    const c = await adminClient(server)
    const other = await adminClient(server)
    await other.query('BEGIN')
    await other.query(`CREATE ROLE ${role} NOLOGIN`)
    const run = ownRun()
    const setup = phase(server, { role, phase: 'setup' }, { env: run.env })
    try {
      await waitingBackend(c, `setup run ${run.id}`)
      await other.query('COMMIT')
      const s = await setup
      expect(s.outputs).toMatchObject({ state: 'idle', username: `${role}_a` })
      expect(s.log.lines.join('\n')).toMatch(/Attempt 1 failed \(duplicate key value/)
    } finally {
      await other.query('ROLLBACK').catch(() => {})
      await setup.catch(() => {})
      await other.end()
      await c.end()
    }
  })

  it('two phases serialize on the group row: the later one fails naming the session it waited for, or waits and then sees what the first did', async () => {
    const role = familyName()
    const admin = await createRoleAdmin(server)
    const a = { 'admin-url': admin.url, role }
    await phase(server, { ...a, phase: 'setup' })
    const o = await phase(server, { ...a, phase: 'open' })
    const c = await adminClient(server)
    // A DBA's open transaction on the outgoing login's row holds close in the middle of its
    // transaction, after it has taken the group row.
    const dba = await adminClient(server)
    await dba.query('BEGIN')
    await dba.query(`ALTER ROLE ${role}_a CONNECTION LIMIT -1`)
    const closeRun = ownRun()
    const closing = phase(server, { ...a, phase: 'close', 'rotation-id': o.outputs.rotationId! }, { env: closeRun.env })
    try {
      const closePid = await waitingBackend(c, `close run ${closeRun.id}`)
      const err = await phase(server, { ...a, phase: 'abort' }, { lockTimeoutMs: 1000 }).then(
        () => null,
        (e: Error) => e.message,
      )
      expect(err).toMatch(/lock_timeout/)
      expect(err).toMatch(
        new RegExp(`pid ${closePid} \\(role "${admin.name}", application "pg-credential-rotation/close`),
      )
      // Without a short lock_timeout, abort waits for close, then sees the closed rotation.
      const abortRun = ownRun()
      const aborting = phase(server, { ...a, phase: 'abort' }, { env: abortRun.env })
      await waitingBackend(c, `abort run ${abortRun.id}`)
      await dba.query('ROLLBACK')
      const closed = await closing
      expect(closed.outputs.state).toBe('idle')
      const aborted = await aborting
      expect(aborted.outputs.state).toBe('idle')
      expect(aborted.changes).toEqual([])
      console.log(`[lock] PostgreSQL ${server.major}: ${err}`)
    } finally {
      await dba.query('ROLLBACK').catch(() => {})
      await closing.catch(() => {})
      await dba.end()
      await c.end()
    }
  })
})
