/**
 * Errors a user sees. Each says what went wrong, where (an input or the family's
 * state), and what to do next. `InputError` is raised before any connection is
 * made; `StateError` after observing the family, before anything is changed.
 */

/** A bad input value: names the input, changes nothing. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`input '${input}': ${message}`)
    this.name = 'InputError'
  }
}

/** The family is not in a state where the phase may act. Nothing was changed. */
export class StateError extends Error {
  constructor(
    message: string,
    /** What the family looks like now, in one phrase: "idle, app_a active". */
    readonly state: string,
    /** What to run next. */
    readonly next: string,
  ) {
    super(`${message} The family is ${state}. ${next}`)
    this.name = 'StateError'
  }
}

/** The database refused or failed; `hint` says what to check. */
export class DatabaseError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly code?: string,
    /** Something was committed (or written to GitHub) before the failure; the message says what. */
    readonly committed = false,
  ) {
    super(hint ? `${message} ${hint}` : message)
    this.name = 'DatabaseError'
  }
}

/**
 * A phase failed after something became durable: a commit, or secrets written
 * to GitHub. The message says exactly what was changed and what was not.
 */
export class PartialFailure extends Error {
  readonly committed = true
  constructor(message: string) {
    super(message)
    this.name = 'PartialFailure'
  }
}

/** Whether a failed phase changed something durably before failing (then no message may say "nothing was changed"). */
export function wasCommitted(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { committed?: unknown }).committed === true
}
