/** Role families and admins the PostgreSQL tests create. */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { familyName, phase, withAdmin } from './helpers.js'
import type { TestServer } from './servers.js'

/** The group role and its two default logins (<role>_a, <role>_b). */
export const family = (role: string) => [role, `${role}_a`, `${role}_b`]

/** A non-superuser admin with CREATEROLE (as managed services give), without pg_signal_backend. */
export async function createRoleAdmin(server: TestServer): Promise<{ name: string; url: string }> {
  const name = familyName('rotator')
  const password = randomBytes(12).toString('hex')
  await withAdmin(server, (c) => c.query(`CREATE ROLE ${name} LOGIN CREATEROLE PASSWORD '${password}'`))
  return { name, url: `postgresql://${name}:${password}@${server.host}:${server.port}/postgres` }
}

/**
 * GRANT CREATE ON DATABASE postgres TO `role`, one at a time on the server: two GRANTs on one
 * database at the same moment (suites side by side, or two files) update its pg_database row
 * together, and one fails with "tuple concurrently updated". A session-level advisory lock
 * serializes them; the GRANT runs in its own transaction after the previous one committed.
 */
export async function grantCreateOnPostgres(server: TestServer, role: string): Promise<void> {
  await withAdmin(server, async (c) => {
    const key = "hashtext('test harness: GRANT ON DATABASE postgres')"
    await c.query(`SELECT pg_catalog.pg_advisory_lock(${key})`)
    try {
      await c.query(`GRANT CREATE ON DATABASE postgres TO ${pg.escapeIdentifier(role)}`)
    } finally {
      await c.query(`SELECT pg_catalog.pg_advisory_unlock(${key})`)
    }
  })
}

/** A new family after setup and open: the outgoing (old) and incoming (next) credentials and the rotation id. */
export async function openedFamily(server: TestServer, prefix?: string) {
  const role = familyName(prefix)
  const s = await phase(server, { phase: 'setup', role })
  const o = await phase(server, { phase: 'open', role })
  return {
    role,
    old: { user: s.outputs.username!, password: s.outputs.password! },
    next: { user: o.outputs.username!, password: o.outputs.password! },
    rotationId: o.outputs.rotationId!,
  }
}

/**
 * The pid of a phase's backend once it waits on a lock. `phaseName` begins its application_name
 * after "pg-credential-rotation/": "close", or "verify-drain run 1234" for one run's.
 */
export async function waitingBackend(c: pg.Client, phaseName: string, exceptPid?: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const r = await c.query(
      `SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 AND wait_event_type = 'Lock' AND pid <> $2`,
      [`pg-credential-rotation/${phaseName}%`, exceptPid ?? 0],
    )
    if (r.rows[0]) return r.rows[0].pid
    await new Promise((res) => setTimeout(res, 25))
  }
  throw new Error(`no ${phaseName} backend waiting on a lock`)
}

/** A workflow run id of its own: application_name then names this test's phase alone (other files run phases on the same server). */
export function ownRun(): { id: string; env: { GITHUB_RUN_ID: string } } {
  const id = String(1e9 + Math.floor(Math.random() * 8e9))
  return { id, env: { GITHUB_RUN_ID: id } }
}
