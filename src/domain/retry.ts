import { systemClock, type Clock } from './clock.js'

export interface RetryOptions {
  /** Default: systemClock. */
  clock?: Clock
  /**
   * Gives up once the next wait would end more than this long after the first
   * attempt started. Without it, only delaysMs bounds the attempts.
   */
  budgetMs?: number
  /**
   * Fixed waits before the 2nd, 3rd... attempt: at most delaysMs.length + 1
   * attempts. When given, initialMs and maxMs are not used.
   */
  delaysMs?: readonly number[]
  /** First wait of the exponential backoff. Default 200 ms. */
  initialMs?: number
  /** The backoff doubles up to this. Default 5000 ms. */
  maxMs?: number
  /** Whether a failure may be retried. Default: every failure. */
  isRetryable?: (error: unknown) => boolean
  /** Called before each wait, e.g. to log "retrying in 400ms". */
  onRetry?: (retry: Retry) => void
}

/** A failed attempt that will be retried after delayMs. */
export interface Retry {
  error: unknown
  /** The attempt that failed, from 1. */
  attempt: number
  delayMs: number
}

/** What an attempt knows: its number (from 1), the failure that made it necessary, and the deadline. */
export interface Attempt {
  number: number
  /** The previous attempt's failure; undefined on the first attempt. */
  previousError: unknown
  /** Epoch milliseconds after which no attempt starts; undefined without budgetMs. */
  deadline: number | undefined
}

/**
 * Runs fn until it succeeds, waiting between attempts with exponential backoff
 * (initialMs, doubling up to maxMs) or the fixed delaysMs. Rethrows the last
 * failure as is when it is not retryable, when the budget would be exceeded by
 * the next wait, or when delaysMs is used up.
 */
export async function retryWithBackoff<T>(fn: (attempt: Attempt) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const clock = opts.clock ?? systemClock
  const deadline = opts.budgetMs === undefined ? undefined : clock.now().getTime() + opts.budgetMs
  const retryable = opts.isRetryable ?? (() => true)
  let backoff = opts.initialMs ?? 200
  let previousError: unknown = undefined
  for (let number = 1; ; number++) {
    try {
      return await fn({ number, previousError, deadline })
    } catch (error) {
      const delayMs = opts.delaysMs ? opts.delaysMs[number - 1] : backoff
      if (delayMs === undefined || !retryable(error)) throw error
      if (deadline !== undefined && clock.now().getTime() + delayMs > deadline) throw error
      opts.onRetry?.({ error, attempt: number, delayMs })
      await clock.sleep(delayMs)
      backoff = Math.min(backoff * 2, opts.maxMs ?? 5000)
      previousError = error
    }
  }
}
