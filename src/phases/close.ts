import { applyInTransaction, type Applied } from '../postgres/apply.js'
import { sealedInput, type Config, type GitHubWriteBack } from '../inputs/config.js'
import type { SessionGroup } from '../domain/family.js'
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
import {
  describeLoginSessions,
  endLoginEverywhere,
  groupBackends,
  loginSessionsFrom,
  readLoginSessions,
  type LoginSessions,
} from '../phase-support/login-sessions.js'
import { readBackends } from '../postgres/pooled.js'
import { POOLER_INPUT } from '../postgres/poolers.js'
import { otherLogin, type FamilyState, type OpenRotation } from '../domain/state.js'
import { knownVerifier, readStoredSecrets, userlistOutput, type SealedCopy } from '../phase-support/userlist.js'
import {
  endPooled,
  lookThroughPoolers,
  recheckPoolerClients,
  type PoolerLook,
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
  const replicaBackends = deps.replicas.count ? await deps.replicas.backends(watched) : []
  const onReplicas = groupBackends(replicaBackends)
  const look = await lookThroughPoolers(deps, watched, cfg.terminate)
  // Who is connected before the close: a session not among these after the commit logged in during it.
  const start = loginSessionsFrom(
    watched,
    look?.backends ?? (await readBackends(deps.session.client, watched)),
    look?.readings ?? [],
    replicaBackends,
  )
  const applied = await applyClose(cfg, deps, onReplicas, look, progress)
  const { plan, before } = applied
  if (plan.kind === 'noop') return alreadyClosed(cfg, deps, plan, before)
  const outgoing = before.state.kind === 'ok' ? before.state.state.active : ''
  const written = progress.written.length
    ? `; GitHub secrets ${progress.written.join(', ')} hold the credentials of "${plan.state.active}"`
    : ''
  const committed = `"${outgoing}" was disabled and rotation ${plan.state.lastClosed.id} closed${written}`
  return afterCommit(committed, async () => {
    const previousState = before.state.kind === 'ok' ? before.state.state : null
    const list = await activeUserlist(cfg, deps, plan.state.active, previousState)
    const notes = [...applied.notes, ...plan.notes, list.note]
    for (const n of notes) deps.reporter.info(n)
    // Before its sessions are read again and ended there: every replica has replayed the NOLOGIN.
    notes.push(...(await waitForReplicas(cfg, deps, closeNext(cfg, outgoing))))
    const gone = await outgoingGone(cfg, deps, outgoing, plan.state.lastClosed.id, start)
    notes.push(...gone.notes)
    const outputs = {
      username: plan.state.active,
      pgbouncerUserlist: list.userlist,
      previousUsername: outgoing,
      rotationId: plan.state.lastClosed.id,
      state: 'idle' as const,
      remainingConnections: gone.remaining,
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

/**
 * close's postcondition, after its commit (and after the replicas replayed it):
 * the outgoing login's sessions are read again everywhere the application
 * reaches, since a session can log in while close's transaction runs. With
 * terminate, every one is ended (those that logged in during the close too);
 * without, one that was not there when close began makes close fail, saying
 * what was committed, which sessions remain and how to end them. Sessions that
 * force: true accepted stay, and are the remaining connections.
 */
export async function outgoingGone(
  cfg: Config,
  deps: PhaseDeps,
  outgoing: string,
  rotationId: string,
  start: LoginSessions,
): Promise<{ notes: string[]; remaining: number }> {
  const notes: string[] = []
  const rerun = `run close again with terminate: true and rotation-id: ${rotationId} to end them`
  if (cfg.terminate) {
    const { ended, left, refusals } = await endLoginEverywhere(deps, outgoing)
    const known = new Set(start.sessions.map((s) => s.key))
    const during = ended.filter((s) => !known.has(s.key)).length
    const clients = ended.filter((x) => x.where.startsWith('pooler ')).length
    if (clients) notes.push(`Ended ${clients} pooler client(s) of "${outgoing}" with KILL_CLIENT.`)
    if (ended.length > clients)
      notes.push(`Signalled ${ended.length - clients} sessions of "${outgoing}" to terminate.`)
    if (during) notes.push(`${during} of them logged in while close ran, after its first look.`)
    notes.push(...(await endPooled(deps, outgoing)))
    requireNoneLeft(outgoing, left, refusals, rerun)
    return { notes, remaining: 0 }
  }
  notes.push(...(await endPooled(deps, outgoing)))
  const now = await readLoginSessions(deps, [outgoing])
  const known = new Set(start.sessions.map((s) => s.key))
  const appeared = now.sessions.filter((s) => !known.has(s.key))
  if (appeared.length)
    throw new Error(
      `"${outgoing}" still has ${appeared.length} session(s) that logged in during the close: ${describeLoginSessions(appeared)}. They keep working until they disconnect (the login can no longer log in); ${rerun}.`,
    )
  if (now.unreadable.length) requireNoneLeft(outgoing, now, [], rerun)
  return { notes, remaining: now.sessions.length }
}

/** After the commit, what could not be ended (or read) fails the phase, naming it. */
function requireNoneLeft(outgoing: string, left: LoginSessions, refusals: string[], rerun: string): void {
  const parts: string[] = []
  if (left.sessions.length)
    parts.push(
      `${left.sessions.length} session(s) of "${outgoing}" could not be ended: ${describeLoginSessions(left.sessions)}${refusals.length ? ` (${refusals.join('; ')})` : ''}`,
    )
  if (left.unreadable.length)
    parts.push(
      `${POOLER_INPUT}: could not read ${left.unreadable.map((u) => `pooler ${u}`).join('; ')} after the commit, so its clients of "${outgoing}" are unknown`,
    )
  if (parts.length) throw new Error(`${parts.join('; ')}. Fix that, then ${rerun}.`)
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
        // The outgoing login's own session holding the family's lock: with terminate, ended like its others.
        lockHolder: {
          login: (obs) => (obs.state.kind === 'ok' && obs.state.state.rotation ? obs.state.state.active : null),
          end: cfg.terminate,
          remedy: 'Run close with terminate: true',
        },
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

/** A re-run after a close whose replay wait timed out: wait for the replicas again, before its sessions are read. */
async function replayedEarlierClose(
  cfg: Config,
  deps: PhaseDeps,
  rotationId: string,
  previous: string,
): Promise<string[]> {
  if (!deps.replicas.count) return []
  try {
    return await waitForReplicas(cfg, deps, closeNext(cfg, previous))
  } catch (e) {
    if (!(e instanceof ReplicaLagError)) throw e
    throw new PartialFailure(
      `Rotation ${rotationId} was closed earlier ("${previous}" is disabled on the primary), but ${e.message}`,
    )
  }
}

/**
 * pgbouncer-userlist after close: the active login's line only (the disabled one
 * is left out). Its verifier from pg_authid, else from the copy open sealed into
 * the state (or the state's copy after close), else from sealed-credentials.
 */
async function activeUserlist(
  cfg: Config,
  deps: PhaseDeps,
  active: string,
  state: FamilyState | null,
): Promise<{ userlist?: string; note: string }> {
  if (cfg.passwordEncryption === 'server') return userlistOutput(cfg, deps.reporter, [])
  const stored = await readStoredSecrets(deps.session.client, [active])
  const sealed: SealedCopy[] = []
  if (state?.rotation?.incoming === active && state.rotation.verifier)
    sealed.push({ kind: 'verifier', sealed: state.rotation.verifier })
  if (state?.activeVerifier?.login === active) sealed.push({ kind: 'verifier', sealed: state.activeVerifier.sealed })
  if (cfg.sealedCredentials) sealed.push({ kind: 'credentials', sealed: cfg.sealedCredentials })
  return userlistOutput(cfg, deps.reporter, [knownVerifier(cfg, active, { stored, sealed })])
}

/**
 * A re-run with the rotation-id close already finished: report the rotation it
 * closed. With terminate, the closed login's sessions that are still there
 * (one that logged in during that close) are ended now, while it stays disabled.
 */
async function alreadyClosed(
  cfg: Config,
  deps: PhaseDeps,
  plan: NoopPlan<ClosedState>,
  before: Observation,
): Promise<PhaseResult> {
  const last = plan.state.lastClosed
  const previous = last.previous ?? otherLogin(plan.state, last.active)
  const list = await activeUserlist(cfg, deps, plan.state.active, plan.state)
  const notes = [
    `Nothing to do: ${plan.reason}.`,
    list.note,
    ...(await replayedEarlierClose(cfg, deps, last.id, previous)),
  ]
  let remaining = 0
  const disabled =
    before.logins[previous]?.canLogin === false || (previous === cfg.group && before.group?.canLogin === false)
  if (disabled && cfg.terminate) {
    const gone = await outgoingGone(cfg, deps, previous, last.id, { sessions: [], unreadable: [], readings: [] })
    notes.push(...gone.notes)
  } else if (disabled) remaining = (await readLoginSessions(deps, [previous])).sessions.length
  return resultWithFamily(
    cfg,
    deps,
    {
      username: plan.state.active,
      pgbouncerUserlist: list.userlist,
      previousUsername: previous,
      rotationId: last.id,
      state: 'idle',
      remainingConnections: remaining,
    },
    [],
    notes,
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
