/**
 * Another run ends the rotation while verify-drain waits (review F8): an abort, a close (with
 * terminate or with force), or an abort followed by a new open. verify-drain's polls read the
 * state comment with the family; at the next poll it stops and says what happened, instead of
 * watching a login that is no longer outgoing until its timeout and then advising a close.
 *
 * The window is held with the phase's clock: verify-drain's first wait between two polls runs
 * the other run's phases to the end before it returns, so the second poll always reads after them.
 */
import { describe, expect, it } from 'vitest'
import pg from 'pg'
import { loginAs, phase, servers, withAdmin } from '../harness/helpers.js'
import { connectTo } from '../harness/clients.js'
import { openedFamily as opened, waitingBackend } from '../harness/roles.js'
import type { TestServer } from '../harness/servers.js'
import { systemClock, type Clock } from '../../src/domain/clock.js'
import { readState, serializeState, type FamilyState } from '../../src/domain/state.js'

/** A clock whose `at`-th sleep (by default the first: verify-drain's first wait after a poll) runs `meanwhile` first. */
function holdingClock(meanwhile: () => Promise<void>, at = 1): Clock & { held: Promise<void> } {
  let sleeps = 0
  let done!: () => void
  const held = new Promise<void>((r) => (done = r))
  return {
    held,
    now: () => systemClock.now(),
    sleep: async (ms) => {
      if (++sleeps === at) {
        await meanwhile()
        done()
      }
      return systemClock.sleep(ms)
    },
  }
}

/** The family's state as its comment on the group role records it. */
async function familyState(c: pg.Client, group: string): Promise<FamilyState> {
  const comment = (
    await c.query(`SELECT shobj_description(oid, 'pg_authid') AS c FROM pg_roles WHERE rolname = $1`, [group])
  ).rows[0].c as string
  const read = readState(comment, group)
  if (read.kind !== 'ok') throw new Error(`unexpected state: ${read.kind}`)
  return read.state
}

/** Rewrites the group's state comment as someone with the right to COMMENT ON ROLE could. */
async function rewriteState(server: TestServer, group: string, edit: (state: FamilyState) => FamilyState | null) {
  await withAdmin(server, async (c) => {
    const next = edit(await familyState(c, group))
    await c.query(
      `COMMENT ON ROLE ${pg.escapeIdentifier(group)} IS ${next ? pg.escapeLiteral(serializeState(next)) : 'NULL'}`,
    )
  })
}

/** Another workflow run: its own run id. */
const otherRun = { env: { GITHUB_RUN_ID: '2002' } }

