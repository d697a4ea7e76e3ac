import { PartialFailure, wasCommitted } from '../domain/errors.js'

/**
 * Runs what a phase does after its commit (ending sessions and pooled
 * connections, re-reading the family for the summary). The change has been
 * committed by then, so a failure here must say so: it becomes a
 * PartialFailure, never a message that claims nothing was changed.
 */
export async function afterCommit<T>(committed: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (e) {
    if (wasCommitted(e)) throw e
    throw new PartialFailure(`${committed}, but what followed the commit failed: ${(e as Error).message}`)
  }
}
