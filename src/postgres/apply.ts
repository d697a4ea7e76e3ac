import type { Config } from '../inputs/config.js'
import { DatabaseError, StateError } from '../domain/errors.js'
import { isQueryTimeout, isRetryable, statementError } from './db.js'
import type { Observation } from '../domain/family.js'
import { observe } from './observe.js'
import { OwnLoginHoldsLock, withLockHolders } from './lock-holders.js'
import { generatePassword } from '../crypto/password.js'
import { forbiddenTarget, missingPrivilege, type Plan } from '../domain/plan.js'
import type { Reporter } from '../domain/reporter.js'
import { scramVerifier } from '../crypto/scram.js'
import type { AdminSession } from './session.js'
import { oneLine } from '../domain/escape.js'
import { retryWithBackoff, type Attempt } from '../domain/retry.js'
import {
  BEGIN_PHASE,
  COMMIT,
  ROLLBACK,
  GROUP_INHERITS,
  planBatch,
  renderStep,
  ROLLBACK_TO_PLAN_SAVEPOINT,
  serializeOnGroup,
  setLockTimeout,
  setIdleInTransactionTimeout,
  TERMINATE_BACKENDS,
  type Statement,
} from './statements.js'

/** Length of the random password that replaces an outgoing login's password; nobody keeps it. */
const SCRAMBLE_LENGTH = 64

/** How long a phase keeps retrying transient failures (connection loss, server start, concurrent update). */
export const RETRY_BUDGET_MS = 60_000

export interface Applied<P extends Plan = Plan> {
  before: Observation
  plan: P
  executed: Statement[]
  /** The plaintext password given to the login of an 'issue' plan, if any. */
  password: string | null
  /** For the phase's notes: the sessions ended because they held the family's lock (see ApplyOptions.lockHolder). */
  notes: string[]
}

export interface ApplyOptions {
  /** The phase will terminate sessions after the commit: check pg_signal_backend first. */
  terminate?: boolean
  /**
   * Runs inside the transaction, with the family locked, after the plan and the
   * privilege checks and before any change (only when there is a change to make).
   * Throwing rolls everything back.
   */
  beforeChanges?: (obs: Observation, plan: Plan) => Promise<void>
  /**
   * Runs inside the transaction, with the family locked, after the plan and the privilege
   * checks, whether or not the plan changes anything: work that must not race another phase
   * (verify-drain's terminate-after ends sessions only while its rotation is still open).
   */
  whileLocked?: (obs: Observation, plan: Plan) => Promise<void>
  /** A shorter wait for the family's lock than the phase's (verify-drain's timeout bounds it). */
  lockTimeoutMs?: number
  /** A shorter budget for retries than RETRY_BUDGET_MS. */
  retryBudgetMs?: number
  /**
   * What is already durable outside this transaction (GitHub secrets written by
   * beforeChanges), for the message of a statement that fails after it; null: nothing.
   */
  durable?: () => string | null
  /** The password for an enable-login step, generated (and masked) by the phase; default: a fresh one here. */
  password?: string
  /**
   * With `password` and password-encryption scram-sha-256: its verifier for the server's
   * iteration count (see verifierOnce), so the one the phase seals or lists is the one set.
   */
  verifier?: (iterations: number) => string
  /**
   * The login this phase disables (read from the family's state), whose own sessions may hold the
   * family's lock: a login may alter its own row, or the group's as the group, in a transaction it
   * keeps open. When the lock wait times out and every holder is a session of that login: with
   * `end`, they are terminated (pg_terminate_backend) and the phase is tried once more; without,
   * the failure names them and `remedy` says what ends them. Sessions of any other role are never ended.
   */
  lockHolder?: { login: (obs: Observation) => string | null; end: boolean; remedy: string }
}

