/**
 * The one source of time for a run: every wait (retry backoff, drain polls,
 * waiting for terminated sessions) and every timestamp goes through a Clock, so
 * a test can pass a fake one and run without real sleeping.
 */
export interface Clock {
  now(): Date
  sleep(ms: number): Promise<void>
}

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
}
