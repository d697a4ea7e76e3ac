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
  type Family = Awaited<ReturnType<typeof opened>>

  /**
   * Opens a family whose outgoing login keeps a session (so verify-drain waits), runs
   * verify-drain, and runs `meanwhile` (another run's phases) in its first wait between polls.
   */
  async function drainWhile(meanwhile: (f: Family) => Promise<void>) {
    const f = await opened(server, 'ended')
    const app = await loginAs(server, f.old.user, f.old.password)
    app.on('error', () => {})
    try {
      const clock = holdingClock(() => meanwhile(f))
      const outcome = await phase(
        server,
        { phase: 'verify-drain', role: f.role, 'rotation-id': f.rotationId, interval: '100ms', timeout: '5s' },
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
      `verify-drain stopped waiting: rotation ${f.rotationId} is no longer open: rotation ${next} is open now, by another run`,
    )
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
})
