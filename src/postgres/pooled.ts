/**
 * What the phases do with `pgbouncer-urls`: read the poolers and the
 * backends together, refuse on an unreadable pooler, end pooled server
 * connections nobody uses, KILL_CLIENT where the pooler supports it.
 * The decisions are in drain-rule.ts; this module only runs them.
 */
import type { Client } from './db.js'
import {
  judgeDrain,
  judgeLogin,
  type BackendSession,
  type DrainJudgement,
  type LoginJudgement,
} from '../domain/drain-rule.js'
import { DatabaseError } from '../domain/errors.js'
import type { SessionGroup } from '../domain/family.js'
import { POOLER_INPUT, supportsKillClient, type PoolerReading, type Poolers } from './poolers.js'
import type { Reporter } from '../domain/reporter.js'
import { READ_BACKENDS, TERMINATE_BACKENDS } from './statements.js'
import { clientsToKill } from '../domain/drain-rule.js'

export interface PooledDeps {
  session: { client: Client }
  poolers: Poolers
  reporter: Reporter
  now: () => Date
  sleep: (ms: number) => Promise<void>
}

export async function readBackends(client: Client, logins: readonly string[]): Promise<BackendSession[]> {
  const rows = (await client.query(READ_BACKENDS, [logins])).rows
  return rows.map((r) => ({
    pid: Number(r.pid),
    started: r.backend_start ?? null,
    login: r.login,
    database: r.database,
    state: r.state,
    clientAddr: r.client_addr,
    ...(r.addr_hidden === true ? { addrHidden: true } : {}),
    applicationName: r.application_name,
  }))
}

/** One poll: the poolers, then the backends (so a backend a pooler closed meanwhile is simply gone). */
export async function pollPooled(
  deps: PooledDeps,
  outgoing: string,
  incoming: string,
): Promise<{ judgement: DrainJudgement; readings: PoolerReading[] }> {
  const readings = await deps.poolers.read()
  const backends = await readBackends(deps.session.client, [outgoing, incoming])
  return { judgement: judgeDrain(outgoing, incoming, backends, readings), readings }
}

/** Every pooler answered, or the phase fails naming the input; nothing has changed yet. */
export function requireReadable(readings: PoolerReading[]): void {
  const bad = readings.filter((r) => r.error !== undefined)
  if (bad.length === 0) return
  throw new DatabaseError(
    `${POOLER_INPUT}: cannot read ${bad.map((r) => `pooler ${r.label} (entry ${r.line}): ${r.error}`).join('; ')}. Nothing was changed.`,
    `Check the console URI's host, port, user and password, and that the user is in the pooler's stats_users (admin_users for KILL_CLIENT).`,
  )
}

/**
 * The sessions close and abort plan on: a login's backends that a listed
 * pooler holds idle are not sessions that anyone uses, so they are taken out;
 * the poolers' clients of the login are added (shown as database@pooler).
 */
export function sessionsSeenThroughPoolers(
  groups: SessionGroup[],
  j: LoginJudgement,
  readings: PoolerReading[],
): SessionGroup[] {
  const out = groups.map((g) => ({ ...g }))
  for (const s of j.heldIdle) {
    const g = out.find(
      (x) =>
        (x.server ?? 'primary') === 'primary' &&
        x.login === s.login &&
        x.database === s.database &&
        x.applicationName === s.applicationName &&
        x.clientAddr === s.clientAddr &&
        x.count > 0,
    )
    if (g) g.count--
  }
  for (const r of readings) {
    for (const c of r.snapshot?.clients.filter((x) => x.user === j.login) ?? []) {
      out.push({
        server: `pooler ${r.label}`,
        login: c.user,
        database: c.database,
        applicationName: c.applicationName,
        clientAddr: c.addr,
        count: 1,
      })
    }
  }
  return out.filter((g) => g.count > 0)
}

/** Per pooler label, why its console cannot run KILL_CLIENT although the pooler has it. */
export type KillRights = Record<string, string>

/**
 * KILL_CLIENT for every pooler client of the login, or, when a pooler holding
 * such clients cannot (before PgBouncer 1.24, or a console user not in
 * admin_users), the reason it refuses.
 */
export function killRefusal(readings: PoolerReading[], login: string, rights: KillRights = {}): string | null {
  const blocked = clientsToKill(readings, login, supportsKillClient).filter((k) => !k.supported || rights[k.label])
  if (blocked.length === 0) return null
  return `${blocked
    .map((b) =>
      b.supported
        ? `pooler ${b.label} has ${b.clients} client(s) of "${login}", but ${rights[b.label]}`
        : `pooler ${b.label} (${b.version}) has ${b.clients} client(s) of "${login}" and no KILL_CLIENT (PgBouncer 1.24 or later has it)`,
    )
    .join('; ')}, so they cannot be ended`
}

/**
 * Before anything changes: asks each pooler that has KILL_CLIENT and holds
 * clients of these logins whether its console may run it (admin_users), so a
 * phase that will need KILL_CLIENT refuses up front rather than after its commit.
 */
export async function probeKillRights(
  deps: PooledDeps,
  readings: PoolerReading[],
  logins: readonly string[],
): Promise<KillRights> {
  const rights: KillRights = {}
  for (const login of logins)
    for (const k of clientsToKill(readings, login, supportsKillClient).filter((x) => x.supported)) {
      if (k.label in rights) continue
      const why = await deps.poolers.killRights(k.label)
      if (why) rights[k.label] = why
    }
  return rights
}

export async function killPoolerClients(deps: PooledDeps, readings: PoolerReading[], login: string): Promise<number> {
  let n = 0
  for (const k of clientsToKill(readings, login, supportsKillClient).filter((x) => x.supported))
    n += await deps.poolers.killClients(k.label, k.ids)
  return n
}

/**
 * After a login is disabled: end its server connections that a listed pooler
 * holds idle, on poolers where it has no client left, so no authenticated
 * connection of it stays in any pool. (A pooler would hand such a connection
 * to a new client of the login that it still authenticates from an auth_file.)
 * Terminating an idle server connection is safe: PgBouncer drops it, and no
 * client is using it. Returns how many were ended.
 */
export async function endIdlePooledServers(
  deps: PooledDeps,
  login: string,
): Promise<{ ended: number; unreadable: string[] }> {
  const readings = await deps.poolers.read()
  const unreadable = readings.filter((r) => r.error !== undefined).map((r) => `${r.label}: ${r.error}`)
  const clientFree = readings.filter((r) => r.snapshot && !r.snapshot.clients.some((c) => c.user === login))
  const j = judgeLogin(login, await readBackends(deps.session.client, [login]), clientFree)
  const pids = j.heldIdle.map((s) => s.pid)
  if (pids.length === 0) return { ended: 0, unreadable }
  let ended: number
  try {
    ended = (await deps.session.client.query(TERMINATE_BACKENDS, [login, pids])).rows[0].terminated
  } catch (e) {
    // After the commit nothing may fail the phase: say what is left and why.
    deps.reporter.warning(
      `Could not end ${pids.length} idle pooled server connection(s) of "${login}": ${(e as Error).message}. Grant pg_signal_backend to the admin role; until then they close at the pooler's server_idle_timeout.`,
    )
    return { ended: 0, unreadable }
  }
  const end = deps.now().getTime() + 5000
  while (deps.now().getTime() < end) {
    const left = (await readBackends(deps.session.client, [login])).filter((b) => pids.includes(b.pid))
    if (left.length === 0) break
    await deps.sleep(50)
  }
  return { ended, unreadable }
}
