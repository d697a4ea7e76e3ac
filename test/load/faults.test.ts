/**
 * Fault drills, through dist/index.js as the runner runs it:
 *  - the server restarts while verify-drain polls: it reconnects and finishes;
 *  - the action's own backend is terminated from outside in the middle of a
 *    phase: nothing is half-applied; the phase retries on a new connection
 *    and completes, or, when it cannot reconnect (or its statement is
 *    cancelled), fails cleanly (exit 1, one clear error, no stack trace) with
 *    the roles and the state exactly as before, and running it again works;
 *  - verify-drain's backend is terminated while it polls: it reconnects.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { runAction, type ActionRun } from '../../scripts/lib/run-action.mjs'
import { admin, describeRun, errorsOf, loadMajors, sleep, snapshotFamily, visible } from './support.js'
import type pg from 'pg'
import { family } from '../harness/roles.js'

const MAJORS = loadMajors()

if (MAJORS.length === 0) it.skip('PostgreSQL 14 and 18 binaries are not installed (or excluded by PG_MAJORS)', () => {})

/** Waits until the action's backend shows up in pg_stat_activity (optionally waiting on a lock); returns its pid. */
async function actionBackend(
  c: pg.Client,
  opts: { waitingOnLock?: boolean; exceptPid?: number; limitMs?: number } = {},
): Promise<number> {
  const end = Date.now() + (opts.limitMs ?? 15_000)
  for (;;) {
    const { rows } = await c.query(
      `SELECT pid, wait_event_type, wait_event FROM pg_stat_activity
        WHERE application_name LIKE 'pg-credential-rotation/%' AND application_name <> 'pg-credential-rotation/open-check'
          AND ($1::bool IS NOT TRUE OR wait_event_type = 'Lock') AND pid <> $2`,
      [opts.waitingOnLock ?? false, opts.exceptPid ?? 0],
    )
    if (rows.length === 1) return rows[0].pid
    if (rows.length > 1) throw new Error(`more than one action backend: ${JSON.stringify(rows)}`)
    if (Date.now() > end) throw new Error('the action never showed up in pg_stat_activity')
    await sleep(20)
  }
}