/**
 * Runs one phase's change as one transaction: lock the family, observe, plan,
 * check the admin's privileges, execute the plan's statements, commit. A plan
 * that refuses (throws), a missing privilege, or any failed statement rolls
 * everything back. Transient failures are retried from the start, with a fresh
 * observation, for up to RETRY_BUDGET_MS.
 */
export async function applyInTransaction<P extends Plan>(
  session: AdminSession,
  cfg: Pick<Config, 'group' | 'logins' | 'passwordLength' | 'passwordEncryption'>,
  reporter: Reporter,
  decide: (obs: Observation) => P,
  opts: ApplyOptions = {},
): Promise<Applied<P>> {
  let ended = false
  return retryWithBackoff(
    async (attempt) => {
      if (attempt.number > 1) await reconnectAfter(session, attempt)
      try {
        return await attemptOnce(session, cfg, reporter, decide, opts)
      } catch (e) {
        if (!(e instanceof OwnLoginHoldsLock) || !opts.lockHolder?.end || ended) throw e
        ended = true
        // Once: a holder that comes back (it can until the login is disabled) fails the retry, named.
        const note = await endLockHolders(session, e)
        reporter.warning(`${note} Trying the phase once more.`)
        const applied = await attemptOnce(session, cfg, reporter, decide, { ...opts, lockHolder: undefined })
        return { ...applied, notes: [note, ...applied.notes] }
      }
    },
    {
      clock: session.clock,
      budgetMs: Math.min(RETRY_BUDGET_MS, opts.retryBudgetMs ?? RETRY_BUDGET_MS),
      isRetryable: (e) => !(e instanceof ReconnectFailed) && isRetryable(e),
      onRetry: ({ error, attempt, delayMs }) =>
        reporter.warning(
          `Attempt ${attempt} failed (${firstLine(error)}); nothing was applied. Retrying in ${delayMs}ms.`,
        ),
    },
  )
}

/**
 * Renews the admin connection before a retry. A transient failure to reconnect
 * is left to the attempt (which fails on the dead connection and is retried);
 * any other, or one past the deadline, ends the phase.
 */
async function reconnectAfter(session: AdminSession, attempt: Attempt): Promise<void> {
  try {
    await session.renew()
  } catch (c) {
    if (!isRetryable(c) || session.clock.now().getTime() >= (attempt.deadline ?? Infinity)) {
      throw new ReconnectFailed(
        `The phase was interrupted (${firstLine(attempt.previousError)}) and could not reconnect: ${(c as Error).message} Nothing was applied: the family is as it was before this phase.`,
        'Run the phase again once the database accepts the admin connection.',
        (c as { code?: string }).code,
      )
    }
  }
}

/** Ends the disabled login's sessions that held the family's lock; returns the note that says so. */
async function endLockHolders(session: AdminSession, e: OwnLoginHoldsLock): Promise<string> {
  const ended: number = (await session.client.query(TERMINATE_BACKENDS, [e.login, e.pids])).rows[0].terminated
  return `Ended ${ended} session(s) of "${oneLine(e.login)}" that held the family's lock (pid ${e.pids.join(', ')}).`
}

/** The admin connection could not be renewed for a retry: the phase ends here, whatever the code. */
class ReconnectFailed extends DatabaseError {}

const firstLine = (e: unknown): string => (e as Error).message.split('\n')[0]

