import { describe, expect, it } from 'vitest'
import type { Clock } from '../../src/domain/clock.js'
import { retryWithBackoff, type Attempt, type Retry } from '../../src/domain/retry.js'

/** A clock that never really sleeps: sleep advances now() and records the wait. */
function fakeClock(start = Date.UTC(2026, 10, 29, 12)): Clock & { waits: number[]; elapsed: () => number } {
  let t = start
  const waits: number[] = []
  return {
    waits,
    elapsed: () => t - start,
    now: () => new Date(t),
    sleep: async (ms) => {
      waits.push(ms)
      t += ms
    },
  }
}

/** fn that fails `failures` times with the given error, then returns 'ok'; records what each attempt saw. */
function flaky(failures: number, error: (n: number) => unknown = (n) => new Error(`failure ${n}`)) {
  const seen: Attempt[] = []
  const fn = async (a: Attempt) => {
    seen.push(a)
    if (a.number <= failures) throw error(a.number)
    return 'ok'
  }
  return { fn, seen }
}

describe('retryWithBackoff', () => {
  it('returns the first success without waiting', async () => {
    const clock = fakeClock()
    const { fn, seen } = flaky(0)
    expect(await retryWithBackoff(fn, { clock, budgetMs: 1000 })).toBe('ok')
    expect(clock.waits).toEqual([])
    expect(seen).toEqual([{ number: 1, previousError: undefined, deadline: clock.now().getTime() + 1000 }])
  })

  it('backs off exponentially from initialMs, doubling up to maxMs', async () => {
    const clock = fakeClock()
    const { fn } = flaky(6)
    expect(await retryWithBackoff(fn, { clock, budgetMs: 60_000, initialMs: 250, maxMs: 2000 })).toBe('ok')
    expect(clock.waits).toEqual([250, 500, 1000, 2000, 2000, 2000])
  })

  it('defaults to 200 ms doubling up to 5 s', async () => {
    const clock = fakeClock()
    const { fn } = flaky(7)
    await retryWithBackoff(fn, { clock, budgetMs: 60_000 })
    expect(clock.waits).toEqual([200, 400, 800, 1600, 3200, 5000, 5000])
  })

  it('gives up with the last failure when the next wait would end after the budget', async () => {
    const clock = fakeClock()
    const { fn, seen } = flaky(100)
    const err = await retryWithBackoff(fn, { clock, budgetMs: 1000, initialMs: 100 }).catch((e: unknown) => e)
    // 100 + 200 + 400 = 700 ms waited; the next wait (800) would end at 1500 > 1000.
    expect(clock.waits).toEqual([100, 200, 400])
    expect((err as Error).message).toBe('failure 4')
    expect(seen).toHaveLength(4)
  })

  it('still waits when the wait ends exactly at the deadline', async () => {
    const clock = fakeClock()
    const { fn } = flaky(2)
    expect(await retryWithBackoff(fn, { clock, budgetMs: 300, initialMs: 100 })).toBe('ok')
    expect(clock.waits).toEqual([100, 200])
  })

  it('counts time spent in the attempts against the budget', async () => {
    const clock = fakeClock()
    const fn = async () => {
      await clock.sleep(900) // a slow attempt
      throw new Error('slow failure')
    }
    await expect(retryWithBackoff(fn, { clock, budgetMs: 1000, initialMs: 200 })).rejects.toThrow('slow failure')
    expect(clock.waits).toEqual([900])
  })

  it('rethrows a failure that is not retryable at once', async () => {
    const clock = fakeClock()
    const { fn, seen } = flaky(3, (n) => Object.assign(new Error(`failure ${n}`), { fatal: n === 2 }))
    const err = await retryWithBackoff(fn, {
      clock,
      budgetMs: 60_000,
      isRetryable: (e) => !(e as { fatal: boolean }).fatal,
    }).catch((e: unknown) => e)
    expect((err as Error).message).toBe('failure 2')
    expect(seen).toHaveLength(2)
    expect(clock.waits).toEqual([200])
  })

  it('with delaysMs, waits exactly those and makes at most one attempt more than there are delays', async () => {
    const clock = fakeClock()
    const { fn, seen } = flaky(100)
    await expect(retryWithBackoff(fn, { clock, delaysMs: [1000, 3000] })).rejects.toThrow('failure 3')
    expect(clock.waits).toEqual([1000, 3000])
    expect(seen.map((a) => a.deadline)).toEqual([undefined, undefined, undefined])
    const once = flaky(100)
    await expect(retryWithBackoff(once.fn, { clock, delaysMs: [] })).rejects.toThrow('failure 1')
    expect(once.seen).toHaveLength(1)
  })

  it('tells onRetry about each retry before waiting, and each attempt about the failure before it', async () => {
    const clock = fakeClock()
    const { fn, seen } = flaky(2)
    const retries: (Retry & { at: number })[] = []
    await retryWithBackoff(fn, { clock, initialMs: 50, onRetry: (r) => retries.push({ ...r, at: clock.elapsed() }) })
    expect(retries.map((r) => [r.attempt, r.delayMs, (r.error as Error).message, r.at])).toEqual([
      [1, 50, 'failure 1', 0],
      [2, 100, 'failure 2', 50],
    ])
    expect(seen.map((a) => [a.number, (a.previousError as Error | undefined)?.message])).toEqual([
      [1, undefined],
      [2, 'failure 1'],
      [3, 'failure 2'],
    ])
  })

  it('lets an attempt stop the retries by throwing a failure that is not retryable', async () => {
    const clock = fakeClock()
    const stop = new Error('stop')
    const fn = async (a: Attempt) => {
      if (a.number === 2) throw stop
      throw new Error('transient')
    }
    const err = await retryWithBackoff(fn, { clock, budgetMs: 10_000, isRetryable: (e) => e !== stop }).catch(
      (e: unknown) => e,
    )
    expect(err).toBe(stop)
  })
})
