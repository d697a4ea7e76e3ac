/**
 * Connection poolers in front of the database (PgBouncer, or a pooler whose
 * admin console answers like PgBouncer's), given by `pgbouncer-urls`.
 *
 * In transaction pooling, pg_stat_activity shows the pooler's server
 * connections, not the application's clients: idle server connections of the
 * old login make a drained rotation look busy, and an idle client logged in to
 * the pooler holds no server connection, so a busy rotation looks drained. The
 * console tells the truth: SHOW CLIENTS (who is logged in to the pooler),
 * SHOW SERVERS (which backend pid each pooled server connection is, and
 * whether a client uses it). This module reads it (simple query protocol only:
 * no bound parameters) and decides with a pure function.
 */
import { openConnection, type Client } from './db.js'
import { oneLine } from '../domain/escape.js'
import { systemClock, type Clock } from '../domain/clock.js'
import { AuthRefused } from './negotiate.js'
import type { PoolerTarget } from '../inputs/pooler-urls.js'
import { CONSOLE, killClient } from './statements.js'

/**
 * How long a console may take. A console that accepts the connection and never
 * answers must not hold a phase (or, inside close's transaction, the family's
 * locks): each command has a deadline, a whole read of one pooler another, and a
 * connection whose deadline passed is destroyed, not politely closed.
 */
export interface PoolerLimits {
  /** Opening the console connection (TCP, TLS, startup and authentication). */
  connectMs: number
  /** One console command (SHOW ..., KILL_CLIENT). */
  commandMs: number
  /** One read of one pooler: connecting and every command of it. */
  readMs: number
  /** A read that starts at or after the phase's deadline (setDeadline) still gets this long: a last look. */
  lastLookMs: number
}

export const POOLER_LIMITS: PoolerLimits = { connectMs: 5000, commandMs: 5000, readMs: 15_000, lastLookMs: 1000 }

/** The first PgBouncer release with KILL_CLIENT. */
export const KILL_CLIENT_SINCE: [number, number] = [1, 24]

export { POOLER_INPUT, parsePoolerUrls, type PoolerTarget } from '../inputs/pooler-urls.js'

// ---- what the console says ----------------------------------------------------

export interface PoolerClient {
  user: string
  database: string
  state: string
  addr: string | null
  applicationName: string
  /** KILL_CLIENT's argument (the `id` column, PgBouncer 1.24+). */
  id: string | null
  /** With addr, what tells clients apart where there is no id (before 1.24). */
  port?: string
  connectTime?: string
}

export interface PoolerServer {
  user: string
  database: string
  state: string
  /** The PostgreSQL backend's pid. */
  remotePid: number
  /** A client is linked to it (state active, or a link set). */
  inUse: boolean
}

export interface PoolerSnapshot {
  label: string
  version: string
  /** [major, minor], or null when SHOW VERSION is not PgBouncer's. */
  versionNumber: [number, number] | null
  clients: PoolerClient[]
  servers: PoolerServer[]
  /** pool_mode per (database, user) pool. */
  pools: { database: string; user: string; poolMode: string }[]
  /** Database entries that force one server user (force_user). */
  forcedUsers: { database: string; user: string }[]
}

/** One pooler's answer for one poll: a snapshot, or why there is none. */
export type PoolerReading =
  | { label: string; line: number; snapshot: PoolerSnapshot; error?: undefined }
  | { label: string; line: number; snapshot?: undefined; error: string }

type Row = Record<string, unknown>

export function parseVersion(text: string): [number, number] | null {
  const m = /PgBouncer\s+(\d+)\.(\d+)/i.exec(text)
  return m ? [Number(m[1]), Number(m[2])] : null
}

export function supportsKillClient(v: [number, number] | null): boolean {
  return v !== null && (v[0] > KILL_CLIENT_SINCE[0] || (v[0] === KILL_CLIENT_SINCE[0] && v[1] >= KILL_CLIENT_SINCE[1]))
}

function need(rows: Row[], columns: string[], command: string): void {
  const missing = rows.length ? columns.filter((c) => !(c in rows[0])) : []
  if (missing.length) throw new Error(`unexpected answer to ${command}: no column ${missing.join(', ')}`)
}

// Raw text: names are compared with the roles the action knows; escaping happens where text is shown.
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v))

export function parseClients(rows: Row[]): PoolerClient[] {
  need(rows, ['user', 'database', 'state'], 'SHOW CLIENTS')
  return rows.map((r) => ({
    user: str(r.user),
    database: str(r.database),
    state: str(r.state),
    addr: r.addr === null || r.addr === undefined || r.addr === '' ? null : String(r.addr),
    applicationName: str(r.application_name),
    id: r.id === undefined || r.id === null ? null : String(r.id),
    port: r.port === undefined || r.port === null ? undefined : String(r.port),
    connectTime: r.connect_time === undefined || r.connect_time === null ? undefined : String(r.connect_time),
  }))
}

