import type { Config } from '../inputs/config.js'
import { isConnectionLost } from '../postgres/db.js'
import { DatabaseError } from '../domain/errors.js'
import { formatDuration } from '../inputs/duration.js'
import { oneLine } from '../domain/escape.js'
import { describeSessions, sessionCount, type SessionGroup } from '../domain/family.js'
import { observe, readSessions } from '../postgres/observe.js'
import { missingPrivilege, planDrain } from '../domain/plan.js'
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
  const { reporter } = deps
  const obs = await observe(deps.session.client, { group: cfg.role, logins: cfg.logins })
  const target = planDrain(obs, cfg)
  if (target.kind === 'noop') {
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
  const { outgoing, incoming } = target
  const missing = cfg.terminateAfterMs !== null ? missingPrivilege(obs, cfg.role, [], true) : null
  if (missing) {
    throw new DatabaseError(
      `The admin role lacks ${missing.privilege}, which terminate-after needs; nothing was changed.`,
      `Grant it (as a superuser or a role that may): ${missing.grant};`,
      '42501',
    )
  }
  const start = deps.now().getTime()
  const deadline = start + cfg.timeoutMs
  let sessions: SessionGroup[] = []
  let pooled: DrainJudgement | null = null
  let refusal: string | null = null
  let polls = 0
  let terminated = 0
  const notes: string[] = []
  const where = deps.replicas.count ? ` on the primary and ${deps.replicas.count} replica(s)` : ''
  reporter.info(
    `Waiting up to ${formatDuration(cfg.timeoutMs)} for "${outgoing}" to drain${where} (polling every ${formatDuration(cfg.intervalMs)})${cfg.minNewConnections ? ` and for "${incoming}" to reach ${cfg.minNewConnections} sessions` : ''}.`,
  )
  for (;;) {
    try {
      await deps.session.client.query(CLEAR_STATS_SNAPSHOT)
      sessions = await readSessions(deps.session.client, [outgoing, incoming])
      if (deps.replicas.count) sessions.push(...(await deps.replicas.sessions([outgoing, incoming])))
      pooled = deps.poolers.count ? await pooledCounts(deps, outgoing, incoming) : null
    } catch (e) {
      if (!isConnectionLost(e) || deps.now().getTime() >= deadline) throw e
      reporter.warning(`Lost a connection while polling (${oneLine((e as Error).message)}); reconnecting.`)
      await reconnectUntil(deps, deadline)
      continue
    }
    polls++
    const { old, fresh, blocked } = counts(sessions, pooled, outgoing, incoming)
    const elapsed = deps.now().getTime() - start
    reporter.info(
      `poll ${polls} at ${formatDuration(elapsed)}: "${outgoing}" ${describeSessions(sessions, outgoing)}, "${incoming}" ${describeSessions(sessions, incoming)}${pooled ? `; ${describePoolers(pooled.views, [outgoing, incoming])}` : ''}`,
    )
    if (old === 0 && fresh >= cfg.minNewConnections && !blocked) break
    // A pooler that cannot be read at the first look is misconfigured (URI, password, stats_users): fail now.
    if (polls === 1 && blocked) break
    const terminating = old > 0 && cfg.terminateAfterMs !== null && elapsed >= cfg.terminateAfterMs
    if (terminating) {
      refusal = pooled ? await pooledTermination(deps, outgoing) : null
      if (refusal) break
      const n = await terminateEverywhere(outgoing, deps)
      terminated += n
      reporter.warning(
        `terminate-after (${formatDuration(cfg.terminateAfterMs!)}) reached: signalled ${n} sessions of "${outgoing}" to terminate.`,
      )
    }
    const now = deps.now().getTime()
    if (now >= deadline) break
    // After signalling terminations, look again soon to confirm they are gone.
    await deps.sleep(Math.min(terminating ? Math.min(cfg.intervalMs, 200) : cfg.intervalMs, deadline - now))
  }

  const { old: remaining, fresh, blocked } = counts(sessions, pooled, outgoing, incoming)
  const drained = remaining === 0 && fresh >= cfg.minNewConnections && !blocked && !refusal
  if (terminated)
    notes.push(`Terminated ${terminated} sessions of "${outgoing}" after ${formatDuration(cfg.terminateAfterMs!)}.`)
  let failure: string | undefined
  if (!drained) {
    const why = refusal
      ? `terminate-after was reached, but ${refusal}`
      : pooled
        ? poolerFailure(
            pooled,
            outgoing,
            incoming,
            fresh,
            cfg.minNewConnections,
            polls === 1 && blocked ? 'at the first look' : `after ${formatDuration(cfg.timeoutMs)}`,
          )
        : remaining > 0
          ? `"${outgoing}" still has ${describeSessions(sessions, outgoing)} sessions after ${formatDuration(cfg.timeoutMs)}${await unpooledHint(deps, outgoing)}`
          : `"${incoming}" has ${fresh} sessions, fewer than min-new-connections (${cfg.minNewConnections}), after ${formatDuration(cfg.timeoutMs)}`
    failure = `Not drained: ${why}. The rotation stays open. Check that every deploy uses the new credentials, then run verify-drain again, close with terminate: true, or abort.`
    if (pooled)
      for (const v of pooled.views)
        if ((v.clients[outgoing] ?? 0) > 0)
          reporter.warning(
            `remaining: ${v.clients[outgoing]} client(s) of "${outgoing}" logged in to pooler ${v.label}`,
          )
    for (const s of sessions.filter((x) => x.login === outgoing)) {
      const server = s.server && s.server !== 'primary' ? ` on replica ${oneLine(s.server)}` : ''
      const database = s.database === null ? '(none)' : oneLine(s.database)
      reporter.warning(
        `remaining: ${s.count} session(s) of "${s.login}" on database ${database}${server} from ${oneLine(s.clientAddr ?? 'local socket')} (application_name '${oneLine(s.applicationName)}')`,
      )
    }
  } else {
    notes.push(`Drained after ${formatDuration(deps.now().getTime() - start)} (${polls} polls).`)
  }
  return finish(
    cfg,
    deps,
    {
      previousUsername: outgoing,
      rotationId: target.rotationId,
      state: 'open',
      remainingConnections: remaining,
      drained,
    },
    [],
    notes,
    failure,
    pooled ? { poolers: pooled.views } : {},
  )
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