async function attemptOnce<P extends Plan>(
  session: AdminSession,
  cfg: Pick<Config, 'group' | 'logins' | 'passwordLength' | 'passwordEncryption'>,
  reporter: Reporter,
  decide: (obs: Observation) => P,
  opts: ApplyOptions,
): Promise<Applied<P>> {
  const client = session.client
  try {
    await client.query(BEGIN_PHASE)
    const lockTimeoutMs = opts.lockTimeoutMs ?? session.lockTimeoutMs
    if (lockTimeoutMs !== undefined) await client.query(setLockTimeout(lockTimeoutMs))
    if (session.idleInTransactionTimeoutMs !== undefined)
      await client.query(setIdleInTransactionTimeout(session.idleInTransactionTimeoutMs))
    const group = (await client.query(GROUP_INHERITS, [cfg.group])).rows[0]
    if (group) {
      // The serializing ALTER ROLE below touches the group role: never the admin itself.
      if (group.admin === cfg.group)
        throw new StateError(
          `Refusing to alter role "${cfg.group}": it is the admin role itself (session_user). Nothing was changed.`,
          'unchanged',
          'Pass the group role of the family as role, and connect as another role.',
        )
      if (!group.superuser && (!group.createrole || (group.version >= 160000 && !group.admin_option))) {
        // Checked here: without them the serializing statement below fails with a bare permission error.
        // Read-only, to report everything the rotation needs in this one message.
        const seen = await observe(client, { group: cfg.group, logins: cfg.logins })
        const missing = missingPrivilege(seen, cfg.group, cfg.logins, {
          changes: true,
          terminate: Boolean(opts.terminate),
        })
        if (missing) throw privilegeError(missing.privilege, missing.grant)
      }
      await run(client, serializeOnGroup(cfg.group, group.inherit))
    }
    const before = await observe(client, { group: cfg.group, logins: cfg.logins })
    const plan = decide(before)
    const forbidden = forbiddenTarget(before, cfg.group, cfg.logins, plan.steps)
    if (forbidden)
      throw new StateError(
        `Refusing to change the roles: ${forbidden}; no phase alters a superuser, the admin itself or a role outside the family. Nothing was changed.`,
        'unchanged',
        'Check role and login-roles, and the state comment on the group role.',
      )
    const missing = missingPrivilege(before, cfg.group, cfg.logins, {
      changes: plan.steps.length > 0,
      created: new Set(plan.steps.flatMap((x) => (x.kind === 'create-role' ? [x.role] : []))),
      terminate: Boolean(opts.terminate),
    })
    if (missing) throw privilegeError(missing.privilege, missing.grant)
    if (opts.beforeChanges && plan.steps.length > 0) await opts.beforeChanges(before, plan)
    if (opts.whileLocked) await opts.whileLocked(before, plan)

    const { executed, password } = await executeSteps(client, cfg, reporter, before, plan, opts)
    await run(client, COMMIT, undefined, COMMIT, opts.durable?.())
    return { before, plan, executed, password, notes: [] }
  } catch (e) {
    // After a query timeout the connection is stuck behind the unanswered statement: a ROLLBACK would
    // wait as long again; ending the connection (the phase fails) ends the transaction on the server.
    if (isQueryTimeout(e)) throw e instanceof DatabaseError ? e : statementError(e, 'a statement of the phase')
    await client.query(ROLLBACK).catch(() => {})
    throw await withLockHolders(client, e, [cfg.group, ...cfg.logins], await ownLogin(client, cfg, e, opts))
  }
}

/** After a lock wait timed out: the login this phase disables, from the family's state read now (read-only). */
async function ownLogin(
  client: AdminSession['client'],
  cfg: Pick<Config, 'group' | 'logins'>,
  e: unknown,
  opts: ApplyOptions,
): Promise<{ login: string; remedy: string } | null> {
  if (!opts.lockHolder || !(e instanceof DatabaseError) || e.code !== '55P03') return null
  try {
    const login = opts.lockHolder.login(await observe(client, { group: cfg.group, logins: cfg.logins }))
    return login ? { login, remedy: opts.lockHolder.remedy } : null
  } catch {
    return null
  }
}

