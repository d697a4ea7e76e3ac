/** close and abort with pgbouncer-urls: what they plan on, and what they end after the commit. */
import { judgeLogin, type BackendSession } from '../domain/drain-rule.js'
import { StateError } from '../domain/errors.js'
import type { Observation } from '../domain/family.js'
import { POOLER_INPUT, type PoolerReading } from '../postgres/poolers.js'
import {
  endIdlePooledServers,
  killPoolerClients,
  killRefusal,
  readBackends,
  requireReadable,
  sessionsSeenThroughPoolers,
} from '../postgres/pooled.js'
import { describeState } from '../domain/state.js'
import type { PhaseDeps } from './deps.js'

export interface PoolerLook {
  readings: PoolerReading[]
  backends: BackendSession[]
}

/** Reads every pooler (failing, with nothing changed, when one cannot be read) and the family's backends. */
export async function lookThroughPoolers(deps: PhaseDeps, logins: string[]): Promise<PoolerLook | null> {
  if (!deps.poolers.count) return null
  const readings = await deps.poolers.read()
  requireReadable(readings)
  return { readings, backends: await readBackends(deps.session.client, logins) }
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
    const refusal = killRefusal(look.readings, login)
    if (refusal) {
      throw new StateError(
        `terminate: true, but ${refusal}.`,
        obs.state.kind === 'ok' ? describeState(obs.state.state) : 'not set up',
        `Wait for those clients to disconnect (verify-drain), upgrade the pooler, or end them on the pooler yourself; or run close with force: true and without terminate, which closes while they stay connected (their next transaction then fails). ${POOLER_INPUT} was read; nothing was changed.`,
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
    const refusal = killRefusal(readings, login)
    if (!refusal) return
    throw new StateError(
      `terminate: true, but ${refusal}.`,
      obs.state.kind === 'ok' ? describeState(obs.state.state) : '',
      `Nothing was changed.`,
    )
  }
  const where = readings.filter((r) => r.snapshot?.clients.some((c) => c.user === login)).map((r) => r.label)
  throw new StateError(
    `The outgoing login "${login}" has ${j.clients} client(s) logged in to pooler ${where.join(', ')}.`,
    obs.state.kind === 'ok' ? describeState(obs.state.state) : '',
    'Wait for them with verify-drain, or run close with force: true to close while they stay connected. Nothing was changed.',
  )
}

/** close/abort with terminate: KILL_CLIENT the login's pooler clients where the pooler has it. */
export async function killPooledClients(deps: PhaseDeps, login: string): Promise<string[]> {
  const killed = await killPoolerClients(deps, await deps.poolers.read(), login)
  return killed ? [`Ended ${killed} pooler client(s) of "${login}" with KILL_CLIENT.`] : []
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

/** Remaining connections of a login through the poolers: pooler clients plus backends no listed pooler holds. */
export async function remainingThroughPoolers(deps: PhaseDeps, login: string): Promise<number> {
  const readings = await deps.poolers.read()
  return judgeLogin(login, await readBackends(deps.session.client, [login]), readings).count
}
