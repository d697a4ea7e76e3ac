import { applyInTransaction, type Applied } from '../postgres/apply.js'
import type { Config } from '../inputs/config.js'
import { DatabaseError, InputError } from '../domain/errors.js'
import type { Observation } from '../domain/family.js'
import { generatePassword } from '../crypto/password.js'
import { observe } from '../postgres/observe.js'
import {
  planConfirmOpen,
  planOpen,
  planRevertOpen,
  withSealed,
  type OpenPlan,
  type OpenState,
  type ReemitPlan,
} from '../domain/plan.js'
import { sealCredentials, sealVerifier, unsealCredentials } from '../crypto/seal.js'
import { verifierOnce } from '../crypto/scram.js'
import { buildDatabaseUrl } from '../postgres/urls.js'
import type { PhaseResult } from '../domain/result.js'
import {
  credentialOutputs,
  defaultAppUrlNotice,
  resultWithFamily,
  planContext,
  type PhaseDeps,
} from '../phase-support/deps.js'
import { knownVerifier, readStoredSecrets, userlistOutput, type Known } from '../phase-support/userlist.js'
import { checkLogin, checkLoginOnReplicas, goneFromPrimary } from '../phase-support/login-check.js'
import { afterCommit } from '../phase-support/after-commit.js'
import { ReplicaLagError, waitForReplicas } from '../phase-support/replicas-wait.js'

/**
 * Gives the standby login a new password and LOGIN, then logs in with it and
 * checks that the session runs as the group role. If that check fails the
 * rotation is undone and the phase fails. With seal-key the credentials are
 * also kept, sealed, in the state, so a re-run of this run's open emits them
 * again instead of changing the password.
 */
export async function open(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const password = generatePassword(cfg.passwordLength)
  deps.reporter.secret(password)
  const { applied, sealed, verifier, list } = await applyOpen(cfg, deps, password)
  const { plan } = applied
  if (plan.kind === 'reemit') return reemit(cfg, deps, plan)
  if (applied.before.state.kind !== 'ok') throw new Error('internal: open planned without a state')
  const previous = applied.before.state.state
  const rotation = plan.state.rotation
  const incoming = rotation.incoming
  const notes = [...plan.notes, list.note]
  for (const n of notes) deps.reporter.info(n)

  const outputs = {
    ...credentialOutputs(cfg, deps.reporter, {
      username: incoming,
      password,
      rotationId: rotation.id,
      sealed,
      verifier,
      userlist: list.userlist,
    }),
    previousUsername: plan.state.active,
    rotationId: rotation.id,
    state: 'open' as const,
  }
  const committed = `Committed: rotation ${rotation.id} is open and "${incoming}" has LOGIN and a new password, which this step did not report`
  // Nothing is reported before the login check passed on the primary and on every replica, after they replayed the commit.
  const replayed = await afterCommit(committed, async () => {
    let problem = await checkLogin(cfg, incoming, password, undefined, goneFromPrimary(deps.session.client))
    let notes: string[] = []
    if (!problem && deps.replicas.count) {
      notes = await waitForReplicas(cfg, deps, OPEN_NEXT)
      problem = (await checkLoginOnReplicas(cfg, deps.replicas, incoming, password)).join(' ') || null
    }
    if (problem) await undoOpen(cfg, deps, problem, plan.state.active, incoming, rotation.id, previous)
    return notes
  })
  const now = await confirmStillOpen(cfg, deps, rotation.id, incoming)
  deps.reporter.info(`Logged in as "${incoming}" with the new password: current_user is "${cfg.group}".`)
  return afterCommit(committed, () =>
    resultWithFamily(
      cfg,
      deps,
      outputs,
      applied.executed.map((s) => s.display),
      [...notes, ...replayed, ...defaultAppUrlNotice(cfg, deps.reporter)],
      undefined,
      {},
      now,
    ),
  )
}

/** What to do when the replicas did not replay open's commit in time. */
const OPEN_NEXT =
  'Re-run open in the same workflow run: with seal-key it emits the same credentials once every replica has replayed them (without seal-key, run abort and open again); or run abort.'

/** The login check failed after the commit: undo the rotation (the incoming login NOLOGIN again) and fail. */
async function undoOpen(
  cfg: Config,
  deps: PhaseDeps,
  problem: string,
  active: string,
  incoming: string,
  rotationId: string,
  previous: Parameters<typeof planRevertOpen>[3],
): Promise<never> {
  const undo = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => {
    const p = planRevertOpen(obs, cfg, rotationId, previous)
    if (!p)
      throw new DatabaseError(
        `${problem} The rotation could not be undone because its state changed meanwhile; run the status phase and abort.`,
        undefined,
        undefined,
        true,
      )
    return p
  })
  throw new DatabaseError(
    `${problem} The rotation was undone: "${incoming}" is NOLOGIN again and "${active}" stays active (${undo.executed.length} statements).`,
    'Run setup to repair the family, check pg_hba.conf allows the login roles, then open again.',
    undefined,
    true,
  )
}

interface AppliedOpen {
  applied: Applied<OpenPlan>
  sealed?: string
  verifier?: string
  list: { userlist?: string; note: string }
}

/**
 * The open transaction. The new password's verifier is computed once, so the one
 * set is the one sealed (with seal-key: in the credentials and, alone, in the
 * state for the next rotation) and listed in pgbouncer-userlist next to the
 * outgoing login's, read from pg_authid where the admin may.
 */
