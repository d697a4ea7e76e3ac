import { adoptionFindings, readAdoptionFacts } from '../postgres/adoption.js'
import { applyInTransaction, type Applied } from '../postgres/apply.js'
import type { Config } from '../inputs/config.js'
import { close, statementError, type Client } from '../postgres/db.js'
import { oneLine } from '../domain/escape.js'
import type { Ownership } from '../domain/drift.js'
import { planSetup, withActiveVerifier } from '../domain/plan.js'
import { generatePassword } from '../crypto/password.js'
import { verifierOnce } from '../crypto/scram.js'
import { sealVerifier } from '../crypto/seal.js'
import { userlistOutput } from '../phase-support/userlist.js'
import type { PhaseResult } from '../domain/result.js'
import { loginsNow } from '../domain/state.js'
import type { RoleConfig } from '../domain/settings.js'
import {
  BEGIN_PHASE,
  COMMIT,
  CURRENT_DATABASE,
  READ_OWNERSHIP,
  reassignOwned,
  ROLLBACK,
} from '../postgres/statements.js'
import { writeBack } from '../github/writeback.js'
import {
  credentialOutputs,
  defaultAppUrlNotice,
  resultWithFamily,
  planContext,
  type PhaseDeps,
} from '../phase-support/deps.js'
import { afterCommit } from '../phase-support/after-commit.js'
import { checkLoginOnReplicas } from '../phase-support/login-check.js'
import { remainingGrants } from '../phase-support/remaining-grants.js'
import { waitForReplicas } from '../phase-support/replicas-wait.js'

/**
 * Creates what is missing of the family; issues a password only to a family
 * that has none in use. With fix-ownership, then moves objects owned by the
 * login roles to the group role, database by database.
 */
export async function setup(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const { applied, verifier } = await applySetup(cfg, deps)
  const { plan } = applied
  const { outputs, planNotes } = setupOutputs(cfg, deps, applied, verifier)
  const changes = applied.executed.map((s) => s.display)
  const notes = plan.kind === 'noop' ? [`Nothing to do: ${plan.reason}.`, ...planNotes] : [...planNotes]
  if (outputs.databaseUrl) notes.push(...defaultAppUrlNotice(cfg, deps.reporter))
  let failure: string | undefined
  // After the commit, before the credentials go anywhere: every replica has replayed it, and they log in there.
  if (applied.executed.length > 0 && deps.replicas.count) failure = await replicasCaughtUp(cfg, deps, outputs, notes)
  if (cfg.github && failure) {
    notes.push('github-secrets: nothing written, because the new credentials do not log in on every replica yet.')
  } else if (cfg.github) {
    if (outputs.password && outputs.databaseUrl) {
      // After the commit: the secret store only ever receives a credential that logs in.
      try {
        await writeBack(
          cfg,
          { username: outputs.username, password: outputs.password, databaseUrl: outputs.databaseUrl },
          deps,
        )
      } catch (e) {
        // The roles are committed: report the outputs (the only copy of the password) and fail the step.
        const partial = (e as { written?: string[] }).written ?? []
        const github = partial.length
          ? `GitHub holds the new credentials only in ${partial.join(', ')}`
          : 'GitHub was not updated'
        failure = `${(e as Error).message} The family is set up (committed) and "${outputs.username}" has its new password, but ${github}: take the password from this step's masked password output (or sealed-credentials), or rotate (open, close) once write-back works.`
      }
    } else {
      notes.push(
        'github-secrets: nothing written, because setup issued no new password (the family was already set up).',
      )
    }
  }
  if (cfg.fixOwnership) {
    try {
      changes.push(...(await fixOwnership(cfg, deps, notes)))
    } catch (e) {
      // After the commit: keep the outputs (a new password is in them) and fail the step.
      failure = [failure, (e as Error).message].filter(Boolean).join(' ')
    }
  }
  if (cfg.adopt && plan.state.adoptedFrom === cfg.group && plan.state.active === cfg.group)
    notes.push(...(await checkAdoption(cfg, deps, applied.before.configs?.[cfg.group])))
  notes.push(...(await remainingGrantsNote(cfg, deps)))
  if (applied.executed.length === 0) return resultWithFamily(cfg, deps, outputs, changes, notes, failure)
  const issued = outputs.password ? ` and "${outputs.username}" has a new password, which this step did not report` : ''
  return afterCommit(`Committed: setup's role changes${issued}`, () =>
    resultWithFamily(cfg, deps, outputs, changes, notes, failure),
  )
}

/**
 * Waits for every replica to replay setup's commit and, when setup issued a
 * password, logs in with it on each. Returns what failed (the step then fails
 * after reporting the outputs, the only copy of the password), or undefined.
 */
async function replicasCaughtUp(
  cfg: Config,
  deps: PhaseDeps,
  outputs: { username: string; password?: string },
  notes: string[],
): Promise<string | undefined> {
  const issued = outputs.password
    ? `"${outputs.username}" has a new password (in this step's masked outputs)`
    : 'no password was issued'
  try {
    notes.push(
      ...(await waitForReplicas(
        cfg,
        deps,
        'Use the new credentials only once that replica has replayed the commit (SELECT pg_last_wal_replay_lsn() there), or rotate (open, close) once it keeps up.',
      )),
    )
  } catch (e) {
    return `Committed: setup's role changes (${issued}), but ${(e as Error).message}`
  }
  if (!outputs.password) return undefined
  const problems = await checkLoginOnReplicas(cfg, deps.replicas, outputs.username, outputs.password)
  if (!problems.length) return undefined
  return `${problems.join(' ')} setup's role changes are committed and ${issued}, but it does not log in on that replica. Check pg_hba.conf on the replica, then rotate (open, close).`
}