describe.each(servers())('PostgreSQL $major: verify-drain when another run ends the rotation', (server) => {
  type Family = Awaited<ReturnType<typeof opened>>

  /**
   * Opens a family whose outgoing login keeps a session (so verify-drain waits), runs
   * verify-drain, and runs `meanwhile` (another run's phases) in its first wait between polls.
   */
  async function drainWhile(meanwhile: (f: Family) => Promise<void>, extra: Record<string, string> = {}, at = 1) {
    const f = await opened(server, 'ended')
    const app = await loginAs(server, f.old.user, f.old.password)
    app.on('error', () => {})
    try {
      const clock = holdingClock(() => meanwhile(f), at)
      const outcome = await phase(
        server,
        {
          phase: 'verify-drain',
          role: f.role,
          'rotation-id': f.rotationId,
          interval: '100ms',
          timeout: '5s',
          ...extra,
        },
        { clock },
      ).then(
        (result) => ({ result, error: undefined }),
        (error: Error) => ({ result: undefined, error }),
      )
      await clock.held
      return { f, ...outcome }
    } finally {
      await app.end().catch(() => {})
    }
  }

  const otherPhase = async (inputs: Record<string, string>) => {
    const r = await phase(server, inputs, otherRun)
    expect(r.outputs.state, r.failure).toMatch(/^(idle|open)$/)
    return r
  }

  it('an abort: stops at the next poll and says the rotation was aborted, not "not drained" at the timeout', async () => {
    const { f, result, error } = await drainWhile((f) => otherPhase({ phase: 'abort', role: f.role }).then(() => {}))
    expect(result?.failure).toBeUndefined()
    expect(error?.name).toBe('StateError')
    expect(error?.message).toMatch(
      new RegExp(`^verify-drain stopped waiting: rotation ${f.rotationId} was aborted at \\S+, by another run`),
    )
    expect(error?.message).toContain(`The family is idle with ${f.old.user} active.`)
    expect(error?.message).toMatch(/nothing left to verify/)
  })

  it('an abort and a new open: names the rotation that is open now', async () => {
    let next = ''
    const { f, error } = await drainWhile(async (f) => {
      await otherPhase({ phase: 'abort', role: f.role })
      next = (await otherPhase({ phase: 'open', role: f.role })).outputs.rotationId!
    })
    expect(next).not.toBe('')
    expect(error?.message).toContain(
      `verify-drain stopped waiting: rotation ${f.rotationId} is no longer open: rotation ${next} is open now (opened at `,
    )
    expect(error?.message).toMatch(/by workflow run 2002\), by another run, while it waited/)
    expect(error?.message).toMatch(/let it finish, or abort it/)
  })

  it('a close with terminate: drained, and the outputs say the rotation is closed (state idle)', async () => {
    const { f, result, error } = await drainWhile((f) =>
      otherPhase({ phase: 'close', role: f.role, 'rotation-id': f.rotationId, terminate: 'true' }).then(() => {}),
    )
    expect(error).toBeUndefined()
    expect(result?.failure).toBeUndefined()
    expect(result?.outputs).toMatchObject({
      drained: true,
      state: 'idle',
      rotationId: f.rotationId,
      username: f.next.user,
      previousUsername: f.old.user,
      remainingConnections: 0,
    })
    expect(result?.notes.join('\n')).toMatch(
      new RegExp(
        `rotation ${f.rotationId} was closed at \\S+ by another run while this verify-drain waited \\(poll 2\\)`,
      ),
    )
  })

  it('a close with force while the session runs: not drained, saying the rotation was closed and the session remains', async () => {
    const { f, result, error } = await drainWhile((f) =>
      otherPhase({ phase: 'close', role: f.role, 'rotation-id': f.rotationId, force: 'true' }).then(() => {}),
    )
    expect(error).toBeUndefined()
    expect(result?.outputs).toMatchObject({ drained: false, state: 'idle', remainingConnections: 1 })
    expect(result?.failure).toMatch(
      new RegExp(
        `^Not drained: rotation ${f.rotationId} was closed at \\S+ by another run while this verify-drain waited \\(poll 2\\), and "${f.old.user}" still has 1 connection`,
      ),
    )
  })

  it('a close and a new open: says the rotation was closed and which one is open now', async () => {
    let next = ''
    const { f, error } = await drainWhile(async (f) => {
      await otherPhase({ phase: 'close', role: f.role, 'rotation-id': f.rotationId, terminate: 'true' })
      next = (await otherPhase({ phase: 'open', role: f.role })).outputs.rotationId!
    })
    expect(error?.message).toMatch(
      new RegExp(
        `^verify-drain stopped waiting: rotation ${f.rotationId} was closed at \\S+, and rotation ${next} is open now`,
      ),
    )
    expect(error?.message).toMatch(/its close finished it/)
  })

  it.each(['the old login', 'the group (NOLOGIN, so a check of "previous" alone passes)'])(
    'a state comment forged to say "closed" (previous: %s) while the old login still logs in: refused, not reported drained',
    async (previous) => {
      const { f, result, error } = await drainWhile((f) =>
        rewriteState(server, f.role, (st) => ({
          ...st,
          active: f.next.user,
          rotation: null,
          lastClosed: {
            id: f.rotationId,
            closedAt: st.rotation!.openedAt,
            active: f.next.user,
            previous: previous === 'the old login' ? f.old.user : f.role,
          },
        })),
      )
      expect(result?.outputs.drained).toBeUndefined()
      expect(error?.message).toContain(
        `verify-drain stopped waiting at poll 2: The state says rotation ${f.rotationId} was closed`,
      )
      expect(error?.message).toContain(
        `"${f.old.user}" can still log in, where only the active login "${f.next.user}" should`,
      )
    },
  )

  it('a state comment cleared while it waits: stops at that poll, saying where', async () => {
    const { f, error } = await drainWhile((f) => rewriteState(server, f.role, () => null))
    expect(error?.message).toContain(`verify-drain stopped waiting at poll 2: Role "${f.role}" has no rotation state.`)
  })

  it('an abort after terminate-after ended sessions: the failure says they were ended (not "nothing was changed")', async () => {
    // Poll 2 (after 100 ms) ends the old session; the second wait runs the abort; poll 3 sees it.
    const { f, error } = await drainWhile(
      (f) => otherPhase({ phase: 'abort', role: f.role }).then(() => {}),
      { 'terminate-after': '50ms' },
      2,
    )
    expect(error?.name).toBe('PartialFailure')
    expect(error?.message).toMatch(new RegExp(`^verify-drain stopped waiting: rotation ${f.rotationId} was aborted`))
    expect(error?.message).toContain(
      `Before that, terminate-after had ended 1 session(s) of "${f.old.user}" while the rotation was open.`,
    )
  })
})

