import type { Config } from '../inputs/config.js'
import { isConnectionLost } from '../postgres/db.js'
import { DatabaseError, PartialFailure, StateError, wasCommitted } from '../domain/errors.js'
import { applyInTransaction } from '../postgres/apply.js'
import { formatDuration } from '../inputs/duration.js'
import { oneLine } from '../domain/escape.js'
import { describeAddr, describeSessions, sessionCount, type Observation, type SessionGroup } from '../domain/family.js'
import { observe } from '../postgres/observe.js'
import {
  missingPrivilege,
  planDrain,
  watchedRotation,
  type ClosedState,
  type DrainTarget,
  type WatchedRotation,
} from '../domain/plan.js'
import type { PhaseResult } from '../domain/result.js'
import { CLEAR_STATS_SNAPSHOT, PHASE_LOCK_TIMEOUT_MS } from '../postgres/statements.js'
import { terminateEverywhere } from '../phase-support/sessions.js'
import { resultWithFamily, type PhaseDeps } from '../phase-support/deps.js'
import { describeState, otherLogin } from '../domain/state.js'
import { describePoolers, type DrainJudgement } from '../domain/drain-rule.js'
import {
  closeAdvice,
  poolerFailure,
  pooledCounts,
  pooledTermination,
  unpooledHint,
} from '../phase-support/poolers-drain.js'
import { retryWithBackoff } from '../domain/retry.js'
import { reportProgress } from '../domain/reporter.js'

/** SQLSTATE lock_not_available: lock_timeout passed. */
const LOCK_NOT_AVAILABLE = '55P03'

/**
 * Polls pg_stat_activity (every database, the primary and each replica) until
 * the outgoing login has no sessions (and the incoming one has
 * min-new-connections), or the timeout. Each poll is its own statement outside
 * any transaction, after clearing the stats snapshot, so it sees fresh
 * activity. Reconnects if a server restarts while waiting.
 */
export async function verifyDrain(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const obs = await observe(deps.session.client, { group: cfg.group, logins: cfg.logins })
  const target = planDrain(obs, cfg)
  if (target.kind === 'noop') return alreadyClosed(cfg, deps, target, obs)
  // terminate-after ends sessions under the family's lock (the serializing ALTER ROLE of every
  // phase that changes something): it needs what such a phase needs, checked before the wait.
  const missing =
    cfg.terminateAfterMs !== null
      ? missingPrivilege(obs, cfg.group, cfg.logins, { changes: true, terminate: true })
      : null
  if (missing) {
    throw new DatabaseError(
      `The admin role lacks ${missing.privilege}, which terminate-after needs; nothing was changed.`,
      `Grant it (as a superuser or a role that may): ${missing.grant};`,
      '42501',
    )
  }
  const watch = await watchDrain(cfg, deps, target, obs)
  if (watch.rotation.kind === 'closed') return closedMeanwhile(cfg, deps, watch.rotation.state, watch)
  if (watch.rotation.kind === 'over') {
    const r = watch.rotation
    throw afterTerminations(
      watch,
      new StateError(
        `verify-drain stopped waiting: ${r.reason}, by another run, while it waited for "${watch.outgoing}" to drain.`,
        describeState(r.state),
        r.next,
      ),
    )
  }
  return drainResult(cfg, deps, target.rotationId, watch)
}

/** Any failure after terminate-after ended sessions says so: it is not one that changed nothing. */
function afterTerminations(watch: DrainWatch, e: unknown): unknown {
  if (!watch.terminated || wasCommitted(e) || !(e instanceof Error)) return e
  return new PartialFailure(
    `${e.message} Before that, terminate-after had ended ${watch.terminated} session(s) of "${watch.outgoing}" while the rotation was open.`,
  )
}

/** A state that cannot be acted on (tampered, cleared), read at poll `at` or at the termination after it. */
function changedWhileWaiting(e: unknown, where: string): unknown {
  if (!(e instanceof StateError)) return e
  return new StateError(`verify-drain stopped waiting ${where}: ${stateProblem(e)}`, e.state, e.next)
}

