/**
 * The drain rule with poolers, as pure functions over what PostgreSQL and the
 * poolers' consoles said in one poll. Nothing here touches a connection.
 *
 * A login is drained when
 *  (a) no listed pooler has a client logged in as it, in any state, and
 *  (b) each of its server sessions is gone, or is a server connection that a
 *      listed pooler holds (matched by the backend pid) and no client uses;
 * and every listed pooler answered. A pooler that did not answer makes the
 * poll "not drained", never "drained".
 */
import type { PoolerReading } from '../postgres/poolers.js'

/** One backend of pg_stat_activity (primary only: pooler pids are matched against it). */
export interface BackendSession {
  pid: number
  /** pg_stat_activity.backend_start: with the pid, tells a new backend from an ended one whose pid it reuses. */
  started?: string | null
  login: string
  database: string | null
  state: string | null
  clientAddr: string | null
  /** The admin may not see the client address (see SessionGroup.addrHidden). */
  addrHidden?: boolean
  applicationName: string
}

export interface PoolerView {
  label: string
  version: string
  /** Clients per login (of the logins asked about). */
  clients: Record<string, number>
  /** Server connections per login, and how many of them a client uses. */
  servers: Record<string, { total: number; inUse: number }>
  error?: string
}

export interface LoginJudgement {
  login: string
  /** Clients logged in to a listed pooler as this login. */
  clients: number
  /** Backends of the login that no listed pooler holds (direct connections, or an unlisted pooler's). */
  unpooled: number
  /** Backends a listed pooler holds and a client uses. */
  heldInUse: number
  /** Backends a listed pooler holds and no client uses: harmless, ended by close. */
  heldIdle: BackendSession[]
  /** What counts toward remaining-connections (and min-new-connections for the incoming login). */
  count: number
}

export interface DrainJudgement {
  outgoing: LoginJudgement
  incoming: LoginJudgement
  /** Poolers that could not be read this poll: "host:port: reason". */
  unreadable: string[]
  drained: boolean
  views: PoolerView[]
}

/** Counts one login against the poolers' snapshots. */
export function judgeLogin(login: string, sessions: BackendSession[], readings: PoolerReading[]): LoginJudgement {
  let clients = 0
  const held = new Map<number, boolean>()
  for (const r of readings) {
    if (!r.snapshot) continue
    clients += r.snapshot.clients.filter((c) => c.user === login).length
    for (const s of r.snapshot.servers)
      if (s.user === login) held.set(s.remotePid, (held.get(s.remotePid) ?? false) || s.inUse)
  }
  let unpooled = 0
  let heldInUse = 0
  const heldIdle: BackendSession[] = []
  for (const s of sessions.filter((x) => x.login === login)) {
    const inUse = held.get(s.pid)
    if (inUse === undefined) unpooled++
    else if (inUse) heldInUse++
    else heldIdle.push(s)
  }
  // A server connection in use belongs to a client already counted, unless a
  // database entry forces this user for another login's clients: then count it.
  const count = clients + unpooled + (clients === 0 ? heldInUse : 0)
  return { login, clients, unpooled, heldInUse, heldIdle, count }
}

export function judgeDrain(
  outgoing: string,
  incoming: string,
  sessions: BackendSession[],
  readings: PoolerReading[],
): DrainJudgement {
  const out = judgeLogin(outgoing, sessions, readings)
  const inc = judgeLogin(incoming, sessions, readings)
  const unreadable = readings.filter((r) => r.error !== undefined).map((r) => `${r.label}: ${r.error}`)
  return {
    outgoing: out,
    incoming: inc,
    unreadable,
    drained: unreadable.length === 0 && out.count === 0,
    views: poolerViews(readings, [outgoing, incoming]),
  }
}

export function poolerViews(readings: PoolerReading[], logins: string[]): PoolerView[] {
  return readings.map((r) => {
    if (!r.snapshot) return { label: r.label, version: 'unknown', clients: {}, servers: {}, error: r.error }
    const clients: Record<string, number> = {}
    const servers: PoolerView['servers'] = {}
    for (const l of logins) {
      clients[l] = r.snapshot.clients.filter((c) => c.user === l).length
      const mine = r.snapshot.servers.filter((s) => s.user === l)
      servers[l] = { total: mine.length, inUse: mine.filter((s) => s.inUse).length }
    }
    return { label: r.label, version: r.snapshot.version, clients, servers }
  })
}

/** "pooler 127.0.0.1:6432: app_a 1 client, app_b 3 clients; pooler ...: unreadable (reason)" */
export function describePoolers(views: PoolerView[], logins: string[]): string {
  return views
    .map((v) => {
      if (v.error !== undefined) return `pooler ${v.label}: not readable (${v.error})`
      const parts = logins.map(
        (l) =>
          `"${l}" ${v.clients[l] ?? 0} client(s), ${v.servers[l]?.total ?? 0} server connection(s) (${v.servers[l]?.inUse ?? 0} in use)`,
      )
      return `pooler ${v.label}: ${parts.join('; ')}`
    })
    .join(' | ')
}

/**
 * Without pgbouncer-urls: do the remaining sessions look like a pooler's idle
 * server connections (all idle, all from one client address)? Returns that
 * address, or null (also when the admin may not see the addresses).
 */
export function looksPooled(sessions: BackendSession[], login: string): string | null {
  const mine = sessions.filter((s) => s.login === login)
  // A hidden address (no pg_read_all_stats) is unknown, not one host shared by all.
  if (mine.length === 0 || mine.some((s) => s.addrHidden)) return null
  const addrs = new Set(mine.map((s) => s.clientAddr ?? 'local socket'))
  if (addrs.size !== 1 || !mine.every((s) => s.state === 'idle')) return null
  return [...addrs][0]
}

/** Pooler clients of a login, per pooler, with the KILL_CLIENT ids and whether the pooler supports it. */
export function clientsToKill(
  readings: PoolerReading[],
  login: string,
  supports: (v: [number, number] | null) => boolean,
): { label: string; version: string; ids: string[]; clients: number; supported: boolean }[] {
  const out: { label: string; version: string; ids: string[]; clients: number; supported: boolean }[] = []
  for (const r of readings) {
    if (!r.snapshot) continue
    const mine = r.snapshot.clients.filter((c) => c.user === login)
    if (mine.length === 0) continue
    const ids = mine.map((c) => c.id).filter((x): x is string => x !== null)
    out.push({
      label: r.label,
      version: r.snapshot.version,
      ids,
      clients: mine.length,
      supported: supports(r.snapshot.versionNumber) && ids.length === mine.length,
    })
  }
  return out
}
