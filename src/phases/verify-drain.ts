import type { Config } from '../inputs/config.js'
import { isConnectionLost } from '../postgres/db.js'
import { DatabaseError } from '../domain/errors.js'
import { formatDuration } from '../inputs/duration.js'
import { oneLine } from '../domain/escape.js'
import { describeSessions, sessionCount, type SessionGroup } from '../domain/family.js'
import { observe, readSessions } from '../postgres/observe.js'
import { missingPrivilege, planDrain, type DrainTarget } from '../domain/plan.js'
import type { PhaseResult } from '../domain/result.js'
import { CLEAR_STATS_SNAPSHOT } from '../postgres/statements.js'
import { terminateEverywhere } from '../phase-support/sessions.js'
import { finish, type PhaseDeps } from '../phase-support/deps.js'
import { otherLogin } from '../domain/state.js'
import { describePoolers, type DrainJudgement } from '../domain/drain-rule.js'
import { poolerFailure, pooledCounts, pooledTermination, unpooledHint } from '../phase-support/poolers-drain.js'

/**
 * Polls pg_stat_activity (every database, the primary and each replica) until
 * the outgoing login has no sessions (and the incoming one has
 * min-new-connections), or the timeout. Each poll is its own statement outside
 * any transaction, after clearing the stats snapshot, so it sees fresh
 * activity. Reconnects if a server restarts while waiting.
 */
export async function verifyDrain(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const obs = await observe(deps.session.client, { group: cfg.role, logins: cfg.logins })
  const target = planDrain(obs, cfg)
  if (target.kind === 'noop') return alreadyClosed(cfg, deps, target)
  const missing = cfg.terminateAfterMs !== null ? missingPrivilege(obs, cfg.role, [], true) : null
  if (missing) {
    throw new DatabaseError(
      `The admin role lacks ${missing.privilege}, which terminate-after needs; nothing was changed.`,
      `Grant it (as a superuser or a role that may): ${missing.grant};`,
      '42501',
    )
  }
  const watch = await watchDrain(cfg, deps, target.outgoing, target.incoming)
  return drainResult(cfg, deps, target.rotationId, watch)
}

/** A re-run with the rotation-id close already finished: drained, and nothing to wait for. */
function alreadyClosed(
  cfg: Config,
  deps: PhaseDeps,
  target: Extract<DrainTarget, { kind: 'noop' }>,
): Promise<PhaseResult> {
  const last = target.state.lastClosed
  return finish(
    cfg,
    deps,
    {
      previousUsername: last.previous ?? otherLogin(target.state, last.active),
      rotationId: last.id,
      state: 'idle',
      remainingConnections: 0,
      drained: true,
    },
    [],
    [`Nothing to do: ${target.reason}.`],
  )
}

/** What the polls saw last, and what verify-drain did while waiting. */
interface DrainWatch {
  outgoing: string
  incoming: string
  start: number
  deadline: number
  sessions: SessionGroup[]
  pooled: DrainJudgement | null
  /** Why terminate-after could not end the outgoing login's pooler clients. */
  refusal: string | null
  polls: number
  terminated: number
}

/** Polls until drained, a pooler cannot be read at the first look, terminate-after is refused, or the timeout. */
async function watchDrain(cfg: Config, deps: PhaseDeps, outgoing: string, incoming: string): Promise<DrainWatch> {
  const start = deps.now().getTime()
  const deadline = start + cfg.timeoutMs
  const w: DrainWatch = {
    outgoing,
    incoming,
    start,
    deadline,
    sessions: [],
    pooled: null,
    refusal: null,
    polls: 0,
    terminated: 0,
  }
  const terminateAfter = cfg.terminateAfterMs
  const where = deps.replicas.count ? ` on the primary and ${deps.replicas.count} replica(s)` : ''
  deps.reporter.info(
    `Waiting up to ${formatDuration(cfg.timeoutMs)} for "${outgoing}" to drain${where} (polling every ${formatDuration(cfg.intervalMs)})${cfg.minNewConnections ? ` and for "${incoming}" to reach ${cfg.minNewConnections} sessions` : ''}.`,
  )
  for (;;) {
    if (!(await poll(deps, w))) continue
    w.polls++
    const { old, fresh, blocked } = counts(w.sessions, w.pooled, outgoing, incoming)
    const elapsed = deps.now().getTime() - start
    deps.reporter.info(
      `poll ${w.polls} at ${formatDuration(elapsed)}: "${outgoing}" ${describeSessions(w.sessions, outgoing)}, "${incoming}" ${describeSessions(w.sessions, incoming)}${w.pooled ? `; ${describePoolers(w.pooled.views, [outgoing, incoming])}` : ''}`,
    )
    if (old === 0 && fresh >= cfg.minNewConnections && !blocked) break
    // A pooler that cannot be read at the first look is misconfigured (URI, password, stats_users): fail now.
    if (w.polls === 1 && blocked) break
    const terminating = old > 0 && terminateAfter !== null && elapsed >= terminateAfter
    if (terminating && !(await terminateOutgoing(deps, w, terminateAfter))) break
    const now = deps.now().getTime()
    if (now >= w.deadline) break
    // After signalling terminations, look again soon to confirm they are gone.
    await deps.sleep(Math.min(terminating ? Math.min(cfg.intervalMs, 200) : cfg.intervalMs, w.deadline - now))
  }
  return w
}