/** Runs the plan's statements; enable-login gets the phase's password (or a fresh one), disable-login one nobody keeps. */
async function executeSteps(
  client: AdminSession['client'],
  cfg: Pick<Config, 'passwordLength' | 'passwordEncryption'>,
  reporter: Reporter,
  before: Observation,
  plan: Plan,
  opts: ApplyOptions,
): Promise<{ executed: Statement[]; password: string | null }> {
  const executed: Statement[] = []
  let password: string | null = null
  for (const step of plan.steps) {
    let secret: string | undefined
    if (step.kind === 'enable-login' || step.kind === 'disable-login') {
      const plaintext =
        step.kind === 'enable-login' && opts.password
          ? opts.password
          : generatePassword(step.kind === 'enable-login' ? cfg.passwordLength : SCRAMBLE_LENGTH)
      reporter.secret(plaintext)
      if (step.kind === 'enable-login') password = plaintext
      if (cfg.passwordEncryption === 'scram-sha-256') {
        secret =
          step.kind === 'enable-login' && opts.password && opts.verifier
            ? opts.verifier(before.scramIterations)
            : scramVerifier(plaintext, before.scramIterations)
        reporter.secret(secret)
      } else {
        secret = plaintext
      }
    }
    const stmt = renderStep(step, before.serverVersion, secret)
    reporter.debug(`sql: ${stmt.display}`)
    executed.push(stmt)
  }
  await runPlanStatements(client, executed, opts.durable?.())
  return { executed, password }
}

/**
 * The plan's statements in few round trips (setup's nine were nine; over a network each is a
 * round trip to the server): those without a secret as one query string, after a savepoint,
 * then each one that carries a password or verifier on its own, so that no other statement's
 * failure puts it in the server log. They run in one transaction, and no statement of a plan
 * depends on one that sets a password, so the order within it does not matter.
 */
async function runPlanStatements(
  client: AdminSession['client'],
  statements: Statement[],
  durable: string | null | undefined,
): Promise<void> {
  await runBatch(
    client,
    statements.filter((s) => !s.secret),
    durable,
  )
  for (const s of statements.filter((x) => x.secret)) await run(client, s.sql, undefined, s.display, durable)
}

/**
 * Statements without a secret, as one query string after a savepoint. When the batch fails,
 * the error must still name the statement that failed, as it did when they went one at a
 * time: the phase rolls back to the savepoint and runs them again one by one, and the one
 * that fails again is named. If none does, the batch's own error stands (the phase never
 * commits past an error). Not re-run: errors that a second run would only repeat slowly or
 * that the phase retries from the start anyway (a lock or statement timeout, whose lock
 * holders are named from the catalog; a cancel; a lost connection; a concurrent change).
 */
async function runBatch(
  client: AdminSession['client'],
  statements: Statement[],
  durable: string | null | undefined,
): Promise<void> {
  if (statements.length === 0) return
  if (statements.length === 1) return run(client, statements[0].sql, undefined, statements[0].display, durable)
  const batchError = (e: unknown) =>
    statementError(e, `one of: ${statements.map((s) => s.display.trim()).join('; ')}`, durable ?? undefined)
  try {
    await client.query(planBatch(statements))
  } catch (e) {
    const code = (e as { code?: string }).code
    if (isRetryable(e)) throw e
    if (isQueryTimeout(e) || code === '55P03' || code === '57014') throw batchError(e)
    // A query string the server could not parse fails before its SAVEPOINT ran: report the batch's error.
    await client.query(ROLLBACK_TO_PLAN_SAVEPOINT).catch(() => {
      throw batchError(e)
    })
    for (const s of statements) await run(client, s.sql, undefined, s.display, durable)
    throw batchError(e)
  }
}

async function run(
  client: AdminSession['client'],
  sql: string,
  params?: unknown[],
  display = sql,
  durable?: string | null,
): Promise<void> {
  try {
    await client.query(sql, params)
  } catch (e) {
    if (isRetryable(e)) throw e
    throw statementError(e, display.trim(), durable ?? undefined)
  }
}

function privilegeError(privilege: string, grant: string): DatabaseError {
  return new DatabaseError(
    `The admin role lacks ${privilege}; nothing was changed.`,
    `Grant everything at once (as a superuser, or for ADMIN OPTION the roles' creator), then run the phase again: ${grant};`,
    '42501',
  )
}
