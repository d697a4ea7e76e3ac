import { applyInTransaction } from '../postgres/apply.js'
import type { Config } from '../inputs/config.js'
import { sessionCount } from '../domain/family.js'
import { planAbort } from '../domain/plan.js'
import type { PhaseResult } from '../domain/result.js'
import { loginsNow, type FamilyState } from '../domain/state.js'
import { sessionsEverywhere, terminateEverywhere, waitGone } from '../phase-support/sessions.js'
import { afterCommit } from '../phase-support/after-commit.js'
import { ReplicaLagError, waitForReplicas } from '../phase-support/replicas-wait.js'
import { PartialFailure } from '../domain/errors.js'
import { resultWithFamily, planContext, type PhaseDeps } from '../phase-support/deps.js'
import { endPooled, lookThroughPoolers, requireKillRights } from '../phase-support/poolers-close.js'
import { killPoolerClients, killRefusal } from '../postgres/pooled.js'

/**
 * Cancels an open rotation (what a workflow runs with `if: failure()` after a
 * failed deploy). Safe in any state: with no rotation open it does nothing and
 * says so. With terminate, also ends the incoming login's sessions.
 */
export async function abort(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  // With pgbouncer-urls, every pooler must answer before anything changes.
  const look = await lookThroughPoolers(deps, cfg.logins, cfg.terminate)
  const applied = await applyInTransaction(
    deps.session,
    cfg,
    deps.reporter,
    (obs) => {
      const plan = planAbort(obs, cfg, planContext(deps))
      if (plan.kind === 'change' && cfg.terminate) requireKillRights(look, plan.state.lastAborted.login, obs)
      return plan
    },
    { terminate: cfg.terminate },
  )
  const { plan, before } = applied
  if (plan.kind === 'noop') {
    const notes = [
      `Nothing to do: ${plan.reason}.`,
      ...(await replayedEarlierAbort(cfg, deps, plan.state, plan.reason)),
    ]
    return resultWithFamily(
      cfg,
      deps,
      {
        ...(before.state.kind === 'ok' ? loginsNow(plan.state) : {}),
        state: plan.state.rotation ? 'open' : 'idle',
      },
      [],
      notes,
    )
  }
  const aborted = plan.state.lastAborted.login
  const committed = `"${aborted}" was disabled and rotation ${plan.state.lastAborted.id} aborted`
  return afterCommit(committed, async () => {
    const notes = [...plan.notes]
    // Before its sessions are counted and ended there: every replica has replayed the NOLOGIN.
    notes.push(...(await waitForReplicas(cfg, deps, abortNext(aborted))))
    if (cfg.terminate) {
      const sessions = sessionCount(await sessionsEverywhere([aborted], deps), aborted)
      if (sessions > 0) {
        notes.push(`Signalled ${await terminateEverywhere(aborted, deps)} sessions of "${aborted}" to terminate.`)
        await waitGone(aborted, deps)
      }
    }
    if (cfg.terminate) notes.push(...(await poolerClientsLeft(deps, aborted)))
    notes.push(...(await endPooled(deps, aborted)))
    return resultWithFamily(
      cfg,
      deps,
      { username: plan.state.active, previousUsername: aborted, rotationId: plan.state.lastAborted.id, state: 'idle' },
      applied.executed.map((s) => s.display),
      notes,
    )
  })
}

/** A re-run after an abort whose replay wait timed out: wait for the replicas again. */
async function replayedEarlierAbort(
  cfg: Config,
  deps: PhaseDeps,
  state: FamilyState,
  reason: string,
): Promise<string[]> {
  const last = state.lastAborted
  if (!deps.replicas.count || !last) return []
  try {
    return await waitForReplicas(cfg, deps, abortNext(last.login))
  } catch (e) {
    if (!(e instanceof ReplicaLagError)) throw e
    throw new PartialFailure(`Nothing to do: ${reason}. Rotation ${last.id} was aborted earlier, but ${e.message}`)
  }
}

/** What to do when a replica did not replay abort's commit in time. */
function abortNext(login: string): string {
  return `Until it replays the commit, "${login}" still logs in on that replica. Run abort again: it waits for the replicas again.`
}

/** abort with terminate ends the aborted login's pooler clients where KILL_CLIENT exists; elsewhere it says they remain. */
async function poolerClientsLeft(deps: PhaseDeps, login: string): Promise<string[]> {
  if (!deps.poolers.count) return []
  const readings = await deps.poolers.read()
  const refusal = killRefusal(readings, login)
  const killed = await killPoolerClients(deps, readings, login)
  const notes = killed ? [`Ended ${killed} pooler client(s) of "${login}" with KILL_CLIENT.`] : []
  if (refusal)
    notes.push(`Not ended: ${refusal}; they fail at their next transaction that needs a new server connection.`)
  return notes
}
