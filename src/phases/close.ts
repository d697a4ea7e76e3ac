import { applyInTransaction, type Applied } from '../postgres/apply.js'
import { sealedInput, type Config, type GitHubWriteBack } from '../inputs/config.js'
import { sessionCount, type SessionGroup } from '../domain/family.js'
import { DatabaseError, InputError, PartialFailure, wasCommitted } from '../domain/errors.js'
import type { Observation } from '../domain/family.js'
import { unsealCredentials, type Credentials } from '../crypto/seal.js'
import { UNDER_LOCK, writeBack } from '../github/writeback.js'
import { recordWriteBack } from '../postgres/writeback-record.js'
import { checkLogin } from '../phase-support/login-check.js'
import { planClose, type ClosePlan, type ClosedState, type NoopPlan } from '../domain/plan.js'
import type { PhaseResult } from '../domain/result.js'
import { afterCommit } from '../phase-support/after-commit.js'
import { ReplicaLagError, waitForReplicas } from '../phase-support/replicas-wait.js'
import { resultWithFamily, planContext, type PhaseDeps } from '../phase-support/deps.js'
import { sessionsEverywhere, terminateEverywhere, waitGone } from '../phase-support/sessions.js'
import { otherLogin, type OpenRotation } from '../domain/state.js'
import {
  endPooled,
  killPooledClients,
  lookThroughPoolers,
  recheckPoolerClients,
  type PoolerLook,
  remainingThroughPoolers,
  seenThroughPoolers,
} from '../phase-support/poolers-close.js'

/**
 * Disables the outgoing login (NOLOGIN and a password nobody keeps). Refuses
 * while it has sessions (on the primary or any replica) unless terminate or
 * force; with terminate, its sessions are ended after the commit, when they can
 * no longer log back in.
 */
export async function closePhase(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const watched = [cfg.group, ...cfg.logins]
  const progress: WriteBackProgress = { written: [], afterWrite: '' }
  const onReplicas = deps.replicas.count ? await deps.replicas.sessions(watched) : []
  const look = await lookThroughPoolers(deps, watched, cfg.terminate)
  const applied = await applyClose(cfg, deps, onReplicas, look, progress)
  const { plan, before } = applied
  if (plan.kind === 'noop') return alreadyClosed(cfg, deps, plan)
  const outgoing = before.state.kind === 'ok' ? before.state.state.active : ''
  const committed = `"${outgoing}" was disabled and rotation ${plan.state.lastClosed.id} closed`
  return afterCommit(committed, async () => {
    const notes = [...plan.notes]
    for (const n of plan.notes) deps.reporter.info(n)
    // Before its sessions are counted and ended there: every replica has replayed the NOLOGIN.
    notes.push(...(await waitForReplicas(cfg, deps, closeNext(cfg, outgoing))))
    notes.push(...(await endOutgoing(cfg, deps, outgoing, look, [...before.sessions, ...onReplicas])))
    const outputs = {
      username: plan.state.active,
      previousUsername: outgoing,
      rotationId: plan.state.lastClosed.id,
      state: 'idle' as const,
      remainingConnections: await remainingConnections(deps, outgoing, look),
    }
    if (progress.written.length)
      notes.push(
        `GitHub secrets ${progress.written.join(', ')} hold the credentials of "${plan.state.active}" (written before "${outgoing}" was disabled).`,
      )
    return resultWithFamily(
      cfg,
      deps,
      outputs,
      applied.executed.map((s) => s.display),
      notes,
    )
  })
}

/** The close transaction: the plan sees replica sessions and pooler clients; the GitHub write-back runs under its lock. */
async function applyClose(
  cfg: Config,
  deps: PhaseDeps,
  onReplicas: SessionGroup[],
  look: PoolerLook | null,
  progress: WriteBackProgress,
): Promise<Applied<ClosePlan>> {
  const github = cfg.github
  try {
    return await applyInTransaction(
      deps.session,
      cfg,
      deps.reporter,
      (obs) =>
        planClose(
          seenThroughPoolers(
            { ...obs, sessions: [...obs.sessions, ...onReplicas] },
            look,
            obs.state.kind === 'ok' ? obs.state.state.active : null,
            cfg.terminate,
          ),
          cfg,
          planContext(deps),
        ),
      {
        // With poolers, close ends the old login's idle pooled server connections: that needs pg_signal_backend too.
        terminate: cfg.terminate || look !== null,
        // With the family locked, so no abort or other phase can slip in between the write and the close.
        beforeChanges:
          github || look
            ? async (obs) => {
                if (look) await recheckPoolerClients(deps, obs, cfg)
                if (github) await writeBackBeforeClose(cfg, github, deps, obs, progress)
              }
            : undefined,
        durable: () => (progress.written.length ? progress.afterWrite : null),
      },
    )
  } catch (e) {
    // A failure after the secrets were written must say so, whatever failed.
    if (progress.written.length && !wasCommitted(e))
      throw new PartialFailure(`${(e as Error).message} Meanwhile ${progress.afterWrite}.`)
    throw e
  }
}

