import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { connectClient } from '../../scripts/lib/pg-client.mjs'
import { describe, inject } from 'vitest'
import { parseConfig } from '../../src/inputs/config.js'
import type { Reporter } from '../../src/domain/reporter.js'
import type { PhaseResult } from '../../src/domain/result.js'
import { runPhase } from '../../src/run-phase.js'
import type { PoolerLimits } from '../../src/postgres/poolers.js'
import type { Clock } from '../../src/domain/clock.js'
import { connectTo, withClient } from './clients.js'
import type { TestServer } from './servers.js'

export function servers(): TestServer[] {
  return inject('pgServers')
}

/**
 * `describe.each(servers())`, with the servers side by side: one suite per server, the suites
 * running concurrently (each server is its own PostgreSQL, so nothing is shared between them),
 * the tests of one server in order as before. For files whose tests only wait on the server;
 * a file with file-level hooks (afterEach) or module-level state must not use it until they move
 * into the body, one per suite (test/pg/stalled-console.test.ts). A test that uses expect.poll
 * takes `expect` from its context (`async ({ expect }) => …`): the global one does not know which
 * of the concurrent tests is running.
 */
export function describeEachServer(title: string, body: (server: TestServer) => void): void {
  describe.concurrent.each(servers())(`PostgreSQL $major`, (server) => {
    describe.sequential(title, () => body(server))
  })
}

/** A role family name no other test uses. */
export function familyName(prefix = 'app'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`
}

export async function adminClient(server: TestServer): Promise<pg.Client> {
  return connectTo(server.url)
}

export async function withAdmin<T>(server: TestServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return withClient(server.url, fn)
}

/** Connects as a login; the caller ends the client. Throws when the login is refused. */
export async function loginAs(
  server: TestServer,
  user: string,
  password: string,
  database = 'postgres',
): Promise<pg.Client> {
  return connectClient({
    host: server.host,
    port: server.port,
    user,
    password,
    database,
    application_name: 'test-app',
  })
}

/**
 * The address the server sees for a client's session, as pg_stat_activity shows it: 127.0.0.1 on the
 * embedded driver, the bridge's gateway (172.17.0.1, say) when the server runs in a container.
 */
export async function clientAddrOf(c: pg.Client): Promise<string> {
  return (await c.query('SELECT pg_catalog.host(pg_catalog.inet_client_addr()) AS a')).rows[0].a
}

/** A string as a regular expression that matches it literally. */
export const literally = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Resolves to null when the login works, or the SQLSTATE/code of the refusal. */
export async function loginError(server: TestServer, user: string, password: string): Promise<string | null> {
  try {
    const c = await loginAs(server, user, password)
    await c.end()
    return null
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).message
  }
}

export interface Recorded extends Reporter {
  secrets: string[]
  lines: string[]
}

export function recorder(): Recorded {
  const secrets: string[] = []
  const lines: string[] = []
  return {
    secrets,
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    notice: (m) => lines.push(`notice: ${m}`),
    debug: (m) => lines.push(`debug: ${m}`),
    secret: (v) => secrets.push(v),
  }
}

/** Runs a phase in-process through the same config parser the Action uses. */
export async function phase(
  server: TestServer,
  inputs: Record<string, string>,
  opts: {
    reporter?: Recorded
    env?: NodeJS.ProcessEnv
    lockTimeoutMs?: number
    idleInTransactionTimeoutMs?: number
    poolerLimits?: PoolerLimits
    adminQueryTimeoutMs?: number
    afterLoginCheck?: () => Promise<void>
    /** The phase's clock (its waits: verify-drain's polls); the system clock by default. */
    clock?: Clock
    beforeTerminating?: () => Promise<void>
  } = {},
): Promise<PhaseResult & { log: Recorded }> {
  const reporter = opts.reporter ?? recorder()
  const all: Record<string, string> = { 'admin-url': server.url, interval: '100ms', timeout: '10s', ...inputs }
  const cfg = parseConfig((n) => all[n] ?? '', opts.env ?? { GITHUB_RUN_ID: '1001' })
  const result = await runPhase(cfg, {
    reporter,
    lockTimeoutMs: opts.lockTimeoutMs,
    idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs,
    poolerLimits: opts.poolerLimits,
    adminQueryTimeoutMs: opts.adminQueryTimeoutMs,
    afterLoginCheck: opts.afterLoginCheck,
    clock: opts.clock,
    beforeTerminating: opts.beforeTerminating,
  })
  return { ...result, log: reporter }
}

/** Everything about the family's roles that a phase may change, for before/after comparisons. */
export async function snapshotRoles(server: TestServer, names: string[]): Promise<unknown> {
  return withAdmin(server, async (c) => {
    const roles = await c.query(
      `SELECT a.rolname, a.rolcanlogin, a.rolpassword, a.rolinherit, shobj_description(a.oid, 'pg_authid') AS comment,
              (SELECT array_agg(c ORDER BY c) FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE s.setrole = a.oid) AS settings
         FROM pg_authid a WHERE a.rolname = ANY($1) ORDER BY a.rolname`,
      [names],
    )
    const members = await c.query(
      `SELECT m.rolname AS member, g.rolname AS grp FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.roleid
        WHERE m.rolname = ANY($1) ORDER BY 1, 2`,
      [names],
    )
    return { roles: roles.rows, members: members.rows }
  })
}

export async function ownerOf(server: TestServer, table: string): Promise<string> {
  return withAdmin(
    server,
    async (c) => (await c.query(`SELECT tableowner FROM pg_tables WHERE tablename = $1`, [table])).rows[0]?.tableowner,
  )
}

/**
 * A file of the server's own file system (pg_hba.conf, say), read through the server as its
 * superuser: the same on every driver, a container's files included.
 */
export async function readServerFile(server: TestServer, path: string): Promise<string> {
  return withAdmin(server, async (c) => (await c.query('SELECT pg_catalog.pg_read_file($1) AS t', [path])).rows[0].t)
}

/** Writes a file of the server's file system through the server (server-side lo_export, superuser), byte for byte. */
export async function writeServerFile(server: TestServer, path: string, content: string): Promise<void> {
  await withAdmin(server, async (c) => {
    await c.query('BEGIN')
    try {
      const { rows } = await c.query('SELECT pg_catalog.lo_from_bytea(0, $1::bytea) AS oid', [
        Buffer.from(content, 'utf8'),
      ])
      await c.query('SELECT pg_catalog.lo_export($1::oid, $2)', [rows[0].oid, path])
      await c.query('SELECT pg_catalog.lo_unlink($1::oid)', [rows[0].oid])
      await c.query('COMMIT')
    } catch (e) {
      await c.query('ROLLBACK')
      throw e
    }
  })
}