/** The checks every cleanly failed run passes: exit 1, one ::error:: line, no stack trace anywhere. */
function expectCleanFailure(r: ActionRun) {
  expect(r.code, describeRun(r)).toBe(1)
  const errors = errorsOf(r)
  expect(errors, describeRun(r)).toHaveLength(1)
  expect(visible(r)).not.toMatch(/^\s+at .+[:(]/m)
  expect(r.stderr).toBe('')
  return errors[0]
}

// One suite per major, side by side (each has its own server), its tests in order.
describe.concurrent.each(MAJORS)('PostgreSQL %i', (major) => {
  describe.sequential('fault drills', () => {
    let server: EmbeddedServer
    let c: pg.Client
    beforeAll(async () => {
      server = await startEmbedded(major)
    })
    afterAll(async () => {
      await c?.end().catch(() => {})
      await server?.stop()
    })
    const connect = async () => {
      await c?.end().catch(() => {})
      c = await admin(server.url)
    }

    /** setup + open through the bundle; the old login's credentials and the rotation id. */
    async function opened(role: string) {
      const base = { 'admin-url': server.url, role }
      const s = await runAction({ ...base, phase: 'setup' })
      expect(s.code, describeRun(s)).toBe(0)
      const o = await runAction({ ...base, phase: 'open' })
      expect(o.code, describeRun(o)).toBe(0)
      return {
        base,
        old: { user: s.outputs.username, password: s.outputs.password },
        next: { user: o.outputs.username, password: o.outputs.password },
        id: o.outputs['rotation-id'],
      }
    }

    const loginUrl = (u: { user: string; password: string }) =>
      `postgresql://${u.user}:${encodeURIComponent(u.password)}@127.0.0.1:${server.port}/postgres`

    /** Resolves when the action's verify-drain backend is back in pg_stat_activity, or the run has ended. */
    async function backOrDone(isDone: () => boolean, limitMs = 15_000) {
      for (const end = Date.now() + limitMs; !isDone() && Date.now() < end; await sleep(10)) {
        if (
          (
            await c.query(
              `SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pg-credential-rotation/verify-drain%'`,
            )
          ).rowCount
        )
          return 'back'
      }
      return isDone() ? 'done' : 'timeout'
    }

    it('the server restarts while verify-drain polls: it reconnects and finishes drained, exit 0', async () => {
      await connect()
      const f = await opened('restart')
      // A session of the old login keeps it from draining at first.
      const old = await admin(loginUrl(f.old), 'old-app')
      const started = Date.now()
      const pending = runAction({
        ...f.base,
        phase: 'verify-drain',
        'rotation-id': f.id,
        interval: '200ms',
        timeout: '30s',
      })
      let done = false
      void pending.finally(() => (done = true))
      await actionBackend(c)
      await sleep(1000)

      const r0 = Date.now()
      await server.restart() // fast shutdown: every session ends, the action's and the old login's too
      const restartMs = Date.now() - r0
      await connect()
      const how = await backOrDone(() => done)
      const recoveryMs = Date.now() - r0 - restartMs
      await old.end().catch(() => {})

      const r = await pending
      expect(r.code, describeRun(r)).toBe(0)
      expect(r.outputs).toMatchObject({ drained: 'true', 'remaining-connections': '0', 'rotation-id': f.id })
      expect(r.stdout).toMatch(/::warning::Lost (a|the) connection while polling .*; reconnecting\./)
      expect(visible(r)).not.toMatch(/^\s+at .+[:(]/m)
      const beforeRestart = r.stdout.slice(0, r.stdout.search(/Lost (a|the) connection/))
      expect(beforeRestart).toMatch(/^poll \d+ at \S+ \(\S+ left\): "restart_a" 1 /m)
      const polls = r.stdout.match(/^poll \d+/gm)?.length ?? 0
      console.log(
        `[restart] PostgreSQL ${major}: restart took ${restartMs} ms; the action was ${how === 'back' ? 'connected again' : 'finished'} ${recoveryMs} ms after the server accepted connections; ` +
          `${polls} polls, ${((Date.now() - started) / 1000).toFixed(1)} s in all, drained=${r.outputs.drained}, exit ${r.code}`,
      )
    }, 60_000)

    it('an old session that comes back after the restart is waited for: the reconnected action sees it and finishes once it closes', async () => {
      await connect()
      // The action's own admin role: kept from logging in until the old login is back, so the order of events is fixed.
      await c.query(`CREATE ROLE restart_admin SUPERUSER LOGIN PASSWORD 'restart-admin-1'`)
      const role = 'comeback'
      const base = { 'admin-url': `postgresql://restart_admin:restart-admin-1@127.0.0.1:${server.port}/postgres`, role }
      const s = await runAction({ ...base, phase: 'setup' })
      const o = await runAction({ ...base, phase: 'open' })
      expect([s.code, o.code], describeRun(o)).toEqual([0, 0])
      const oldCreds = { user: s.outputs.username, password: s.outputs.password }
      const old = await admin(loginUrl(oldCreds), 'old-app')
      const pending = runAction({
        ...base,
        phase: 'verify-drain',
        'rotation-id': o.outputs['rotation-id'],
        interval: '200ms',
        timeout: '30s',
      })
      let done = false
      void pending.finally(() => (done = true))
      await actionBackend(c)
      await sleep(500)
      await c.query('ALTER ROLE restart_admin NOLOGIN') // its running session is not affected

      await server.restart()
      await connect()
      await old.end().catch(() => {})
      const straggler = await admin(loginUrl(oldCreds), 'old-app') // the old deployment reconnects once more
      // Let the action in only after the server has turned away one of its attempts (its backoff: 250 ms, 500 ms, 1 s, ...).
      for (
        const end = Date.now() + 15_000;
        !readFileSync(server.logFile, 'utf8').includes('role "restart_admin" is not permitted to log in');
        await sleep(20)
      ) {
        if (Date.now() > end) throw new Error('the action never tried to reconnect')
      }
      await c.query('ALTER ROLE restart_admin LOGIN')
      const loginAt = Date.now()
      expect(await backOrDone(() => done)).toBe('back')
      const backMs = Date.now() - loginAt
      await sleep(1000)
      expect(done).toBe(false) // still waiting for the straggler
      await straggler.end()
      const closedAt = Date.now()
      const r = await pending
      const finishedMs = Date.now() - closedAt

      expect(r.code, describeRun(r)).toBe(0)
      expect(r.outputs).toMatchObject({ drained: 'true', 'remaining-connections': '0' })
      const afterRestart = r.stdout.slice(r.stdout.search(/Lost (a|the) connection/))
      expect(afterRestart).toMatch(/Reconnect failed \(admin connection \(admin-url\): the server rejected the login/)
      expect(afterRestart).toMatch(/^poll \d+ at \S+ \(\S+ left\): "comeback_a" 1 /m)
      expect(visible(r)).not.toMatch(/^\s+at .+[:(]/m)
      console.log(
        `[restart] PostgreSQL ${major}: reconnected ${backMs} ms after its login was allowed again (its backoff), saw the returning old session, finished ${finishedMs} ms after it closed (interval 200 ms)`,
      )
    }, 60_000)

    it('close killed while it waits for the family lock: nothing was applied, it retries on a new connection, and completes once the lock is free', async () => {
      await connect()
      const role = 'killclose'
      const f = await opened(role)
      const snapshot = await snapshotFamily(server.url, family(role))
      const holder = await admin(server.url, 'lock-holder')
      await holder.query('BEGIN')
      // What another phase holds: the group role's row, rewritten in an open transaction.
      await holder.query(`ALTER ROLE ${role} WITH INHERIT`)
      const pending = runAction({ ...f.base, phase: 'close', 'rotation-id': f.id })
      const pid = await actionBackend(c, { waitingOnLock: true })
      expect((await c.query('SELECT pg_terminate_backend($1) AS ok', [pid])).rows[0].ok).toBe(true)
      const killedAt = Date.now()
      // It comes back on a new backend and waits for the lock again; meanwhile nothing has changed.
      const retry = await actionBackend(c, { waitingOnLock: true, exceptPid: pid })
      const retryMs = Date.now() - killedAt
      expect(await snapshotFamily(server.url, family(role))).toEqual(snapshot)
      await holder.query('ROLLBACK')
      await holder.end()
      const r = await pending
      expect(r.code, describeRun(r)).toBe(0)
      expect(r.outputs).toMatchObject({
        state: 'idle',
        username: f.next.user,
        'previous-username': f.old.user,
        'remaining-connections': '0',
      })
      const warnings = [...r.stdout.matchAll(/^::warning::(.*)$/gm)].map((m) => m[1])
      expect(warnings.filter((w) => /nothing was applied/.test(w))).toHaveLength(1)
      expect(warnings.join('\n')).toMatch(/terminating connection due to administrator command/)
      expect(visible(r)).not.toMatch(/^\s+at .+[:(]/m)
      expect(r.stderr).toBe('')
      // Closed exactly once: the old login is NOLOGIN, the summary lists one disable.
      expect(
        (await c.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [f.old.user])).rows[0].rolcanlogin,
      ).toBe(false)
      expect(r.summary.match(/WITH NOLOGIN PASSWORD/g)).toHaveLength(1)
      console.log(
        `[kill] PostgreSQL ${major}: close terminated while waiting on the family lock (backend ${pid}); back on backend ${retry} after ${retryMs} ms, nothing changed meanwhile; completed, exit ${r.code}; warning: ${warnings[0]}`,
      )
    }, 60_000)

    it('open killed inside its transaction, unable to reconnect: exit 1, one clear error, nothing changed, a re-run opens', async () => {
      await connect()
      const role = 'killopen'
      // An admin role of its own, whose password the drill changes so that the phase cannot reconnect.
      await c.query(`CREATE ROLE drill_admin SUPERUSER LOGIN PASSWORD 'drill-admin-1'`)
      const base = { 'admin-url': `postgresql://drill_admin:drill-admin-1@127.0.0.1:${server.port}/postgres`, role }
      const s = await runAction({ ...base, phase: 'setup' })
      expect(s.code, describeRun(s)).toBe(0)
      const snapshot = await snapshotFamily(server.url, family(role))
      // Another session updates the group role's catalog row and keeps its transaction open: the
      // phase waits on that row (its cluster-wide serialization).
      const holder = await admin(server.url, 'row-holder')
      await holder.query('BEGIN')
      await holder.query(`ALTER ROLE ${role} WITH NOLOGIN`)
      const pending = runAction({ ...base, phase: 'open' })
      const pid = await actionBackend(c, { waitingOnLock: true })
      const held = (
        await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND xact_start IS NOT NULL`, [
          pid,
        ])
      ).rows[0].n
      expect(held).toBe(1) // in the middle of the phase: its transaction is open, waiting on the group row
      await c.query(`ALTER ROLE drill_admin PASSWORD 'drill-admin-2'`)
      const killedAt = Date.now()
      expect((await c.query('SELECT pg_terminate_backend($1) AS ok', [pid])).rows[0].ok).toBe(true)
      const r = await pending
      const exitMs = Date.now() - killedAt
      await holder.query('ROLLBACK')
      await holder.end()
      const error = expectCleanFailure(r)
      expect(error).toMatch(/admin connection.*password authentication failed/)
      expect(r.outputs.password).toBeUndefined()
      expect(await snapshotFamily(server.url, family(role))).toEqual(snapshot)

      await c.query(`ALTER ROLE drill_admin PASSWORD 'drill-admin-1'`)
      const again = await runAction({ ...base, phase: 'open' })
      expect(again.code, describeRun(again)).toBe(0)
      expect(again.outputs).toMatchObject({ state: 'open', username: `${role}_b`, 'previous-username': `${role}_a` })
      console.log(
        `[kill] PostgreSQL ${major}: open terminated inside its transaction, reconnect refused; exit ${r.code} after ${exitMs} ms: ${error}`,
      )
    }, 60_000)

    it('close whose statement is cancelled from outside: exit 1, one error, nothing changed, a re-run closes', async () => {
      await connect()
      const role = 'cancelclose'
      const f = await opened(role)
      const snapshot = await snapshotFamily(server.url, family(role))
      const holder = await admin(server.url, 'lock-holder')
      await holder.query('BEGIN')
      // What another phase holds: the group role's row, rewritten in an open transaction.
      await holder.query(`ALTER ROLE ${role} WITH INHERIT`)
      const pending = runAction({ ...f.base, phase: 'close', 'rotation-id': f.id })
      const pid = await actionBackend(c, { waitingOnLock: true })
      expect((await c.query('SELECT pg_cancel_backend($1) AS ok', [pid])).rows[0].ok).toBe(true)
      const r = await pending
      await holder.query('ROLLBACK')
      await holder.end()
      const error = expectCleanFailure(r)
      expect(await snapshotFamily(server.url, family(role))).toEqual(snapshot)
      const again = await runAction({ ...f.base, phase: 'close', 'rotation-id': f.id })
      expect(again.code, describeRun(again)).toBe(0)
      expect(again.outputs).toMatchObject({ state: 'idle', username: f.next.user })
      console.log(
        `[cancel] PostgreSQL ${major}: close cancelled while waiting on the family lock; exit ${r.code}: ${error}`,
      )
    }, 60_000)

    it('verify-drain whose backend is killed while polling reconnects and finishes', async () => {
      await connect()
      const f = await opened('killdrain')
      const old = await admin(loginUrl(f.old), 'old-app')
      const pending = runAction({
        ...f.base,
        phase: 'verify-drain',
        'rotation-id': f.id,
        interval: '200ms',
        timeout: '30s',
      })
      const pid = await actionBackend(c)
      await sleep(500)
      await c.query('SELECT pg_terminate_backend($1)', [pid])
      await actionBackend(c, { exceptPid: pid }) // back, on a new backend
      await old.end()
      const r = await pending
      expect(r.code, describeRun(r)).toBe(0)
      expect(r.outputs.drained).toBe('true')
      expect(r.stdout).toMatch(/::warning::Lost (a|the) connection while polling/)
    }, 60_000)
  })
})