/** What to do when a replica did not replay close's commit in time. */
function closeNext(cfg: Config, outgoing: string): string {
  const sessions = cfg.terminate ? ` and its sessions there were not ended` : ''
  const again = cfg.terminate ? ` and ends "${outgoing}"'s sessions there` : ''
  return `Until it replays the commit, "${outgoing}" still logs in on that replica${sessions}. Run close again with the same rotation-id: it waits for the replicas again${again}.`
}

/**
 * A re-run with the rotation-id close already finished: report the rotation it
 * closed, once every replica has replayed it (with terminate, ending the old
 * login's sessions there: what a close that timed out waiting left undone).
 */
async function alreadyClosed(cfg: Config, deps: PhaseDeps, plan: NoopPlan<ClosedState>): Promise<PhaseResult> {
  const last = plan.state.lastClosed
  const previous = last.previous ?? otherLogin(plan.state, last.active)
  const notes = [`Nothing to do: ${plan.reason}.`]
  if (deps.replicas.count) {
    try {
      notes.push(...(await waitForReplicas(cfg, deps, closeNext(cfg, previous))))
    } catch (e) {
      if (!(e instanceof ReplicaLagError)) throw e
      throw new PartialFailure(
        `Rotation ${last.id} was closed earlier ("${previous}" is disabled on the primary), but ${e.message}`,
      )
    }
    if (cfg.terminate && previous && sessionCount(await deps.replicas.sessions([previous]), previous) > 0) {
      notes.push(
        `Signalled ${await deps.replicas.terminate(previous)} sessions of "${previous}" on replicas to terminate.`,
      )
      await waitGone(previous, deps)
    }
  }
  return resultWithFamily(
    cfg,
    deps,
    {
      username: plan.state.active,
      previousUsername: previous,
      rotationId: last.id,
      state: 'idle',
      remainingConnections: 0,
    },
    [],
    notes,
  )
}

/**
 * After the commit, when the outgoing login can no longer log back in: with
 * terminate, its pooler clients first (KILL_CLIENT), then its server sessions;
 * always its idle pooled server connections. Returns notes for the summary.
 */
async function endOutgoing(
  cfg: Config,
  deps: PhaseDeps,
  outgoing: string,
  look: PoolerLook | null,
  seen: SessionGroup[],
): Promise<string[]> {
  const notes: string[] = []
  if (look && cfg.terminate) notes.push(...(await killPooledClients(deps, outgoing)))
  if (cfg.terminate && sessionCount(seen, outgoing) > 0) {
    notes.push(`Signalled ${await terminateEverywhere(outgoing, deps)} sessions of "${outgoing}" to terminate.`)
    await waitGone(outgoing, deps)
  }
  notes.push(...(await endPooled(deps, outgoing)))
  return notes
}

/** With poolers, the primary's connections count as the poolers see them; replica sessions count as they are. */
async function remainingConnections(deps: PhaseDeps, outgoing: string, look: PoolerLook | null): Promise<number> {
  if (!look) return sessionCount(await sessionsEverywhere([outgoing], deps), outgoing)
  return (
    (await remainingThroughPoolers(deps, outgoing)) +
    sessionCount(
      (await sessionsEverywhere([outgoing], deps)).filter((s) => s.server && s.server !== 'primary'),
      outgoing,
    )
  )
}

interface WriteBackProgress {
  /** Secret names GitHub confirmed. */
  written: string[]
  /** What is true once they are written and the close then fails, for messages. */
  afterWrite: string
}

/**
 * Before the old login is disabled (inside close's transaction, with the family
 * locked), the secret store gets the new credentials: unsealed from open's
 * sealed-credentials, checked to belong to the open rotation's incoming login
 * and to log in, then written. If any of that fails, the transaction rolls back
 * and the old login stays enabled, so the secret store never holds a credential
 * that cannot log in. (The new credentials log in whether or not the close then
 * commits.) The write is recorded in the state by separate autocommit statements
 * (pending before it, confirmed after), so a close that then fails leaves a record
 * that makes abort refuse to disable the login GitHub now names.
 */
