import type { Config } from './config.js'
import { close, connect, type Client } from './db.js'
import { closePhase } from './phases/close.js'
import type { PhaseDeps } from './phases/common.js'
import { open } from './phases/open.js'
import { setup } from './phases/setup.js'
import { verifyDrain } from './phases/verify-drain.js'
import type { Reporter } from './reporter.js'
import type { PhaseResult } from './result.js'

export interface RunOptions {
  reporter: Reporter
  now?: () => Date
  sleep?: (ms: number) => Promise<void>
}

const PHASES = { setup, open, 'verify-drain': verifyDrain, close: closePhase } as const

/** Runs one phase against the admin connection. The entry point for every front end. */
export async function runPhase(cfg: Config, opts: RunOptions): Promise<PhaseResult> {
  const applicationName = `pg-credential-rotation/${cfg.phase}${cfg.run.runId ? ` run ${cfg.run.runId}` : ''}`.slice(0, 63)
  const reconnect = () => connect(cfg.admin, 'admin connection (admin-url)', { applicationName })
  const deps: PhaseDeps = {
    reporter: opts.reporter,
    now: opts.now ?? (() => new Date()),
    sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    reconnect,
  }
  let client: Client | null = null
  try {
    client = await reconnect()
    return await PHASES[cfg.phase](client, cfg, deps)
  } finally {
    await close(client)
  }
}