export function parseServers(rows: Row[]): PoolerServer[] {
  need(rows, ['user', 'database', 'state', 'remote_pid'], 'SHOW SERVERS')
  return rows.map((r) => ({
    user: str(r.user),
    database: str(r.database),
    state: str(r.state),
    remotePid: Number(r.remote_pid),
    inUse: str(r.state).startsWith('active') || str(r.state) === 'being_canceled' || str(r.link) !== '',
  }))
}

export function parsePools(rows: Row[]): PoolerSnapshot['pools'] {
  need(rows, ['database', 'user', 'pool_mode'], 'SHOW POOLS')
  return rows.map((r) => ({ database: str(r.database), user: str(r.user), poolMode: str(r.pool_mode) }))
}

export function parseForcedUsers(rows: Row[]): PoolerSnapshot['forcedUsers'] {
  return rows
    .filter((r) => r.force_user && str(r.name) !== 'pgbouncer')
    .map((r) => ({ database: str(r.name), user: str(r.force_user) }))
}

// ---- the console client -------------------------------------------------------

/** Why a console login failed, in a few words that never hold the URI. */
export function consoleLoginError(e: unknown): string {
  const err = e as { code?: string; message?: string }
  const msg = err.message ?? String(e)
  if (e instanceof AuthRefused) return oneLine(msg)
  if (/does not support SSL/i.test(msg))
    return 'the console does not support TLS, and the URI requires it (sslmode=require or verify-*); configure client_tls_* on PgBouncer, or set sslmode=prefer'
  if (err.code === '28P01' || /SASL|password authentication|password must be a string/i.test(msg))
    return 'password authentication failed for the console user'
  if (err.code && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNRESET'].includes(err.code))
    return `cannot reach it (${err.code})`
  if (/timeout/i.test(msg)) return 'connection timed out'
  if (/not allowed|no such user|login rejected/i.test(msg))
    return `the console refused the login (${oneLine(msg)}): the user must be in stats_users or admin_users`
  return oneLine(msg)
}

/** The listed poolers' consoles; one connection each, reopened after an error. */
export class Poolers {
  #clients: (Client | null)[]
  #killRights = new Map<string, string | null>()

  /** Epoch ms (on the clock) by which every read must end; see setDeadline. */
  #deadline: number | undefined
  #ended = false

  constructor(
    readonly targets: PoolerTarget[],
    private readonly applicationName: string,
    readonly limits: PoolerLimits = POOLER_LIMITS,
    private readonly clock: Clock = systemClock,
  ) {
    this.#clients = targets.map(() => null)
  }

  get count(): number {
    return this.targets.length
  }

  /**
   * Bounds every later read and command by a phase's deadline (epoch ms on the
   * clock), verify-drain's timeout: a read that starts after it still gets
   * limits.lastLookMs, so the last look is bounded too.
   */
  setDeadline(epochMs: number): void {
    this.#deadline = epochMs
  }

  /** How long a read (or a command outside one) may take from now. */
  #budget(): number {
    const { readMs, lastLookMs } = this.limits
    if (this.#deadline === undefined) return readMs
    return Math.min(readMs, Math.max(this.#deadline - this.clock.now().getTime(), lastLookMs))
  }

  /** Reads every pooler; a pooler that cannot be read yields a reading with the reason, never a throw. */
  async read(): Promise<PoolerReading[]> {
    const until = Date.now() + this.#budget()
    return Promise.all(this.targets.map((t, i) => this.#readOne(t, i, until)))
  }

  /** A console command with a deadline: past it (or past `until`), the connection is destroyed and the command fails. */
  async #command(c: Client, command: string, until: number): Promise<Row[]> {
    const ms = Math.max(0, Math.min(this.limits.commandMs, until - Date.now()))
    const rows = await within(c.query(command), ms, () => destroy(c), `no answer to ${command} within ${ms} ms`)
    return rows.rows as Row[]
  }

  async #readOne(t: PoolerTarget, i: number, until: number): Promise<PoolerReading> {
    try {
      const c = await this.#client(i, until)
      const q = async (command: string) => {
        try {
          return await this.#command(c, command, until)
        } catch (e) {
          if (e instanceof Stalled)
            throw new Error(`${e.message}: the console stalled, its connection was closed`, { cause: e })
          throw new Error(
            `unexpected answer to ${command}: ${(e as Error).message} (is this a PgBouncer admin console?)`,
            { cause: e },
          )
        }
      }
      const versionText = str((await q(CONSOLE.version))[0]?.version)
      const snapshot: PoolerSnapshot = {
        label: t.label,
        version: oneLine(versionText) || 'unknown',
        versionNumber: parseVersion(versionText),
        clients: parseClients(await q(CONSOLE.clients)),
        servers: parseServers(await q(CONSOLE.servers)),
        pools: parsePools(await q(CONSOLE.pools)),
        forcedUsers: parseForcedUsers(await q(CONSOLE.databases)),
      }
      return { label: t.label, line: t.line, snapshot }
    } catch (e) {
      const c = this.#clients[i]
      this.#clients[i] = null
      await endWithin(c)
      return { label: t.label, line: t.line, error: oneLine((e as Error).message) }
    }
  }

  /** The console connection, opened if needed within limits.connectMs and by `until` (Date.now() ms). */
  async #client(i: number, until: number): Promise<Client> {
    const existing = this.#clients[i]
    if (existing) return existing
    const t = this.targets[i]
    let c: Client
    try {
      // The same sslmode, require_auth and channel_binding rules as every other connection.
      c = await openConnection(
        { url: t.url },
        {
          applicationName: this.applicationName,
          connectTimeoutMs: Math.max(1, Math.min(this.limits.connectMs, until - Date.now())),
        },
        null,
      )
    } catch (e) {
      throw new Error(consoleLoginError(e), { cause: e })
    }
    // A connection that completes after the read gave up on it, or after end(), is not kept open.
    if (this.#ended) {
      destroy(c)
      throw new Error('the phase has ended')
    }
    this.#clients[i] = c
    return c
  }

  /**
   * Whether the console user may run KILL_CLIENT (it is in admin_users), asked once per pooler
   * with a KILL_CLIENT that ends nobody. Returns the reason it cannot, or null when it can.
   */
  async killRights(label: string): Promise<string | null> {
    const known = this.#killRights.get(label)
    if (known !== undefined) return known
    const i = this.targets.findIndex((t) => t.label === label)
    const until = Date.now() + this.#budget()
    const c = await this.#client(i, until)
    let why: string | null
    try {
      await this.#command(c, CONSOLE.killRightsProbe, until)
      why = null
    } catch (e) {
      const msg = (e as Error).message
      if (e instanceof Stalled) this.#clients[i] = null
      if (/client not found/i.test(msg)) why = null
      else if (/admin access needed/i.test(msg))
        why = 'its console user is not in admin_users (a stats_users console cannot run KILL_CLIENT)'
      else why = `KILL_CLIENT is refused there (${oneLine(msg)})`
    }
    this.#killRights.set(label, why)
    return why
  }

  /** KILL_CLIENT for each client id on one pooler (PgBouncer 1.24+). Returns how many were killed. */
  async killClients(label: string, ids: string[]): Promise<number> {
    const i = this.targets.findIndex((t) => t.label === label)
    const until = Date.now() + this.#budget()
    const c = await this.#client(i, until)
    let n = 0
    for (const id of ids) {
      if (!/^\d+$/.test(id)) continue
      try {
        await this.#command(c, killClient(id), until)
      } catch (e) {
        if (!(e instanceof Stalled)) throw e
        this.#clients[i] = null
        throw new Error(
          `${POOLER_NAME} ${label}: ${e.message} (after ending ${n} client(s)); its connection was closed`,
          { cause: e },
        )
      }
      n++
    }
    return n
  }

  /** Closes every console connection; one that does not close at once (a stalled console) is destroyed. */
  async end(): Promise<void> {
    this.#ended = true
    await Promise.all(this.#clients.map((c) => endWithin(c)))
    this.#clients = this.targets.map(() => null)
  }
}

const POOLER_NAME = 'pooler'

/** A deadline that passed. */
class Stalled extends Error {}

/**
 * Settles like `p`, or rejects with Stalled(message) after `ms`, calling
 * onExpire first (to destroy what `p` waits on). The timer never outlives `p`.
 */
function within<T>(p: Promise<T>, ms: number, onExpire: () => void, message: string): Promise<T> {
  p.catch(() => {}) // a late failure of what was given up on is not unhandled
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onExpire()
      reject(new Stalled(message))
    }, ms)
  })
  return Promise.race([p, expired]).finally(() => clearTimeout(timer))
}

/** Tears the connection down at once: no Terminate message, no waiting for the console. */
function destroy(c: Client): void {
  ;(c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
}

/** Ends a console connection politely, or destroys it when the console does not let it go within a second. */
async function endWithin(c: Client | null): Promise<void> {
  if (!c) return
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    c.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000)
    }),
  ])
  clearTimeout(timer)
  destroy(c)
}