async function writeBackBeforeClose(
  cfg: Config,
  github: GitHubWriteBack,
  deps: PhaseDeps,
  obs: Observation,
  progress: WriteBackProgress,
): Promise<void> {
  const state = obs.state.kind === 'ok' ? obs.state.state : null
  const rotation = state?.rotation
  if (!state || !rotation) return
  const creds = await credentialsToWrite(cfg, deps, state.active, rotation)
  const names = github.secrets.map((m) => m.name)
  const record = (secrets: string[], pending: boolean) => ({
    login: creds.username,
    rotationId: rotation.id,
    secrets,
    at: deps.now().toISOString(),
    ...(pending ? { pending } : {}),
  })
  try {
    await recordWriteBack(deps.session, cfg.group, rotation.id, record(names, true))
  } catch (e) {
    throw new DatabaseError(
      `Could not record the coming GitHub write in the state comment (${(e as Error).message}), so nothing was written to GitHub and nothing was changed.`,
      'Run close again.',
    )
  }
  try {
    progress.written = await writeBack(cfg, creds, deps, UNDER_LOCK)
  } catch (e) {
    throw await failedWrite(cfg, deps, e, state.active, rotation.id, creds.username)
  }
  progress.afterWrite = `GitHub secrets ${progress.written.join(', ')} now hold the credentials of "${creds.username}" (recorded in the state comment); "${state.active}" is still enabled and rotation ${rotation.id} is still open. Run close again; abort refuses to disable "${creds.username}" unless force: true`
  await recordWriteBack(deps.session, cfg.group, rotation.id, record(progress.written, false)).catch((e) =>
    deps.reporter.warning(
      `The GitHub write is recorded as pending only (confirming it failed: ${(e as Error).message}).`,
    ),
  )
}

/** open's sealed credentials, masked, checked to be this rotation's incoming login and to log in. */
async function credentialsToWrite(
  cfg: Config,
  deps: PhaseDeps,
  active: string,
  rotation: OpenRotation,
): Promise<Credentials> {
  const { sealed, key } = sealedInput(cfg)
  const { creds } = unsealCredentials(sealed, key, {
    family: cfg.group,
    rotationId: rotation.id,
  })
  deps.reporter.secret(creds.password)
  deps.reporter.secret(creds.databaseUrl)
  if (creds.username !== rotation.incoming) {
    throw new InputError(
      'sealed-credentials',
      `holds credentials of "${creds.username}", but rotation ${rotation.id} hands out "${rotation.incoming}"; pass the sealed-credentials output of this rotation's open`,
    )
  }
  const problem = await checkLogin(cfg, creds.username, creds.password)
  if (problem) {
    throw new DatabaseError(
      `${problem} The sealed credentials no longer log in (was open re-run and the password re-issued?), so they are not written to GitHub and "${active}" stays enabled.`,
      'Pass the sealed-credentials output of the latest open of this rotation.',
    )
  }
  return creds
}

/**
 * The error for a GitHub write that failed. When GitHub answered with a refusal
 * before writing anything, the pending record is cleared: nothing changed. Otherwise
 * (some secrets written, or no answer) the record stays and the message says so.
 */
async function failedWrite(
  cfg: Config,
  deps: PhaseDeps,
  e: unknown,
  active: string,
  rotationId: string,
  incoming: string,
): Promise<Error> {
  const err = e as Error & { written?: string[]; status?: number }
  const partial = err.written ?? []
  if (partial.length === 0 && err.status !== undefined && err.status < 500) {
    const cleared = await recordWriteBack(deps.session, cfg.group, rotationId, null).then(
      () => true,
      () => false,
    )
    if (cleared)
      return new Error(
        `${err.message} Nothing was closed: the old login stays enabled, so the secrets GitHub holds still log in. Fix the token or permissions and run close again.`,
      )
  }
  const what = partial.length
    ? `GitHub secrets ${partial.join(', ')} now hold the credentials of "${incoming}"; the others were not written`
    : `GitHub may hold the credentials of "${incoming}" (no answer from GitHub)`
  return new PartialFailure(
    `${err.message} ${what}. The close was not applied: "${active}" is still enabled and rotation ${rotationId} is still open; the write is recorded in the state comment, so abort refuses to disable "${incoming}" unless force: true. Fix GitHub access and run close again.`,
  )
}
