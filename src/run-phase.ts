import type { Config, Phase } from './inputs/config.js'
import { isEncrypted, isRetryable } from './postgres/db.js'
import { abort } from './phases/abort.js'
import { closePhase } from './phases/close.js'
import type { PhaseDeps, PhaseFn } from './phase-support/deps.js'
import { open } from './phases/open.js'
import { setup } from './phases/setup.js'
import { status } from './phases/status.js'
import { unseal } from './phases/unseal.js'
import { verifyDrain } from './phases/verify-drain.js'
import { POOLER_INPUT, POOLER_LIMITS, Poolers, type PoolerLimits } from './postgres/poolers.js'
import { Replicas } from './postgres/replicas.js'
import type { Reporter } from './domain/reporter.js'
import { systemClock, type Clock } from './domain/clock.js'
import { retryWithBackoff } from './domain/retry.js'
import type { PhaseResult } from './domain/result.js'
import { AdminSession } from './postgres/session.js'
import { plaintextWarning } from './postgres/tls.js'
import { clientConfig } from './postgres/urls.js'

export interface RunOptions {
  reporter: Reporter
  /** Every wait and timestamp of the phase (connect and apply retries, drain polls, GitHub retries). Default: systemClock. */
  clock?: Clock
  /** Overrides the phase transaction's lock_timeout; tests only. */
  lockTimeoutMs?: number
  /** Overrides the phase transaction's idle_in_transaction_session_timeout; tests only. */
  idleInTransactionTimeoutMs?: number
  /** Overrides POOLER_LIMITS (how long a pooler console may take); tests only. */
  poolerLimits?: PoolerLimits
  /** Overrides ADMIN_QUERY_TIMEOUT_MS (how long a statement may go unanswered); tests only. */
  adminQueryTimeoutMs?: number
  /** Test seam, see PhaseDeps. */
  afterLoginCheck?: () => Promise<void>
  /** Test seam, see PhaseDeps. */
  beforeTerminating?: () => Promise<void>
}

const PHASES: Record<Exclude<Phase, 'unseal'>, PhaseFn> = {
  setup,
  open,
  'verify-drain': verifyDrain,
  close: closePhase,
  abort,
  status,
}

/** The phases that read the poolers of pgbouncer-urls. */
const POOLER_PHASES: Phase[] = ['verify-drain', 'close', 'abort', 'status']

/** The phases that wait for replica-urls to replay their commit, and so check them before changing anything. */
const REPLAYING_PHASES: Phase[] = ['setup', 'open', 'close', 'abort']

/** How long the first connection may keep failing transiently (server starting, network blip). */
const CONNECT_BUDGET_MS = 30_000

/** Runs one phase against the admin connection. The entry point for every front end. */
export async function runPhase(cfg: Config, opts: RunOptions): Promise<PhaseResult> {
  if (cfg.phase === 'unseal') return unseal(cfg, opts.reporter)
  const phase = cfg.phase
  const applicationName = `pg-credential-rotation/${cfg.phase}${cfg.run.runId ? ` run ${cfg.run.runId}` : ''}`.slice(
    0,
    63,
  )
  const clock = opts.clock ?? systemClock
  const session = new AdminSession(
    cfg.admin,
    applicationName,
    undefined,
    opts.lockTimeoutMs,
    clock,
    opts.idleInTransactionTimeoutMs,
    opts.adminQueryTimeoutMs,
  )
  const deps: PhaseDeps = {
    reporter: opts.reporter,
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
    session,
    replicas: Replicas.create(cfg.replicas, applicationName),
    poolers: new Poolers(
      POOLER_PHASES.includes(phase) ? cfg.poolers : [],
      applicationName,
      opts.poolerLimits ?? POOLER_LIMITS,
      clock,
    ),
    afterLoginCheck: opts.afterLoginCheck,
    beforeTerminating: opts.beforeTerminating,
  }
  try {
    await connectWithRetry(session, deps)
    const plaintext = plaintextWarning(isEncrypted(session.client), clientConfig(cfg.admin).host ?? process.env.PGHOST)
    if (plaintext) deps.reporter.warning(plaintext)
    if (REPLAYING_PHASES.includes(phase)) await deps.replicas.checkStandbys(phase, session.client)
    const result = await PHASES[phase](cfg, deps)
    if (cfg.poolers.length && !POOLER_PHASES.includes(phase))
      result.notes.push(`${POOLER_INPUT} is not used by ${phase} (only by ${POOLER_PHASES.join(', ')}).`)
    return result
  } finally {
    await session.end()
    await deps.replicas.end()
    await deps.poolers.end()
  }
}

/** Opens the admin connection, retrying only while the server may be restarting (57P03) or briefly gone. */
async function connectWithRetry(session: AdminSession, deps: PhaseDeps): Promise<void> {
  await retryWithBackoff(() => session.open(), {
    clock: deps,
    budgetMs: CONNECT_BUDGET_MS,
    initialMs: 250,
    isRetryable: isTransientConnectFailure,
    onRetry: ({ error, delayMs }) =>
      deps.reporter.warning(`Connecting failed (${(error as Error).message}); retrying in ${delayMs}ms.`),
  })
}

/** A refused connection or an unknown host is not transient: only a starting server or a dropped link is. */
function isTransientConnectFailure(e: unknown): boolean {
  const code = (e as { code?: string }).code
  return code === '57P03' || (isRetryable(e) && code !== 'ECONNREFUSED' && code !== 'ENOTFOUND')
}
