/** The proof that newly issued credentials work: log in with them and check the SET role default applied. */
import type { Config } from '../inputs/config.js'
import { oneLine } from '../domain/escape.js'
import { close, connect, type Client } from '../postgres/db.js'
import { waitBackendGone } from '../postgres/observe.js'
import { WHO_AM_I } from '../postgres/statements.js'
import type { ConnectionTarget } from '../postgres/urls.js'
import type { Replicas } from '../postgres/replicas.js'

/** How long the check waits for its own backend to leave pg_stat_activity after it disconnected. */
export const CHECK_GONE_MS = 2000

/** The application_name of open's login check: the action's own short session as the incoming login. */
export const OPEN_CHECK_APP = 'pg-credential-rotation/open-check'

/**
 * Waits until the check's backend (`pid`) has left pg_stat_activity of the server the check ran
 * on, at most `limitMs`. The backend exits asynchronously after the disconnect: until it has, it
 * counts as a session of the new login there (abort right after open would refuse: "a deploy
 * already uses it").
 */
export type CheckGone = (pid: number, limitMs: number) => Promise<void>

/** The wait for a check on the admin connection's server, run on that connection. */
export function goneFromPrimary(admin: Client): CheckGone {
  return (pid, limitMs) => waitBackendGone(admin, pid, limitMs)
}

/**
 * Logs in as the login with its new password; returns what is wrong, or null.
 * On the admin connection's server, or on `on` (a replica of replica-urls, named `where`).
 * With `gone` (a wait on the same server: goneFromPrimary, or a replica's), returns only once the
 * check's own session is gone from pg_stat_activity, so it never counts as a session of the login.
 */
export async function checkLogin(
  cfg: Config,
  login: string,
  password: string,
  on?: { target: ConnectionTarget; where: string },
  gone?: CheckGone,
): Promise<string | null> {
  let c: Client | null = null
  let pid: number | null = null
  const where = on ? ` on ${on.where}` : ''
  try {
    // Same host, port, database and TLS settings as the admin (or replica) connection, but not its session options.
    c = await connect(on?.target ?? cfg.admin, `login check as "${login}"${where}`, {
      applicationName: OPEN_CHECK_APP,
      user: login,
      password,
      withoutOptions: true,
      asLogin: true,
    })
    const row = (await c.query(WHO_AM_I)).rows[0]
    pid = row.pid
    if (row.current_user !== cfg.group) {
      return `Logged in as "${login}"${where}, but current_user is "${oneLine(String(row.current_user))}", not "${cfg.group}": the SET role default did not apply, so objects it creates would be owned by the login.`
    }
    return null
  } catch (e) {
    return `Logging in as "${login}" with the new password${where} failed: ${(e as Error).message}`
  } finally {
    await close(c)
    if (gone && pid !== null) await gone(pid, CHECK_GONE_MS).catch(() => {})
  }
}

/**
 * The login check on every replica (after they replayed the commit); the problems found, one per
 * replica. Each returns once its session has left that replica's pg_stat_activity.
 */
export async function checkLoginOnReplicas(
  cfg: Config,
  replicas: Replicas,
  login: string,
  password: string,
): Promise<string[]> {
  const problems: string[] = []
  for (let i = 0; i < replicas.count; i++) {
    const p = await checkLogin(
      cfg,
      login,
      password,
      { target: replicas.target(i), where: replicas.describe(i) },
      (pid, ms) => replicas.waitBackendGone(i, pid, ms),
    )
    if (p) problems.push(p)
  }
  return problems
}