/** A StateError's own message, without the state and the advice its constructor appended. */
function stateProblem(e: StateError): string {
  const appended = ` The family is ${e.state}. ${e.next}`
  return e.message.endsWith(appended) ? e.message.slice(0, -appended.length) : e.message
}

/**
 * The watched rotation was closed by another run while verify-drain waited. Drained as a
 * poll would judge it: nothing left of the outgoing login where this run looks, and
 * min-new-connections met (a close with force, or one that did not look at the replicas or
 * poolers this run names, may leave connections).
 */
function closedMeanwhile(cfg: Config, deps: PhaseDeps, state: ClosedState, watch: DrainWatch): Promise<PhaseResult> {
  const last = state.lastClosed
  const { old: remaining, fresh, blocked } = drainCounts(watch.sessions, watch.pooled, watch.outgoing, watch.incoming)
  const drained = remaining === 0 && fresh >= cfg.minNewConnections && !blocked
  const what = `rotation ${last.id} was closed at ${last.closedAt} by another run while this verify-drain waited (poll ${watch.polls})`
  let failure: string | undefined
  if (!drained) {
    const left =
      remaining > 0 || blocked
        ? `"${watch.outgoing}" still has ${remaining} connection(s)${blocked ? ' (and a pooler could not be read)' : ''}: they keep working until they disconnect (see the remaining: lines)`
        : `"${watch.incoming}" has ${fresh} connection(s), fewer than min-new-connections (${cfg.minNewConnections})`
    failure = `Not drained: ${what}, and ${left}.`
    warnRemaining(deps, watch)
  }
  const notes = [...(drained ? [`Nothing left to wait for: ${what}.`] : []), ...terminatedNotes(cfg, watch)]
  return resultWithFamily(
    cfg,
    deps,
    { ...closedOutputs(state), remainingConnections: remaining, drained },
    [],
    notes,
    failure,
    watch.pooled ? { poolers: watch.pooled.views } : {},
    watch.observed ?? undefined,
  )
}

/** The outputs of a closed rotation: the login it left active, the one it disabled, its id. */
function closedOutputs(state: ClosedState) {
  const last = state.lastClosed
  return {
    username: last.active,
    previousUsername: last.previous ?? otherLogin(state, last.active),
    rotationId: last.id,
    state: 'idle' as const,
  }
}

/** What terminate-after ended while verify-drain waited, for the result's notes. */
function terminatedNotes(cfg: Config, watch: DrainWatch): string[] {
  return watch.terminated && cfg.terminateAfterMs !== null
    ? [`Terminated ${watch.terminated} sessions of "${watch.outgoing}" after ${formatDuration(cfg.terminateAfterMs)}.`]
    : []
}

/** A re-run with the rotation-id close already finished: drained, and nothing to wait for. */
function alreadyClosed(
  cfg: Config,
  deps: PhaseDeps,
  target: Extract<DrainTarget, { kind: 'noop' }>,
  obs: Observation,
): Promise<PhaseResult> {
  return resultWithFamily(
    cfg,
    deps,
    { ...closedOutputs(target.state), remainingConnections: 0, drained: true },
    [],
    [`Nothing to do: ${target.reason}.`],
    undefined,
    {},
    obs,
  )
}

/** What the polls saw last, and what verify-drain did while waiting. */
interface DrainWatch {
  outgoing: string
  incoming: string
  rotationId: string
  /**
   * The watched rotation as the last poll's read of the state comment shows it: another run
   * may close or abort it (or open a new one after an abort) while verify-drain waits.
   */
  rotation: WatchedRotation
  start: number
  deadline: number
  sessions: SessionGroup[]
  pooled: DrainJudgement | null
  /**
   * The family as the last poll read it (roles and sessions), while nothing was ended since:
   * the result shows it instead of reading the family once more. The first poll is the read
   * verify-drain began with (one statement of its own, a moment earlier).
   */
  observed: Observation | null
  /** The read the first poll takes over; null once taken. */
  initial: Observation | null
  /** Why terminate-after could not end the outgoing login's pooler clients. */
  refusal: string | null
  polls: number
  terminated: number
}

