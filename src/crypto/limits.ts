/**
 * The lengths the inputs are checked against, in a module of their own so that
 * checking the inputs does not load node:crypto (a run that stops at an input
 * error never needs it; see docs/benchmarks.md, cold start).
 */
export const MIN_PASSWORD_LENGTH = 16
export const SEAL_KEY_MIN_LENGTH = 16
