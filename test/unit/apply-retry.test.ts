import { describe, expect, it } from 'vitest'
import type { Clock } from '../../src/domain/clock.js'
import { DatabaseError } from '../../src/domain/errors.js'
import type { Reporter } from '../../src/domain/reporter.js'
import { applyInTransaction, RETRY_BUDGET_MS } from '../../src/postgres/apply.js'
import type { AdminSession } from '../../src/postgres/session.js'

/** A clock that never really sleeps: sleep advances now() and records the wait. */
function fakeClock(): Clock & { waits: number[] } {
  let t = Date.UTC(2026, 10, 29, 12)
  const waits: number[] = []
  return {
    waits,
    now: () => new Date(t),
    sleep: async (ms) => {
      waits.push(ms)
      t += ms
    },
  }
}

/** An admin session whose every BEGIN fails with `error`, and whose renew() does what `renew` says. */
function failingSession(clock: Clock, error: object, renew: () => Promise<void> = async () => {}) {
  const calls = { begins: 0, renewals: 0 }
  const client = {
    query: async (sql: string) => {
      if (sql.startsWith('BEGIN')) {
        calls.begins++
        throw error
      }
      return { rows: [] }
    },
  }
  const session = {
    client,
    clock,
    lockTimeoutMs: undefined,
    renew: async () => {
      calls.renewals++
      await renew()
      return client
    },
  } as unknown as AdminSession
  return { session, calls }
}

function warnings(): Reporter & { lines: string[] } {
  const lines: string[] = []
  return { lines, info() {}, debug() {}, secret() {}, warning: (m) => lines.push(m) }
}

const cfg = {
  group: 'app',
  logins: ['app_a', 'app_b'] as [string, string],
  passwordLength: 32,
  passwordEncryption: 'scram-sha-256' as const,
}
const decide = () => {
  throw new Error('not reached')
}

describe('a phase transaction that fails transiently', () => {
  it('retries a transient failure on the session clock, renewing the connection, for up to RETRY_BUDGET_MS', async () => {
    const clock = fakeClock()
    const { session, calls } = failingSession(clock, { code: '40001', message: 'could not serialize access' })
    const reporter = warnings()
    await expect(applyInTransaction(session, cfg, reporter, decide)).rejects.toMatchObject({ code: '40001' })
    expect(clock.waits.slice(0, 6)).toEqual([200, 400, 800, 1600, 3200, 5000])
    expect(clock.waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(RETRY_BUDGET_MS)
    expect(calls.begins).toBe(clock.waits.length + 1)
    expect(calls.renewals).toBe(clock.waits.length)
    expect(reporter.lines[0]).toBe(
      'Attempt 1 failed (could not serialize access); nothing was applied. Retrying in 200ms.',
    )
  })

  it('ends the phase when the connection cannot be renewed for a reason that is not transient', async () => {
    const clock = fakeClock()
    const lost = { code: '57P01', message: 'terminating connection due to administrator command\ndetail' }
    const { session, calls } = failingSession(clock, lost, async () => {
      throw Object.assign(new Error('password authentication failed for user "admin"'), { code: '28P01' })
    })
    const err = await applyInTransaction(session, cfg, warnings(), decide).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).message).toContain(
      'The phase was interrupted (terminating connection due to administrator command) and could not reconnect: password authentication failed',
    )
    expect(calls.begins).toBe(1)
    expect(clock.waits).toEqual([200])
  })

  it('keeps retrying while a renewal fails transiently, until the budget is spent', async () => {
    const clock = fakeClock()
    const lost = { code: '57P01', message: 'terminating connection' }
    const { session, calls } = failingSession(clock, lost, async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    })
    await expect(applyInTransaction(session, cfg, warnings(), decide)).rejects.toMatchObject({ code: '57P01' })
    expect(calls.begins).toBe(clock.waits.length + 1)
    expect(clock.waits.length).toBeGreaterThan(10)
  })
})
