import { applyInTransaction } from '../apply.js'
import type { Config } from '../config.js'
import type { Client } from '../db.js'
import { sessionCount } from '../family.js'
import { readSessions } from '../observe.js'
import { planClose } from '../plan.js'
import type { PhaseResult } from '../result.js'
import { TERMINATE_SESSIONS } from '../statements.js'
import { finish, planContext, type PhaseDeps } from './common.js'

/**
 * Disables the outgoing login (NOLOGIN and a password nobody keeps). Refuses
 * while it has sessions unless terminate or force; with terminate, its sessions
 * are ended after the commit, when they can no longer log back in.
 */
export async function closePhase(client: Client, cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const applied = await applyInTransaction(client, cfg, deps.reporter, (obs) => planClose(obs, cfg, planContext(deps)))
  const { plan, before } = applied
  if (plan.noop) {
    const last = plan.state.lastClosed!
    return finish(client, cfg, { username: plan.state.active, previousUsername: plan.state.logins.find((l) => l !== last.active), rotationId: last.id, state: 'idle', remainingConnections: 0 }, [], [`Nothing to do: ${plan.noop}.`])
  }
  const outgoing = before.state.kind === 'ok' ? before.state.state.active : ''
  const notes = [...plan.notes]
  if (cfg.terminate && sessionCount(before.sessions, outgoing) > 0) {
    const { terminated } = (await client.query(TERMINATE_SESSIONS, [outgoing])).rows[0]
    notes.push(`Signalled ${terminated} sessions of "${outgoing}" to terminate.`)
    await waitGone(client, outgoing, deps)
  }
  const remaining = sessionCount(await readSessions(client, [outgoing]), outgoing)
  const outputs = {
    username: plan.state.active,
    previousUsername: outgoing,
    rotationId: plan.state.lastClosed!.id,
    state: 'idle' as const,
    remainingConnections: remaining,
  }
  return finish(client, cfg, outputs, applied.executed.map((s) => s.display), notes)
}

/** Terminated backends exit asynchronously: wait briefly until pg_stat_activity no longer lists them. */
export async function waitGone(client: Client, login: string, deps: PhaseDeps, limitMs = 5000): Promise<void> {
  const end = deps.now().getTime() + limitMs
  while (deps.now().getTime() < end) {
    if (sessionCount(await readSessions(client, [login]), login) === 0) return
    await deps.sleep(50)
  }
}