/**
 * One look at both logins' sessions (after clearing the stats snapshot, so it
 * sees fresh activity) and, with poolers, their clients. A lost connection is
 * renewed before the deadline and the look reported as not taken (false).
 */
async function poll(deps: PhaseDeps, w: DrainWatch): Promise<boolean> {
  const logins = [w.outgoing, w.incoming]
  try {
    await deps.session.client.query(CLEAR_STATS_SNAPSHOT)
    w.sessions = await readSessions(deps.session.client, logins)
    if (deps.replicas.count) w.sessions.push(...(await deps.replicas.sessions(logins)))
    w.pooled = deps.poolers.count ? await pooledCounts(deps, w.outgoing, w.incoming) : null
    return true
  } catch (e) {
    if (!isConnectionLost(e) || deps.now().getTime() >= w.deadline) throw e
    deps.reporter.warning(`Lost a connection while polling (${oneLine((e as Error).message)}); reconnecting.`)
    await reconnectUntil(deps, w.deadline)
    return false
  }
}

/**
 * terminate-after reached: end the outgoing login's sessions everywhere (and,
 * with poolers, its pooler clients). Returns false when a pooler refuses, which
 * ends the wait: ending only the server side would leave its clients connected.
 */
async function terminateOutgoing(deps: PhaseDeps, w: DrainWatch, terminateAfter: number): Promise<boolean> {
  w.refusal = w.pooled ? await pooledTermination(deps, w.outgoing) : null
  if (w.refusal) return false
  const n = await terminateEverywhere(w.outgoing, deps)
  w.terminated += n
  deps.reporter.warning(
    `terminate-after (${formatDuration(terminateAfter)}) reached: signalled ${n} sessions of "${w.outgoing}" to terminate.`,
  )
  return true
}

async function drainResult(cfg: Config, deps: PhaseDeps, rotationId: string, w: DrainWatch): Promise<PhaseResult> {
  const { old: remaining, fresh, blocked } = counts(w.sessions, w.pooled, w.outgoing, w.incoming)
  const drained = remaining === 0 && fresh >= cfg.minNewConnections && !blocked && !w.refusal
  const notes: string[] = []
  if (w.terminated && cfg.terminateAfterMs !== null)
    notes.push(`Terminated ${w.terminated} sessions of "${w.outgoing}" after ${formatDuration(cfg.terminateAfterMs)}.`)
  let failure: string | undefined
  if (!drained) {
    failure = `Not drained: ${await whyNotDrained(cfg, deps, w, { remaining, fresh, blocked })}. The rotation stays open. Check that every deploy uses the new credentials, then run verify-drain again, close with terminate: true, or abort.`
    warnRemaining(deps, w)
  } else {
    notes.push(`Drained after ${formatDuration(deps.now().getTime() - w.start)} (${w.polls} polls).`)
  }
  return finish(
    cfg,
    deps,
    { previousUsername: w.outgoing, rotationId, state: 'open', remainingConnections: remaining, drained },
    [],
    notes,
    failure,
    w.pooled ? { poolers: w.pooled.views } : {},
  )
}

async function whyNotDrained(
  cfg: Config,
  deps: PhaseDeps,
  w: DrainWatch,
  { remaining, fresh, blocked }: { remaining: number; fresh: number; blocked: boolean },
): Promise<string> {
  const { outgoing, incoming } = w
  const after = `after ${formatDuration(cfg.timeoutMs)}`
  if (w.refusal) return `terminate-after was reached, but ${w.refusal}`
  if (w.pooled) {
    const when = w.polls === 1 && blocked ? 'at the first look' : after
    return poolerFailure(w.pooled, outgoing, incoming, fresh, cfg.minNewConnections, when)
  }
  if (remaining > 0)
    return `"${outgoing}" still has ${describeSessions(w.sessions, outgoing)} sessions ${after}${await unpooledHint(deps, outgoing)}`
  return `"${incoming}" has ${fresh} sessions, fewer than min-new-connections (${cfg.minNewConnections}), ${after}`
}

/** One warning line per remaining pooler client count and session group of the outgoing login. */
function warnRemaining(deps: PhaseDeps, w: DrainWatch): void {
  const outgoing = w.outgoing
  if (w.pooled)
    for (const v of w.pooled.views)
      if ((v.clients[outgoing] ?? 0) > 0)
        deps.reporter.warning(
          `remaining: ${v.clients[outgoing]} client(s) of "${outgoing}" logged in to pooler ${v.label}`,
        )
  for (const s of w.sessions.filter((x) => x.login === outgoing)) {
    const server = s.server && s.server !== 'primary' ? ` on replica ${oneLine(s.server)}` : ''
    const database = s.database === null ? '(none)' : oneLine(s.database)
    deps.reporter.warning(
      `remaining: ${s.count} session(s) of "${s.login}" on database ${database}${server} from ${oneLine(s.clientAddr ?? 'local socket')} (application_name '${oneLine(s.applicationName)}')`,
    )
  }
}

/** The outgoing login's remaining connections, the incoming one's, and whether a pooler could not be read. */
function counts(
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
  let delay = 250
  for (;;) {
    try {
      await deps.session.renew()
      return
    } catch (e) {
      if (deps.now().getTime() + delay >= deadline) throw e
      deps.reporter.info(`Reconnect failed (${oneLine((e as Error).message)}); retrying in ${formatDuration(delay)}.`)
      await deps.sleep(delay)
      delay = Math.min(delay * 2, 5000)
    }
  }
}