describe.each(servers())('PostgreSQL $major: terminate-after and an abort by another run', (server) => {
  it('an abort that lands when terminate-after is due: no session of the login it made active again is ended', async () => {
    const f = await opened(server, 'ended')
    const app = await loginAs(server, f.old.user, f.old.password)
    let appError: Error | null = null
    app.on('error', (e) => (appError = e))
    try {
      const outcome = await phase(
        server,
        {
          phase: 'verify-drain',
          role: f.role,
          'rotation-id': f.rotationId,
          interval: '100ms',
          timeout: '5s',
          'terminate-after': '100ms',
        },
        {
          // The window: terminate-after is due, the last poll saw the rotation open; another run aborts now.
          beforeTerminating: async () => {
            const a = await phase(server, { phase: 'abort', role: f.role }, otherRun)
            expect(a.outputs.state).toBe('idle')
          },
        },
      ).then(
        (result) => ({ result, error: undefined }),
        (error: Error) => ({ result: undefined, error }),
      )
      expect(outcome.result?.failure).toBeUndefined()
      expect(outcome.error?.message).toMatch(
        new RegExp(`^verify-drain stopped waiting: rotation ${f.rotationId} was aborted at \\S+, by another run`),
      )
      // The application's session of the login that is active again still works.
      expect((await app.query('SELECT 1 AS ok')).rows[0].ok).toBe(1)
      expect(appError).toBeNull()
    } finally {
      await app.end().catch(() => {})
    }
  })
})