async function applyOpen(cfg: Config, deps: PhaseDeps, password: string): Promise<AppliedOpen> {
  const scram = cfg.passwordEncryption === 'scram-sha-256'
  const verifierFor = verifierOnce(password)
  const stored = scram ? await readStoredSecrets(deps.session.client, [cfg.group, ...cfg.logins]) : null
  const out: Omit<AppliedOpen, 'applied'> = { list: { note: '' } }
  const decide = (obs: Observation): OpenPlan => {
    const plan = planOpen(obs, cfg, planContext(deps))
    if (plan.kind !== 'issue') return plan
    const verifier = (out.verifier = scram ? verifierFor(obs.scramIterations) : undefined)
    const entries = openUserlist(cfg, obs, plan.state.active, plan.login, verifier, stored)
    out.list = userlistOutput(cfg, deps.reporter, entries)
    if (!cfg.sealKey) return plan
    const binding = { family: cfg.group, rotationId: plan.state.rotation.id }
    const databaseUrl = buildDatabaseUrl(cfg.appUrl, plan.login, password)
    const creds = { username: plan.login, password, databaseUrl, verifier, userlist: out.list.userlist }
    out.sealed = sealCredentials(creds, cfg.sealKey, binding)
    const sealedVerifier = verifier ? sealVerifier(plan.login, verifier, cfg.sealKey, binding) : undefined
    return withSealed(plan, out.sealed, sealedVerifier)
  }
  const applied = await applyInTransaction(deps.session, cfg, deps.reporter, decide, {
    password,
    verifier: verifierFor,
  })
  return { applied, ...out }
}

/** A re-run of this run's open: the credentials sealed in the state, checked to log in, emitted again. */
async function reemit(cfg: Config, deps: PhaseDeps, plan: ReemitPlan<OpenState>): Promise<PhaseResult> {
  const rotationId = plan.state.rotation.id
  if (!cfg.sealKey) {
    throw new InputError(
      'seal-key',
      `is required to re-run open for rotation ${rotationId}: the state keeps its credentials sealed with the seal-key of the first attempt (nothing was changed)`,
    )
  }
  const { creds } = unsealCredentials(plan.sealed, cfg.sealKey, { family: cfg.group, rotationId })
  deps.reporter.secret(creds.password)
  deps.reporter.secret(creds.databaseUrl)
  const notes = [...plan.notes]
  if (creds.userlist) {
    for (const line of creds.userlist.split('\n')) deps.reporter.secret(line)
    deps.reporter.secret(creds.userlist)
    notes.push('pgbouncer-userlist: emitted again as the first attempt sealed it.')
  }
  const problem = await checkLogin(cfg, creds.username, creds.password, undefined, goneFromPrimary(deps.session.client))
  if (problem) {
    throw new DatabaseError(
      `${problem} The credentials sealed in the state for rotation ${rotationId} no longer log in (changed outside this action?); nothing was changed.`,
      'Check with the status phase; abort and open again.',
    )
  }
  let replayed: string[] = []
  if (deps.replicas.count) {
    try {
      replayed = await waitForReplicas(cfg, deps, OPEN_NEXT)
    } catch (e) {
      if (!(e instanceof ReplicaLagError)) throw e
      throw new DatabaseError(
        `Rotation ${rotationId} stays open and its sealed credentials were not emitted again: ${e.message} Nothing was changed by this run.`,
      )
    }
    const onReplicas = await checkLoginOnReplicas(cfg, deps.replicas, creds.username, creds.password)
    if (onReplicas.length)
      throw new DatabaseError(
        `${onReplicas.join(' ')} The credentials sealed in the state for rotation ${rotationId} were not emitted again; nothing was changed.`,
        'Check pg_hba.conf on the replica allows the login roles; then re-run open, or abort.',
      )
  }
  const now = await confirmStillOpen(cfg, deps, rotationId, plan.login)
  const outputs = {
    username: creds.username,
    password: creds.password,
    databaseUrl: creds.databaseUrl,
    pgbouncerUserlist: creds.userlist,
    sealedCredentials: plan.sealed,
    previousUsername: plan.state.active,
    rotationId,
    state: 'open' as const,
  }
  return resultWithFamily(cfg, deps, outputs, [], [...notes, ...replayed], undefined, {}, now)
}

/**
 * The lines open hands out: both logins, in the family's order, the incoming one
 * with the verifier open sets, the outgoing one (after adoption, the group role)
 * as pg_authid or the state's sealed copy knows it.
 */
function openUserlist(
  cfg: Config,
  obs: Observation,
  outgoing: string,
  incoming: string,
  verifier: string | undefined,
  stored: Awaited<ReturnType<typeof readStoredSecrets>>,
): Known[] {
  const state = obs.state.kind === 'ok' ? obs.state.state : null
  const copy = state?.activeVerifier?.login === outgoing ? state.activeVerifier.sealed : undefined
  const old = knownVerifier(cfg, outgoing, { stored, sealed: copy ? [{ kind: 'verifier', sealed: copy }] : [] })
  const fresh: Known = verifier ? { login: incoming, verifier } : { login: incoming, missing: 'no verifier' }
  const order = [cfg.group, ...cfg.logins]
  return [old, fresh].sort((a, b) => order.indexOf(a.login) - order.indexOf(b.login))
}

/**
 * After the login check, from the committed state: a concurrent abort (or a close onto another login) would have ended
 * the rotation. Returns that read: it is the family as the phase leaves it, which the result shows (no second read).
 */
async function confirmStillOpen(
  cfg: Config,
  deps: PhaseDeps,
  rotationId: string,
  incoming: string,
): Promise<Observation> {
  if (deps.afterLoginCheck) await deps.afterLoginCheck()
  // A read of the committed state is enough: an abort still in flight has not happened yet, and one that
  // commits after this read would race any check alike, so taking the family lock here would buy nothing.
  const now = await observe(deps.session.client, { group: cfg.group, logins: cfg.logins })
  planConfirmOpen(now, rotationId, incoming)
  return now
}
