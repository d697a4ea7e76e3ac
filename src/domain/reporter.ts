/** How the core talks to its front end (the Actions adapter in src/action/, the terminal one in src/cli/). */
export interface Reporter {
  info(message: string): void
  warning(message: string): void
  /** Something the user should see on the run's page without it being a problem; info when absent. */
  notice?(message: string): void
  debug(message: string): void
  /** Register a secret so the front end masks it. Called before the value is used or printed. */
  secret(value: string): void
  /**
   * A status line that replaces the previous one (verify-drain's polls): a terminal redraws
   * one line. A front end without it gets the same text through info.
   */
  progress?(message: string): void
}

/** Reports a status line through the front end's progress, or as an info line when it has none. */
export function reportProgress(reporter: Reporter, message: string): void {
  if (reporter.progress) reporter.progress(message)
  else reporter.info(message)
}

export const silentReporter: Reporter = { info() {}, warning() {}, debug() {}, secret() {} }
