import type { Config } from '../config.js'
import { close, isConnectionLost, type Client } from '../db.js'
import { formatDuration } from '../duration.js'
import { describeSessions, sessionCount, type SessionGroup } from '../family.js'
import { observe, readSessions } from '../observe.js'
import { planDrain } from '../plan.js'
import type { PhaseResult } from '../result.js'
import { CLEAR_STATS_SNAPSHOT, TERMINATE_SESSIONS } from '../statements.js'
import { finish, type PhaseDeps } from './common.js'

/**
 * Polls pg_stat_activity (every database) until the outgoing login has no
 * sessions (and the incoming one has min-new-connections), or the timeout.
 * Each poll is its own statement outside any transaction, so it sees fresh
 * activity. Reconnects if the server restarts while waiting.
 */
export async function verifyDrain(first: Client, cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const { reporter } = deps
  const target = planDrain(await observe(first, { group: cfg.role, logins: cfg.logins }), cfg)
  if (target.kind === 'noop') {
    const last = target.state.lastClosed!
    return finish(first, cfg, { previousUsername: target.state.logins.find((l) => l !== last.active), rotationId: last.id, state: 'idle', remainingConnections: 0, drained: true }, [], [`Nothing to do: ${target.reason}.`])
  }
  const { outgoing, incoming } = target
  const start = deps.now().getTime()
  const deadline = start + cfg.timeoutMs
  let client = first
  let sessions: SessionGroup[] = []
  let polls = 0
  let terminated = 0
  const notes: string[] = []
  reporter.info(`Waiting up to ${formatDuration(cfg.timeoutMs)} for "${outgoing}" to drain (polling every ${formatDuration(cfg.intervalMs)})${cfg.minNewConnections ? ` and for "${incoming}" to reach ${cfg.minNewConnections} sessions` : ''}.`)
  for (;;) {
    try {
      await client.query(CLEAR_STATS_SNAPSHOT)
      sessions = await readSessions(client, [outgoing, incoming])
    } catch (e) {
      if (!isConnectionLost(e) || deps.now().getTime() >= deadline) throw e
      reporter.warning(`Lost the connection while polling (${(e as Error).message}); reconnecting.`)
      await close(client)
      client = await reconnectUntil(deps, deadline)
      continue
    }
    polls++
    const old = sessionCount(sessions, outgoing)
    const fresh = sessionCount(sessions, incoming)
    const elapsed = deps.now().getTime() - start
    reporter.info(`poll ${polls} at ${formatDuration(elapsed)}: "${outgoing}" ${describeSessions(sessions, outgoing)}, "${incoming}" ${describeSessions(sessions, incoming)}`)
    if (old === 0 && fresh >= cfg.minNewConnections) break
    if (old > 0 && cfg.terminateAfterMs !== null && elapsed >= cfg.terminateAfterMs) {
      const n: number = (await client.query(TERMINATE_SESSIONS, [outgoing])).rows[0].terminated
      terminated += n
      reporter.warning(`terminate-after (${formatDuration(cfg.terminateAfterMs)}) reached: signalled ${n} sessions of "${outgoing}" to terminate.`)
    }
    const now = deps.now().getTime()
    if (now >= deadline) break
    // After signalling terminations, look again soon to confirm they are gone.
    const wait = old > 0 && cfg.terminateAfterMs !== null && elapsed >= cfg.terminateAfterMs ? Math.min(cfg.intervalMs, 200) : cfg.intervalMs
    await deps.sleep(Math.min(wait, deadline - now))
  }

  const remaining = sessionCount(sessions, outgoing)
  const fresh = sessionCount(sessions, incoming)
  const drained = remaining === 0 && fresh >= cfg.minNewConnections
  if (terminated) notes.push(`Terminated ${terminated} sessions of "${outgoing}" after ${formatDuration(cfg.terminateAfterMs!)}.`)
  let failure: string | undefined
  if (!drained) {
    const why = remaining > 0
      ? `"${outgoing}" still has ${describeSessions(sessions, outgoing)} sessions after ${formatDuration(cfg.timeoutMs)}`
      : `"${incoming}" has ${fresh} sessions, fewer than min-new-connections (${cfg.minNewConnections}), after ${formatDuration(cfg.timeoutMs)}`
    failure = `Not drained: ${why}. The rotation stays open. Check that every deploy uses the new credentials, then run verify-drain again, or close with terminate: true.`
    for (const s of sessions.filter((x) => x.login === outgoing)) {
      reporter.warning(`remaining: ${s.count} session(s) of "${s.login}" on database ${s.database ?? '(none)'} from ${s.clientAddr ?? 'local socket'} (application_name '${s.applicationName}')`)
    }
  } else {
    notes.push(`Drained after ${formatDuration(deps.now().getTime() - start)} (${polls} polls).`)
  }
  const result = await finish(client, cfg, { previousUsername: outgoing, rotationId: target.rotationId, state: 'open', remainingConnections: remaining, drained }, [], notes, failure)
  if (client !== first) await close(client)
  return result
}

async function reconnectUntil(deps: PhaseDeps, deadline: number): Promise<Client> {
  let delay = 250
  for (;;) {
    try {
      return await deps.reconnect()
    } catch (e) {
      if (deps.now().getTime() + delay >= deadline) throw e
      deps.reporter.info(`Reconnect failed (${(e as Error).message}); retrying in ${formatDuration(delay)}.`)
      await deps.sleep(delay)
      delay = Math.min(delay * 2, 5000)
    }
  }
}