/** The outputs of setup (with the credentials and pgbouncer-userlist when it issued a password) and its plan's notes, logged. */
function setupOutputs(cfg: Config, deps: PhaseDeps, applied: Applied, verifier: string | undefined) {
  const { plan, password } = applied
  const list =
    plan.kind === 'issue' && password
      ? userlistOutput(cfg, deps.reporter, [
          verifier ? { login: plan.login, verifier } : { login: plan.login, missing: 'no verifier' },
        ])
      : null
  const planNotes = list ? [...plan.notes, list.note] : plan.notes
  for (const n of planNotes) deps.reporter.info(n)
  const outputs = {
    ...loginsNow(plan.state),
    state: plan.state.rotation ? ('open' as const) : ('idle' as const),
    ...(plan.kind === 'issue' && password
      ? credentialOutputs(cfg, deps.reporter, {
          username: plan.login,
          password,
          rotationId: 'setup',
          verifier,
          userlist: list?.userlist,
        })
      : {}),
  }
  return { outputs, planNotes }
}

/**
 * The setup transaction. The password is generated here (used only if setup
 * issues one) so that, with seal-key, its verifier is sealed into the state it
 * writes, for the first open's pgbouncer-userlist.
 */
async function applySetup(cfg: Config, deps: PhaseDeps): Promise<{ applied: Applied; verifier?: string }> {
  const newPassword = generatePassword(cfg.passwordLength)
  deps.reporter.secret(newPassword)
  const verifierFor = verifierOnce(newPassword)
  let verifier: string | undefined
  const applied = await applyInTransaction(
    deps.session,
    cfg,
    deps.reporter,
    (obs) => {
      const plan = planSetup(obs, cfg, planContext(deps))
      if (plan.kind !== 'issue' || cfg.passwordEncryption !== 'scram-sha-256') return plan
      verifier = verifierFor(obs.scramIterations)
      if (!cfg.sealKey) return plan
      const sealed = sealVerifier(plan.login, verifier, cfg.sealKey, { family: cfg.group, rotationId: 'setup' })
      return withActiveVerifier(plan, sealed)
    },
    { password: newPassword, verifier: verifierFor },
  )
  return { applied, verifier }
}

/** The grants the group still needs that setup cannot run, in the log and the summary (never fails: setup has committed). */
async function remainingGrantsNote(cfg: Config, deps: PhaseDeps): Promise<string[]> {
  let note: string | null
  try {
    note = await remainingGrants(deps.session.client, cfg.group)
  } catch (e) {
    note = `Could not check which grants the group role still needs (${oneLine((e as Error).message)}); see docs/managed-services.md, Prerequisites in order, step 5.`
  }
  if (note) deps.reporter.info(note)
  return note ? [note] : []
}

/** Warns (never fails: the adoption has committed) about what else changes for the application. */
async function checkAdoption(cfg: Config, deps: PhaseDeps, config: RoleConfig | undefined): Promise<string[]> {
  let found: { warnings: string[]; notes: string[] }
  try {
    found = adoptionFindings(
      await readAdoptionFacts(deps.session.client, cfg.group, config),
      cfg.group,
      cfg.logins,
      deps.now(),
    )
  } catch (e) {
    found = {
      warnings: [
        `the adoption checks could not run (${oneLine((e as Error).message)}); check pg_hba.conf, VALID UNTIL, session_user and default privileges by hand (docs/migrating.md).`,
      ],
      notes: [],
    }
  }
  for (const w of found.warnings) deps.reporter.warning(`Adoption: ${w}`)
  return [...found.warnings.map((w) => `Warning (adoption): ${w}`), ...found.notes]
}

/** REASSIGN OWNED BY the login roles TO the group role, in each database where they own objects. */
async function fixOwnership(cfg: Config, deps: PhaseDeps, notes: string[]): Promise<string[]> {
  const main = deps.session.client
  const owned: Ownership[] = (await main.query(READ_OWNERSHIP, [cfg.logins])).rows
  if (owned.length === 0) {
    notes.push('fix-ownership: the login roles own nothing.')
    return []
  }
  const current: string = (await main.query(CURRENT_DATABASE)).rows[0].db
  const databases = [...new Set(owned.map((o) => o.database || current))]
  const statement = reassignOwned(cfg.logins, cfg.group)
  const done: string[] = []
  for (const db of databases) {
    let client: Client | null = null
    try {
      client = db === current ? main : await deps.session.forDatabase(db)
      // The phase's lock and statement timeouts bound REASSIGN OWNED in every database.
      await client.query(BEGIN_PHASE)
      await client.query(statement)
      await client.query(COMMIT)
    } catch (e) {
      await client?.query(ROLLBACK).catch(() => {})
      const earlier = done.length ? `, and REASSIGN OWNED committed in ${done.length} earlier database(s)` : ''
      throw statementError(
        e,
        `${statement} (database "${oneLine(db)}")`,
        `setup's role changes were committed (see what changed${earlier}); run setup with fix-ownership again`,
      )
    } finally {
      if (client && client !== main) await close(client)
    }
    done.push(`${statement}; -- in database "${oneLine(db)}"`)
  }
  const total = owned.reduce((n, o) => n + o.objects, 0)
  notes.push(`fix-ownership: moved ${total} object(s) in ${databases.length} database(s) to "${cfg.group}".`)
  return done
}
