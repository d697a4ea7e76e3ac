import { applyInTransaction } from '../apply.js'
import type { Config } from '../config.js'
import { sessionCount, type SessionGroup } from '../family.js'
import { readSessions } from '../observe.js'
import { planClose } from '../plan.js'
import type { PhaseResult } from '../result.js'
import { TERMINATE_SESSIONS } from '../statements.js'
import { finish, planContext, type PhaseDeps } from './common.js'
import { otherLogin } from '../state.js'

/**
 * Disables the outgoing login (NOLOGIN and a password nobody keeps). Refuses
 * while it has sessions (on the primary or any replica) unless terminate or
 * force; with terminate, its sessions are ended after the commit, when they can
 * no longer log back in.
 */
export async function closePhase(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const watched = [cfg.role, ...cfg.logins]
  const onReplicas = deps.replicas.count ? await deps.replicas.sessions(watched) : []
  const applied = await applyInTransaction(
    deps.session,
    cfg,
    deps.reporter,
    (obs) => planClose({ ...obs, sessions: [...obs.sessions, ...onReplicas] }, cfg, planContext(deps)),
    { terminate: cfg.terminate },
  )
  const { plan, before } = applied
  if (plan.noop) {
    const last = plan.state.lastClosed!
    return finish(cfg, deps, { username: plan.state.active, previousUsername: last.previous ?? otherLogin(plan.state, last.active), rotationId: last.id, state: 'idle', remainingConnections: 0 }, [], [`Nothing to do: ${plan.noop}.`])
  }
  const outgoing = before.state.kind === 'ok' ? before.state.state.active : ''
  const notes = [...plan.notes]
  if (cfg.terminate && sessionCount([...before.sessions, ...onReplicas], outgoing) > 0) {
    notes.push(`Signalled ${await terminateEverywhere(outgoing, deps)} sessions of "${outgoing}" to terminate.`)
    await waitGone(outgoing, deps)
  }
  const remaining = sessionCount(await sessionsEverywhere([outgoing], deps), outgoing)
  const outputs = {
    username: plan.state.active,
    previousUsername: outgoing,
    rotationId: plan.state.lastClosed!.id,
    state: 'idle' as const,
    remainingConnections: remaining,
  }
  return finish(cfg, deps, outputs, applied.executed.map((s) => s.display), notes)
}

export async function sessionsEverywhere(logins: string[], deps: PhaseDeps): Promise<SessionGroup[]> {
  const primary = await readSessions(deps.session.client, logins)
  return deps.replicas.count ? [...primary, ...(await deps.replicas.sessions(logins))] : primary
}

export async function terminateEverywhere(login: string, deps: PhaseDeps): Promise<number> {
  const n: number = (await deps.session.client.query(TERMINATE_SESSIONS, [login])).rows[0].terminated
  return n + (deps.replicas.count ? await deps.replicas.terminate(login) : 0)
}

/** Terminated backends exit asynchronously: wait briefly until pg_stat_activity no longer lists them. */
export async function waitGone(login: string, deps: PhaseDeps, limitMs = 5000): Promise<void> {
  const end = deps.now().getTime() + limitMs
  while (deps.now().getTime() < end) {
    if (sessionCount(await sessionsEverywhere([login], deps), login) === 0) return
    await deps.sleep(50)
  }
}
