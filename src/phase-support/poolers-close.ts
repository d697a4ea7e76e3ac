/** close and abort with pgbouncer-urls: what they plan on, and what they end after the commit. */
import { judgeLogin, type BackendSession } from '../domain/drain-rule.js'
import { StateError } from '../domain/errors.js'
import type { Observation } from '../domain/family.js'
import { POOLER_INPUT, type PoolerReading } from '../postgres/poolers.js'
import {
  endIdlePooledServers,
  killRefusal,
  probeKillRights,
  readBackends,
  type KillRights,
  requireReadable,
  sessionsSeenThroughPoolers,
} from '../postgres/pooled.js'
import { describeState } from '../domain/state.js'
import type { PhaseDeps } from './deps.js'

export interface PoolerLook {
  readings: PoolerReading[]
  backends: BackendSession[]
  /** With terminate: the poolers holding clients of these logins whose console cannot run KILL_CLIENT, and why. */
  killRights: KillRights
}

/**
 * Reads every pooler (failing, with nothing changed, when one cannot be read)
 * and the family's backends. With terminate, also asks each pooler that holds
 * clients of these logins whether its console may run KILL_CLIENT.
 */
export async function lookThroughPoolers(
  deps: PhaseDeps,
  logins: string[],
  terminate = false,
): Promise<PoolerLook | null> {
  if (!deps.poolers.count) return null
  const readings = await deps.poolers.read()
  requireReadable(readings)
  return {
    readings,
    backends: await readBackends(deps.session.client, logins),
    killRights: terminate ? await probeKillRights(deps, readings, logins) : {},
  }
}

/**
 * The observation a plan sees: the login's idle pooled server connections are
 * not counted, its pooler clients are. With terminate, a pooler that holds
 * clients of the login and has no KILL_CLIENT makes the phase refuse.
 */
export function seenThroughPoolers(
  obs: Observation,
  look: PoolerLook | null,
  login: string | null,
  terminate: boolean,
): Observation {
  if (!look || !login) return obs
  if (terminate) {
    const refusal = killRefusal(look.readings, login, look.killRights)
    if (refusal) {
      throw new StateError(
        `terminate: true, but ${refusal}.`,
        obs.state.kind === 'ok' ? describeState(obs.state.state) : 'not set up',
        `Wait for those clients to disconnect (verify-drain), give ${POOLER_INPUT} a console user in the pooler's admin_users (upgrade a pooler older than PgBouncer 1.24), or end them on the pooler yourself; or run close with force: true and without terminate, which closes while they stay connected (their next transaction then fails). ${POOLER_INPUT} was read; nothing was changed.`,
      )
    }
  }
  const j = judgeLogin(login, look.backends, look.readings)
  return { ...obs, sessions: sessionsSeenThroughPoolers(obs.sessions, j, look.readings) }
}

/**
 * Inside close's transaction, with the family locked, just before the change:
 * a client that logged in to a pooler as the outgoing login since the first
 * look makes close refuse (unless force or terminate), nothing changed.
 */
export async function recheckPoolerClients(
  deps: PhaseDeps,
  obs: Observation,
  cfg: { terminate: boolean; force: boolean },
): Promise<void> {
  const login = obs.state.kind === 'ok' ? obs.state.state.active : null
  if (!login || cfg.force) return
  const readings = await deps.poolers.read()
  requireReadable(readings)
  const j = judgeLogin(login, [], readings)
  if (j.clients === 0) return
  if (cfg.terminate) {
    const refusal = killRefusal(readings, login, await probeKillRights(deps, readings, [login]))
    if (!refusal) return
    throw new StateError(
      `terminate: true, but ${refusal}.`,
      obs.state.kind === 'ok' ? describeState(obs.state.state) : '',
      `Give ${POOLER_INPUT} a console user in the pooler's admin_users, or wait for those clients to disconnect. Nothing was changed.`,
    )
  }
  const where = readings.filter((r) => r.snapshot?.clients.some((c) => c.user === login)).map((r) => r.label)
  throw new StateError(
    `The outgoing login "${login}" has ${j.clients} client(s) logged in to pooler ${where.join(', ')}.`,
    obs.state.kind === 'ok' ? describeState(obs.state.state) : '',
    'Wait for them with verify-drain, or run close with force: true to close while they stay connected. Nothing was changed.',
  )
}

/**
 * abort with terminate, before anything changes: a pooler that has KILL_CLIENT
 * and clients of the login to disable, but a console user that may not run it,
 * makes abort refuse (it would fail after its commit otherwise).
 */
export function requireKillRights(look: PoolerLook | null, login: string, obs: Observation): void {
  if (!look) return
  const refusal = killRefusal(
    look.readings.filter((r) => look.killRights[r.label]),
    login,
    look.killRights,
  )
  if (!refusal) return
  throw new StateError(
    `terminate: true, but ${refusal}.`,
    obs.state.kind === 'ok' ? describeState(obs.state.state) : 'not set up',
    `Give ${POOLER_INPUT} a console user in the pooler's admin_users, or run abort without terminate. ${POOLER_INPUT} was read; nothing was changed.`,
  )
}

/**
 * After the login was disabled: end its pooled server connections that no
 * client uses. Returns notes for the summary.
 */
export async function endPooled(deps: PhaseDeps, login: string): Promise<string[]> {
  if (!deps.poolers.count) return []
  const notes: string[] = []
  const { ended, unreadable } = await endIdlePooledServers(deps, login)
  if (ended)
    notes.push(
      `Ended ${ended} pooled server connection(s) of "${login}" that no client used, so no authenticated connection of it stays in a pool.`,
    )
  if (unreadable.length)
    deps.reporter.warning(
      `${POOLER_INPUT}: could not read ${unreadable.join('; ')} after the change; its idle server connections of "${login}" were not ended.`,
    )
  return notes
}