/** Polls until drained, a pooler cannot be read at the first look, terminate-after is refused, or the timeout. */
async function watchDrain(
  cfg: Config,
  deps: PhaseDeps,
  target: Extract<DrainTarget, { kind: 'wait' }>,
  initial: Observation,
): Promise<DrainWatch> {
  const { outgoing, incoming, rotationId } = target
  const start = deps.now().getTime()
  const deadline = start + cfg.timeoutMs
  // The timeout bounds the whole wait, a slow or silent pooler console included.
  deps.poolers.setDeadline(deadline)
  const watch: DrainWatch = {
    outgoing,
    incoming,
    rotationId,
    rotation: watchedRotation(initial, cfg, rotationId),
    start,
    deadline,
    sessions: [],
    pooled: null,
    observed: null,
    initial,
    refusal: null,
    polls: 0,
    terminated: 0,
  }
  const where = deps.replicas.count ? ` on the primary and ${deps.replicas.count} replica(s)` : ''
  deps.reporter.info(
    `Waiting up to ${formatDuration(cfg.timeoutMs)} for "${outgoing}" to drain${where} (polling every ${formatDuration(cfg.intervalMs)})${cfg.minNewConnections ? ` and for "${incoming}" to reach ${cfg.minNewConnections} sessions` : ''}.`,
  )
  try {
    await pollUntilDone(cfg, deps, watch)
  } catch (e) {
    throw afterTerminations(watch, e)
  }
  return watch
}

async function pollUntilDone(cfg: Config, deps: PhaseDeps, watch: DrainWatch): Promise<void> {
  const { outgoing, incoming, start } = watch
  const terminateAfter = cfg.terminateAfterMs
  for (;;) {
    if (!(await poll(cfg, deps, watch))) continue
    watch.polls++
    if (watch.rotation.kind !== 'open') break
    const { old, fresh, blocked } = drainCounts(watch.sessions, watch.pooled, outgoing, incoming)
    const elapsed = deps.now().getTime() - start
    const left = formatDuration(Math.max(0, watch.deadline - start - elapsed))
    reportProgress(
      deps.reporter,
      `poll ${watch.polls} at ${formatDuration(elapsed)} (${left} left): "${outgoing}" ${describeSessions(watch.sessions, outgoing)}, "${incoming}" ${describeSessions(watch.sessions, incoming)}${watch.pooled ? `; ${describePoolers(watch.pooled.views, [outgoing, incoming])}` : ''}`,
    )
    if (old === 0 && fresh >= cfg.minNewConnections && !blocked) break
    // A pooler that cannot be read at the first look is misconfigured (URI, password, stats_users): fail now.
    if (watch.polls === 1 && blocked) break
    const terminating = old > 0 && terminateAfter !== null && elapsed >= terminateAfter
    if (terminating && !(await terminateOutgoing(cfg, deps, watch, terminateAfter))) {
      // Closed by another run while the termination waited for the lock: report what is true
      // now, not what the poll before the close saw.
      // (terminateOutgoing re-read the state: `as` undoes the narrowing from the check above.)
      if ((watch.rotation as WatchedRotation).kind === 'closed') while (!(await poll(cfg, deps, watch)));
      break
    }
    const now = deps.now().getTime()
    if (now >= watch.deadline) break
    // After signalling terminations, look again soon to confirm they are gone.
    await deps.sleep(Math.min(terminating ? Math.min(cfg.intervalMs, 200) : cfg.intervalMs, watch.deadline - now))
  }
}

/**
 * One look at both logins' sessions (a read of the family, after clearing the stats
 * snapshot, so it sees fresh activity) and, with poolers, their clients. A lost
 * connection is renewed before the deadline and the look reported as not taken (false).
 */
