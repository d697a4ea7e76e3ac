/** The proof that newly issued credentials work: log in with them and check the SET role default applied. */
import type { Config } from '../inputs/config.js'
import { oneLine } from '../domain/escape.js'
import { close, connect, type Client } from '../postgres/db.js'
import { BACKEND_LISTED, CLEAR_STATS_SNAPSHOT, WHO_AM_I } from '../postgres/statements.js'
import type { ConnectionTarget } from '../postgres/urls.js'
import type { Replicas } from '../postgres/replicas.js'

/** How long the check waits for its own backend to leave pg_stat_activity after it disconnected. */
const CHECK_GONE_MS = 2000

/**
 * The check's backend exits asynchronously after the disconnect: until it has, it counts as a
 * session of the new login (abort right after open would refuse: "a deploy already uses it").
 * Waits, on the admin connection, until it is no longer listed (or CHECK_GONE_MS passed).
 */
async function waitCheckGone(admin: Client, pid: number): Promise<void> {
  const end = Date.now() + CHECK_GONE_MS
  for (;;) {
    await admin.query(CLEAR_STATS_SNAPSHOT)
    if (!(await admin.query(BACKEND_LISTED, [pid])).rows[0].listed || Date.now() >= end) return
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Logs in as the login with its new password; returns what is wrong, or null.
 * On the admin connection's server, or on `on` (a replica of replica-urls, named `where`).
 * With `admin` (the admin connection, on the same server), returns only once the check's own
 * session is gone from pg_stat_activity, so it never counts as a session of the login.
 */
export async function checkLogin(
  cfg: Config,
  login: string,
  password: string,
  on?: { target: ConnectionTarget; where: string },
  admin?: Client,
): Promise<string | null> {
  let c: Client | null = null
  let pid: number | null = null
  const where = on ? ` on ${on.where}` : ''
  try {
    // Same host, port, database and TLS settings as the admin (or replica) connection, but not its session options.
    c = await connect(on?.target ?? cfg.admin, `login check as "${login}"${where}`, {
      applicationName: 'pg-credential-rotation/open-check',
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
    if (admin && pid !== null) await waitCheckGone(admin, pid).catch(() => {})
  }
}

/** The login check on every replica (after they replayed the commit); the problems found, one per replica. */
export async function checkLoginOnReplicas(
  cfg: Config,
  replicas: Replicas,
  login: string,
  password: string,
): Promise<string[]> {
  const problems: string[] = []
  for (let i = 0; i < replicas.count; i++) {
    const p = await checkLogin(cfg, login, password, { target: replicas.target(i), where: replicas.describe(i) })
    if (p) problems.push(p)
  }
  return problems
}
