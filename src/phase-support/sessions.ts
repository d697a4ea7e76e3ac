/** Sessions of the family's logins across the primary and every replica, and ending them. */
import { sessionCount, type SessionGroup } from '../domain/family.js'
import { readSessions } from '../postgres/observe.js'
import { TERMINATE_SESSIONS } from '../postgres/statements.js'
import type { PhaseDeps } from './deps.js'

export async function sessionsEverywhere(logins: string[], deps: PhaseDeps): Promise<SessionGroup[]> {
  const primary = await readSessions(deps.session.client, logins)
  return deps.replicas.count ? [...primary, ...(await deps.replicas.sessions(logins))] : primary
}

export async function terminateEverywhere(login: string, deps: PhaseDeps): Promise<number> {
  const n: number = (await deps.session.client.query(TERMINATE_SESSIONS, [login])).rows[0].terminated
  return n + (deps.replicas.count ? await deps.replicas.terminate(login) : 0)
}

/** Terminated backends exit asynchronously: wait briefly until pg_stat_activity no longer lists them. */
export async function waitGone(login: string, deps: PhaseDeps, limitMs = 5000): Promise<void> {
  const end = deps.now().getTime() + limitMs
  while (deps.now().getTime() < end) {
    if (sessionCount(await sessionsEverywhere([login], deps), login) === 0) return
    await deps.sleep(50)
  }
}
