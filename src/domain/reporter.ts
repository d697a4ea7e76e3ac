/** How the core talks to its front end (the Action adapter, or a CLI later). */
export interface Reporter {
  info(message: string): void
  warning(message: string): void
  /** Something the user should see on the run's page without it being a problem; info when absent. */
  notice?(message: string): void
  debug(message: string): void
  /** Register a secret so the front end masks it. Called before the value is used or printed. */
  secret(value: string): void
}

export const silentReporter: Reporter = { info() {}, warning() {}, debug() {}, secret() {} }
