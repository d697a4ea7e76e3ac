/** The proof that newly issued credentials work: log in with them and check the SET role default applied. */
import type { Config } from '../inputs/config.js'
import { close, connect, type Client } from '../postgres/db.js'
import { WHO_AM_I } from '../postgres/statements.js'

/** Logs in as the login with its new password; returns what is wrong, or null. */
export async function checkLogin(cfg: Config, login: string, password: string): Promise<string | null> {
  let c: Client | null = null
  try {
    // Same host, port, database and TLS settings as the admin connection, but not its session options.
    c = await connect(cfg.admin, `login check as "${login}"`, {
      applicationName: 'pg-credential-rotation/open-check',
      user: login,
      password,
      withoutOptions: true,
      asLogin: true,
    })
    const row = (await c.query(WHO_AM_I)).rows[0]
    if (row.current_user !== cfg.group) {
      return `Logged in as "${login}", but current_user is "${row.current_user}", not "${cfg.group}": the SET role default did not apply, so objects it creates would be owned by the login.`
    }
    return null
  } catch (e) {
    return `Logging in as "${login}" with the new password failed: ${(e as Error).message}`
  } finally {
    await close(c)
  }
}