async function poll(cfg: Config, deps: PhaseDeps, watch: DrainWatch): Promise<boolean> {
  const logins = [watch.outgoing, watch.incoming]
  try {
    let obs = watch.initial
    watch.initial = null
    if (!obs) {
      await deps.session.client.query(CLEAR_STATS_SNAPSHOT)
      obs = await observe(deps.session.client, { group: cfg.group, logins: cfg.logins })
      // The read carries the state comment: stop if another run ended the rotation meanwhile.
      try {
        watch.rotation = watchedRotation(obs, cfg, watch.rotationId)
      } catch (e) {
        throw changedWhileWaiting(e, `at poll ${watch.polls + 1}`)
      }
    }
    watch.observed = obs
    watch.sessions = obs.sessions.filter((s) => logins.includes(s.login))
    if (deps.replicas.count) watch.sessions.push(...(await deps.replicas.sessions(logins)))
    watch.pooled = deps.poolers.count ? await pooledCounts(deps, watch.outgoing, watch.incoming) : null
    return true
  } catch (e) {
    if (!isConnectionLost(e) || deps.now().getTime() >= watch.deadline) throw e
    deps.reporter.warning(`Lost a connection while polling (${oneLine((e as Error).message)}); reconnecting.`)
    await reconnectUntil(deps, watch.deadline)
    return false
  }
}

/**
 * terminate-after reached: end the outgoing login's sessions everywhere (and, with poolers,
 * its pooler clients), in a transaction that holds the family's lock and only while the state
 * still names the watched rotation: an abort by another run makes the outgoing login the
 * active one again, and its sessions must then be left alone. Returns false when the wait
 * ends: a pooler refuses (ending only the server side would leave its clients connected), or
 * the rotation is no longer open.
 */
async function terminateOutgoing(
  cfg: Config,
  deps: PhaseDeps,
  watch: DrainWatch,
  terminateAfter: number,
): Promise<boolean> {
  if (deps.beforeTerminating) await deps.beforeTerminating()
  // The timeout bounds the whole phase: the wait for the family's lock included.
  const left = watch.deadline - deps.now().getTime()
  if (left <= 0) return false
  let ended = 0
  try {
    await applyInTransaction(
      deps.session,
      cfg,
      deps.reporter,
      (obs) => {
        watch.rotation = watchedRotation(obs, cfg, watch.rotationId)
        return { kind: 'noop', steps: [], state: watch.rotation.state, reason: 'terminate-after', notes: [] }
      },
      {
        terminate: true,
        lockTimeoutMs: Math.min(deps.session.lockTimeoutMs ?? PHASE_LOCK_TIMEOUT_MS, left),
        retryBudgetMs: left,
        whileLocked: async () => {
          ended = 0
          if (watch.rotation.kind !== 'open') return
          watch.refusal = watch.pooled ? await pooledTermination(deps, watch.outgoing) : null
          if (!watch.refusal) ended = await terminateEverywhere(watch.outgoing, deps)
        },
      },
    )
  } catch (e) {
    if (e instanceof DatabaseError && e.code === LOCK_NOT_AVAILABLE) {
      // Another phase held the family's lock until the timeout: nothing was ended; report what is left.
      deps.reporter.warning(
        `terminate-after (${formatDuration(terminateAfter)}) reached, but the family's lock was not free before the timeout, so no session was ended: ${oneLine(e.message)}`,
      )
      return false
    }
    throw changedWhileWaiting(e, `at the termination after poll ${watch.polls}`)
  }
  watch.terminated += ended
  if (watch.rotation.kind !== 'open' || watch.refusal) return false
  watch.observed = null
  deps.reporter.warning(
    `terminate-after (${formatDuration(terminateAfter)}) reached: signalled ${ended} sessions of "${watch.outgoing}" to terminate.`,
  )
  return true
}

