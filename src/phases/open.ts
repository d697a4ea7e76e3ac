import { applyInTransaction } from '../apply.js'
import type { Config } from '../config.js'
import { close, connect, type Client } from '../db.js'
import { DatabaseError } from '../errors.js'
import { planOpen, planRevertOpen } from '../plan.js'
import type { PhaseResult } from '../result.js'
import { WHO_AM_I } from '../statements.js'
import { credentialOutputs, finish, planContext, type PhaseDeps } from './common.js'

/**
 * Gives the standby login a new password and LOGIN, then logs in with it and
 * checks that the session runs as the group role. If that check fails the
 * rotation is undone and the phase fails.
 */
export async function open(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const applied = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => planOpen(obs, cfg, planContext(deps)))
  const { plan, password } = applied
  if (applied.before.state.kind !== 'ok') throw new Error('internal: open planned without a state')
  const previous = applied.before.state.state
  const rotation = plan.state.rotation!
  const incoming = rotation.incoming
  for (const n of plan.notes) deps.reporter.info(n)

  const outputs = {
    ...credentialOutputs(cfg, deps.reporter, incoming, password!, rotation.id),
    previousUsername: plan.state.active,
    rotationId: rotation.id,
    state: 'open' as const,
  }
  // The login check and the summary's re-read of the family use different connections: run them side by side.
  const [problem, result] = await Promise.all([
    checkLogin(cfg, incoming, password!),
    finish(cfg, deps, outputs, applied.executed.map((s) => s.display), plan.notes),
  ])
  if (problem) {
    const undo = await applyInTransaction(deps.session, cfg, deps.reporter, (obs) => {
      const p = planRevertOpen(obs, cfg, rotation.id, previous)
      if (!p) throw new DatabaseError(`${problem} The rotation could not be undone because its state changed meanwhile; run the status phase and abort.`)
      return p
    })
    throw new DatabaseError(
      `${problem} The rotation was undone: "${incoming}" is NOLOGIN again and "${plan.state.active}" stays active (${undo.executed.length} statements).`,
      'Run setup to repair the family, check pg_hba.conf allows the login roles, then open again.',
    )
  }
  deps.reporter.info(`Logged in as "${incoming}" with the new password: current_user is "${cfg.role}".`)
  return result
}

/** Logs in as the login with its new password; returns what is wrong, or null. */
export async function checkLogin(cfg: Config, login: string, password: string): Promise<string | null> {
  let c: Client | null = null
  try {
    // Same host, port, database and TLS settings as the admin connection, but not its session options.
    c = await connect(cfg.admin, `login check as "${login}"`, { applicationName: 'pg-credential-rotation/open-check', user: login, password, withoutOptions: true })
    const row = (await c.query(WHO_AM_I)).rows[0]
    if (row.current_user !== cfg.role) {
      return `Logged in as "${login}", but current_user is "${row.current_user}", not "${cfg.role}": the SET role default did not apply, so objects it creates would be owned by the login.`
    }
    return null
  } catch (e) {
    return `Logging in as "${login}" with the new password failed: ${(e as Error).message}`
  } finally {
    await close(c)
  }
}
