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
import type pg from 'pg'
import { loginAs, phase, servers } from '../harness/helpers.js'
import { openedFamily as opened } from '../harness/roles.js'
import { systemClock, type Clock } from '../../src/domain/clock.js'

/** A clock whose first sleep (verify-drain's first wait after a poll) runs `meanwhile` first. */
function holdingClock(meanwhile: () => Promise<void>): Clock & { held: Promise<void> } {
  let first = true
  let done!: () => void
  const held = new Promise<void>((r) => (done = r))
  return {
    held,
    now: () => systemClock.now(),
    sleep: async (ms) => {
      if (first) {
        first = false
        await meanwhile()
        done()
      }
      return systemClock.sleep(ms)
    },
  }
}

/** Another workflow run: its own run id. */
const otherRun = { env: { GITHUB_RUN_ID: '2002' } }

describe.each(servers())('PostgreSQL $major: verify-drain when another run ends the rotation', (server) => {
  async function waitingOn(): Promise<{ f: Awaited<ReturnType<typeof opened>>; app: pg.Client }> {
    const f = await opened(server, 'ended')
    // A session of the outgoing login keeps verify-drain waiting.
    const app = await loginAs(server, f.old.user, f.old.password)
    app.on('error', () => {})
    return { f, app }
  }

  it('an abort: stops at the next poll and says the rotation was aborted, not "not drained" at the timeout', async () => {
    const { f, app } = await waitingOn()
    try {
      const clock = holdingClock(async () => {
        const a = await phase(server, { phase: 'abort', role: f.role }, otherRun)
        expect(a.outputs.state).toBe('idle')
      })
      const error = await phase(
        server,
        { phase: 'verify-drain', role: f.role, 'rotation-id': f.rotationId, interval: '100ms', timeout: '5s' },
        { clock },
      ).then(
        (r) => new Error(`no error; drained=${r.outputs.drained}; ${r.failure ?? ''}`),
        (e: Error) => e,
      )
      await clock.held
      expect(error.name).toBe('StateError')
      expect(error.message).toMatch(
        new RegExp(`^verify-drain stopped waiting: rotation ${f.rotationId} was aborted at \\S+, by another run`),
      )
      expect(error.message).toContain(`The family is idle with ${f.old.user} active.`)
      expect(error.message).toMatch(/nothing left to verify/)
    } finally {
      await app.end().catch(() => {})
    }
  })

  it('an abort and a new open: names the rotation that is open now', async () => {
    const { f, app } = await waitingOn()
    let next = ''
    try {
      const clock = holdingClock(async () => {
        await phase(server, { phase: 'abort', role: f.role }, otherRun)
        next = (await phase(server, { phase: 'open', role: f.role }, otherRun)).outputs.rotationId!
      })
      const error = await phase(
        server,
        { phase: 'verify-drain', role: f.role, 'rotation-id': f.rotationId, interval: '100ms', timeout: '5s' },
        { clock },
      ).then(
        (r) => new Error(`no error; drained=${r.outputs.drained}; ${r.failure ?? ''}`),
        (e: Error) => e,
      )
      expect(next).not.toBe('')
      expect(error.message).toContain(
        `verify-drain stopped waiting: rotation ${f.rotationId} is no longer open: rotation ${next} is open now, by another run`,
      )
    } finally {
      await app.end().catch(() => {})
    }
  })

  it('a close with terminate: drained, and the outputs say the rotation is closed (state idle)', async () => {
    const { f, app } = await waitingOn()
    try {
      const clock = holdingClock(async () => {
        const c = await phase(
          server,
          { phase: 'close', role: f.role, 'rotation-id': f.rotationId, terminate: 'true' },
          otherRun,
        )
        expect(c.outputs.state).toBe('idle')
      })
      const d = await phase(
        server,
        { phase: 'verify-drain', role: f.role, 'rotation-id': f.rotationId, interval: '100ms', timeout: '5s' },
        { clock },
      )
      expect(d.failure).toBeUndefined()
      expect(d.outputs).toMatchObject({
        drained: true,
        state: 'idle',
        rotationId: f.rotationId,
        username: f.next.user,
        previousUsername: f.old.user,
        remainingConnections: 0,
      })
      expect(d.notes.join('\n')).toMatch(
        new RegExp(
          `rotation ${f.rotationId} was closed at \\S+ by another run while this verify-drain waited \\(poll 2\\)`,
        ),
      )
    } finally {
      await app.end().catch(() => {})
    }
  })

  it('a close with force while the session runs: not drained, saying the rotation was closed and the session remains', async () => {
    const { f, app } = await waitingOn()
    try {
      const clock = holdingClock(async () => {
        const c = await phase(
          server,
          { phase: 'close', role: f.role, 'rotation-id': f.rotationId, force: 'true' },
          otherRun,
        )
        expect(c.outputs.state).toBe('idle')
      })
      const d = await phase(
        server,
        { phase: 'verify-drain', role: f.role, 'rotation-id': f.rotationId, interval: '100ms', timeout: '5s' },
        { clock },
      )
      expect(d.outputs).toMatchObject({ drained: false, state: 'idle', remainingConnections: 1 })
      expect(d.failure).toMatch(
        new RegExp(
          `^Not drained: rotation ${f.rotationId} was closed at \\S+ by another run while this verify-drain waited \\(poll 2\\), and "${f.old.user}" still has 1 connection`,
        ),
      )
    } finally {
      await app.end().catch(() => {})
    }
  })
})