async function drainResult(cfg: Config, deps: PhaseDeps, rotationId: string, watch: DrainWatch): Promise<PhaseResult> {
  const { old: remaining, fresh, blocked } = drainCounts(watch.sessions, watch.pooled, watch.outgoing, watch.incoming)
  const drained = remaining === 0 && fresh >= cfg.minNewConnections && !blocked && !watch.refusal
  const notes: string[] = []
  notes.push(...terminatedNotes(cfg, watch))
  let failure: string | undefined
  if (!drained) {
    failure = `Not drained: ${await whyNotDrained(cfg, deps, watch, { remaining, fresh, blocked })}. The rotation stays open. Check that every deploy uses the new credentials, then run verify-drain again, ${closeAdvice(watch.pooled, watch.outgoing)}, or abort.`
    warnRemaining(deps, watch)
  } else {
    notes.push(`Drained after ${formatDuration(deps.now().getTime() - watch.start)} (${watch.polls} polls).`)
  }
  return resultWithFamily(
    cfg,
    deps,
    {
      username: watch.incoming,
      previousUsername: watch.outgoing,
      rotationId,
      state: 'open',
      remainingConnections: remaining,
      drained,
    },
    [],
    notes,
    failure,
    watch.pooled ? { poolers: watch.pooled.views } : {},
    watch.observed ?? undefined,
  )
}

async function whyNotDrained(
  cfg: Config,
  deps: PhaseDeps,
  watch: DrainWatch,
  { remaining, fresh, blocked }: { remaining: number; fresh: number; blocked: boolean },
): Promise<string> {
  const { outgoing, incoming } = watch
  const after = `after ${formatDuration(cfg.timeoutMs)}`
  if (watch.refusal) return `terminate-after was reached, but ${watch.refusal}`
  if (watch.pooled) {
    const when = watch.polls === 1 && blocked ? 'at the first look' : after
    return poolerFailure(watch.pooled, outgoing, incoming, fresh, cfg.minNewConnections, when)
  }
  if (remaining > 0)
    return `"${outgoing}" still has ${describeSessions(watch.sessions, outgoing)} sessions ${after}${await unpooledHint(deps, outgoing)}`
  return `"${incoming}" has ${fresh} sessions, fewer than min-new-connections (${cfg.minNewConnections}), ${after}`
}

/** One warning line per remaining pooler client count and session group of the outgoing login. */
function warnRemaining(deps: PhaseDeps, watch: DrainWatch): void {
  const outgoing = watch.outgoing
  if (watch.pooled)
    for (const v of watch.pooled.views)
      if ((v.clients[outgoing] ?? 0) > 0)
        deps.reporter.warning(
          `remaining: ${v.clients[outgoing]} client(s) of "${outgoing}" logged in to pooler ${v.label}`,
        )
  for (const s of watch.sessions.filter((x) => x.login === outgoing)) {
    const server = s.server && s.server !== 'primary' ? ` on replica ${oneLine(s.server)}` : ''
    const database = s.database === null ? '(none)' : oneLine(s.database)
    deps.reporter.warning(
      `remaining: ${s.count} session(s) of "${s.login}" on database ${database}${server} from ${oneLine(describeAddr(s.clientAddr, s.addrHidden))} (application_name '${oneLine(s.applicationName)}')`,
    )
  }
}

/** The outgoing login's remaining connections, the incoming one's, and whether a pooler could not be read. */
function drainCounts(
  sessions: SessionGroup[],
  pooled: DrainJudgement | null,
  outgoing: string,
  incoming: string,
): { old: number; fresh: number; blocked: boolean } {
  if (!pooled) return { old: sessionCount(sessions, outgoing), fresh: sessionCount(sessions, incoming), blocked: false }
  // Pooler pids are matched on the primary; sessions on replicas count as they are.
  const onReplicas = (login: string) =>
    sessionCount(
      sessions.filter((s) => s.server && s.server !== 'primary'),
      login,
    )
  return {
    old: pooled.outgoing.count + onReplicas(outgoing),
    fresh: pooled.incoming.count + onReplicas(incoming),
    blocked: pooled.unreadable.length > 0,
  }
}

async function reconnectUntil(deps: PhaseDeps, deadline: number): Promise<void> {
  await retryWithBackoff(() => deps.session.renew(), {
    clock: deps,
    budgetMs: deadline - deps.now().getTime(),
    initialMs: 250,
    onRetry: ({ error, delayMs }) =>
      deps.reporter.info(
        `Reconnect failed (${oneLine((error as Error).message)}); retrying in ${formatDuration(delayMs)}.`,
      ),
  })
}