describe.each(servers())('PostgreSQL $major: terminate-after and the family lock', (server) => {
  /** The serializing statement every phase begins with: holds the family's lock until COMMIT or ROLLBACK. */
  const lockFamily = (c: pg.Client, group: string) => c.query(`ALTER ROLE ${pg.escapeIdentifier(group)} WITH INHERIT`)

  const drainInputs = (f: { role: string; rotationId: string }, extra: Record<string, string> = {}) => ({
    phase: 'verify-drain',
    role: f.role,
    'rotation-id': f.rotationId,
    interval: '100ms',
    timeout: '10s',
    'terminate-after': '100ms',
    ...extra,
  })

  it('an abort in progress (it holds the lock) when the termination is due: verify-drain waits for it, then ends nothing', async () => {
    const f = await opened(server, 'ended')
    const app = await loginAs(server, f.old.user, f.old.password)
    app.on('error', () => {})
    const run = String(3e9 + Math.floor(Math.random() * 1e9))
    const dba = await connectTo(server.url)
    let committed: Promise<void> = Promise.resolve()
    try {
      const outcome = await phase(server, drainInputs(f), {
        env: { GITHUB_RUN_ID: run },
        // An abort-like transaction: the family locked, the state rewritten as aborted, the incoming login
        // disabled; committed only once verify-drain waits on the lock. A termination that read the state
        // without the lock would see the rotation still open and end the application's session.
        beforeTerminating: async () => {
          await dba.query('BEGIN')
          await lockFamily(dba, f.role)
          const st = await familyState(dba, f.role)
          if (!st.rotation) throw new Error('expected an open rotation')
          const aborted: FamilyState = {
            ...st,
            rotation: null,
            lastAborted: { id: st.rotation!.id, abortedAt: new Date().toISOString(), login: st.rotation!.incoming },
          }
          await dba.query(
            `COMMENT ON ROLE ${pg.escapeIdentifier(f.role)} IS ${pg.escapeLiteral(serializeState(aborted))}`,
          )
          await dba.query(`ALTER ROLE ${pg.escapeIdentifier(f.next.user)} NOLOGIN`)
          committed = withAdmin(server, (c) => waitingBackend(c, `verify-drain run ${run}`)).then(
            async () => void (await dba.query('COMMIT')),
          )
        },
      }).then(
        (result) => ({ result, error: undefined }),
        (error: Error) => ({ result: undefined, error }),
      )
      await committed
      expect(outcome.error?.message).toMatch(
        new RegExp(`^verify-drain stopped waiting: rotation ${f.rotationId} was aborted at \\S+, by another run`),
      )
      expect((await app.query('SELECT 1 AS ok')).rows[0].ok).toBe(1)
    } finally {
      await dba.query('ROLLBACK').catch(() => {})
      await dba.end().catch(() => {})
      await app.end().catch(() => {})
    }
  })

  it('the lock held past the timeout: verify-drain returns at its timeout, not after lock_timeout (30 s), having ended nothing', async () => {
    const f = await opened(server, 'ended')
    const app = await loginAs(server, f.old.user, f.old.password)
    app.on('error', () => {})
    const dba = await connectTo(server.url)
    try {
      const started = Date.now()
      const d = await phase(server, drainInputs(f, { timeout: '2s' }), {
        beforeTerminating: async () => {
          await dba.query('BEGIN')
          await lockFamily(dba, f.role)
        },
      })
      const ms = Date.now() - started
      expect(d.outputs).toMatchObject({ drained: false, remainingConnections: 1 })
      expect(d.log.lines.join('\n')).toMatch(
        /the family's lock was not free before the timeout, so no session was ended/,
      )
      expect(ms).toBeLessThan(15_000) // 2 s, far from the 30 s lock_timeout
      expect((await app.query('SELECT 1 AS ok')).rows[0].ok).toBe(1)
    } finally {
      await dba.query('ROLLBACK').catch(() => {})
      await dba.end().catch(() => {})
      await app.end().catch(() => {})
    }
  })

  it('a close by another run just before the termination: drained, from a fresh look (not the poll before the close)', async () => {
    const f = await opened(server, 'ended')
    const app = await loginAs(server, f.old.user, f.old.password)
    app.on('error', () => {})
    try {
      const d = await phase(server, drainInputs(f), {
        beforeTerminating: async () => {
          const c = await phase(
            server,
            { phase: 'close', role: f.role, 'rotation-id': f.rotationId, terminate: 'true' },
            otherRun,
          )
          expect(c.outputs.state).toBe('idle')
        },
      })
      expect(d.failure).toBeUndefined()
      expect(d.outputs).toMatchObject({ drained: true, state: 'idle', remainingConnections: 0 })
    } finally {
      await app.end().catch(() => {})
    }
  })
})
