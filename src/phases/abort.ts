import { applyInTransaction, type ApplyOptions } from '../postgres/apply.js'
import type { Config } from '../inputs/config.js'
import { checkAbortInUse, planAbort } from '../domain/plan.js'
import type { PhaseResult } from '../domain/result.js'
import { loginsNow, type FamilyState } from '../domain/state.js'
import { afterCommit } from '../phase-support/after-commit.js'
import { ReplicaLagError, waitForReplicas } from '../phase-support/replicas-wait.js'
import { PartialFailure } from '../domain/errors.js'
import { resultWithFamily, planContext, type PhaseDeps } from '../phase-support/deps.js'
import { endPooled, lookThroughPoolers, requireKillRights } from '../phase-support/poolers-close.js'
import {
  describeLoginSessions,
  endLoginEverywhere,
  readLoginSessions,
  type LoginSession,
  type LoginSessions,
} from '../phase-support/login-sessions.js'
import { CHECK_GONE_MS, OPEN_CHECK_APP } from '../phase-support/login-check.js'
import { requireReadable } from '../postgres/pooled.js'
import { CLEAR_STATS_SNAPSHOT } from '../postgres/statements.js'

/**
 * The incoming login's sessions, read with the family locked. open's login check (its own short
 * session, OPEN_CHECK_APP) may still be connected when an abort follows at once or runs at the
 * same moment; open waits for it to leave, and so does abort: while every session it sees is
 * such a check, it looks again, for at most CHECK_GONE_MS. A session that stays is judged like
 * any other (an application that happens to use that name still stops the abort).
 */
async function sessionsWithoutOpenCheck(deps: PhaseDeps, incoming: string): Promise<LoginSessions> {
  const until = deps.now().getTime() + CHECK_GONE_MS
  for (;;) {
    await deps.session.client.query(CLEAR_STATS_SNAPSHOT)
    const now = await readLoginSessions(deps, [incoming])
    const onlyChecks = now.sessions.length > 0 && now.sessions.every((s) => s.applicationName === OPEN_CHECK_APP)
    if (!onlyChecks || deps.now().getTime() >= until) return now
    await deps.sleep(50)
  }
}

/** The incoming login's own session holding the family's lock is in use: ended only with force and terminate. */
function incomingLockHolder(cfg: Config): ApplyOptions['lockHolder'] {
  return {
    login: (obs) => (obs.state.kind === 'ok' ? (obs.state.state.rotation?.incoming ?? null) : null),
    end: cfg.terminate && cfg.force,
    remedy: 'Run abort with force: true and terminate: true (the login is in use)',
  }
}

/**
 * Cancels an open rotation (what a workflow runs after a failed or cancelled
 * deploy). Safe in any state: with no rotation open it does nothing and says so.
 * It never strands a deploy: while the incoming login has sessions anywhere
 * (primary, replicas, pooler clients) it refuses, changing nothing, unless
 * force. With terminate, also ends the incoming login's sessions.
 */
export async function abort(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  // With pgbouncer-urls, every pooler must answer before anything changes.
  const look = await lookThroughPoolers(deps, cfg.logins, cfg.terminate)
  const inUse: { notes: string[]; seen: LoginSession[] } = { notes: [], seen: [] }
  const applied = await applyInTransaction(
    deps.session,
    cfg,
    deps.reporter,
    (obs) => {
      const plan = planAbort(obs, cfg, planContext(deps))
      if (plan.kind === 'change' && cfg.terminate) requireKillRights(look, plan.state.lastAborted.login, obs)
      return plan
    },
    {
      terminate: cfg.terminate,
      lockHolder: incomingLockHolder(cfg),
      // With the family locked, just before the change: who uses the incoming login now.
      beforeChanges: async (obs) => {
        if (obs.state.kind !== 'ok' || !obs.state.state.rotation) return
        const now = await sessionsWithoutOpenCheck(deps, obs.state.state.rotation.incoming)
        requireReadable(now.readings)
        inUse.seen = now.sessions
        inUse.notes = checkAbortInUse(now.sessions, obs.state.state, cfg)
      },
    },
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
    const notes = [...applied.notes, ...plan.notes, ...inUse.notes]
    // Before its sessions are read again and ended there: every replica has replayed the NOLOGIN.
    notes.push(...(await waitForReplicas(cfg, deps, abortNext(aborted))))
    notes.push(...(await incomingGone(cfg, deps, aborted, plan.state.active, inUse.seen)))
    return resultWithFamily(
      cfg,
      deps,
      { username: plan.state.active, previousUsername: aborted, rotationId: plan.state.lastAborted.id, state: 'idle' },
      applied.executed.map((s) => s.display),
      notes,
    )
  })
}

/**
 * abort's postcondition, after its commit (and after the replicas replayed it):
 * the aborted login's sessions are read again. With terminate, every one is
 * ended; what cannot be (a pooler without KILL_CLIENT) is named. Without it, a
 * session that logged in after abort's check (so no force: true covered it) is
 * a deploy that connected meanwhile: abort fails after its commit, naming it.
 */
export async function incomingGone(
  cfg: Config,
  deps: PhaseDeps,
  aborted: string,
  active: string,
  seen: LoginSession[],
): Promise<string[]> {
  const notes: string[] = []
  if (cfg.terminate) {
    const { ended, left, refusals } = await endLoginEverywhere(deps, aborted)
    const clients = ended.filter((x) => x.where.startsWith('pooler ')).length
    if (clients) notes.push(`Ended ${clients} pooler client(s) of "${aborted}" with KILL_CLIENT.`)
    if (ended.length > clients) notes.push(`Signalled ${ended.length - clients} sessions of "${aborted}" to terminate.`)
    if (left.sessions.length)
      notes.push(
        `Not ended: ${describeLoginSessions(left.sessions)}${refusals.length ? ` (${refusals.join('; ')})` : ''}; they fail at their next transaction that needs a new server connection.`,
      )
    notes.push(...(await endPooled(deps, aborted)))
    return notes
  }
  notes.push(...(await endPooled(deps, aborted)))
  const known = new Set(seen.map((s) => s.key))
  const appeared = (await readLoginSessions(deps, [aborted])).sessions.filter((s) => !known.has(s.key))
  if (appeared.length)
    throw new Error(
      `"${aborted}" has ${appeared.length} session(s) that logged in while abort ran: ${describeLoginSessions(appeared)}. A deploy may be using the credentials abort just disabled: they keep working until they disconnect, and cannot log in again. Move the application back to the credentials of "${active}".`,
    )
  return notes
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
