import { close, connect, type Client } from './db.js'
import { oneLine } from '../domain/escape.js'
import type { ConnectionTarget } from './urls.js'
import { systemClock, type Clock } from '../domain/clock.js'

/**
 * How long any statement on an admin connection may go unanswered before the
 * client gives up on it: above the phase transaction's statement_timeout
 * (120 s), so a busy server reports its own timeout first, and only a server
 * (or network) that stopped answering meets this one.
 */
export const ADMIN_QUERY_TIMEOUT_MS = 150_000

/**
 * The admin connection of a phase. A phase that loses it (server restart,
 * network) opens a new one with renew() and carries on.
 */
export class AdminSession {
  #client: Client | null = null

  constructor(
    private readonly target: ConnectionTarget,
    private readonly applicationName: string,
    private readonly what = 'admin connection (admin-url)',
    /** Overrides the phase transaction's lock_timeout (30 s); tests only. */
    readonly lockTimeoutMs?: number,
    /** The run's clock: applyInTransaction waits with it between attempts on this connection. */
    readonly clock: Clock = systemClock,
    /** Overrides the phase transaction's idle_in_transaction_session_timeout (5 min); tests only. */
    readonly idleInTransactionTimeoutMs?: number,
    /** The client-side limit of every statement on these connections. */
    private readonly queryTimeoutMs = ADMIN_QUERY_TIMEOUT_MS,
  ) {}

  get client(): Client {
    if (!this.#client) throw new Error('internal: admin session is not connected')
    return this.#client
  }

  async open(): Promise<Client> {
    this.#client = await connect(this.target, this.what, {
      applicationName: this.applicationName,
      queryTimeoutMs: this.queryTimeoutMs,
    })
    return this.#client
  }

  async renew(): Promise<Client> {
    await close(this.#client)
    this.#client = null
    return this.open()
  }

  /** A second connection to the same database (the write-back record's autocommit statements). */
  async another(): Promise<Client> {
    return connect(this.target, `${this.what}, second connection`, {
      applicationName: this.applicationName,
      queryTimeoutMs: this.queryTimeoutMs,
    })
  }

  /** A connection to the same server with the same credentials but another database. */
  async forDatabase(database: string): Promise<Client> {
    return connect(this.target, `${this.what}, database "${oneLine(database)}"`, {
      applicationName: this.applicationName,
      database,
      queryTimeoutMs: this.queryTimeoutMs,
    })
  }

  async end(): Promise<void> {
    await close(this.#client)
    this.#client = null
  }
}
