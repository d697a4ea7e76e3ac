import { close, connect, type Client } from './db.js'
import { oneLine } from '../domain/escape.js'
import type { ConnectionTarget } from './urls.js'
import { systemClock, type Clock } from '../domain/clock.js'

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
  ) {}

  get client(): Client {
    if (!this.#client) throw new Error('internal: admin session is not connected')
    return this.#client
  }

  async open(): Promise<Client> {
    this.#client = await connect(this.target, this.what, { applicationName: this.applicationName })
    return this.#client
  }

  async renew(): Promise<Client> {
    await close(this.#client)
    this.#client = null
    return this.open()
  }

  /** A second connection to the same database (the write-back record's autocommit statements). */
  async another(): Promise<Client> {
    return connect(this.target, `${this.what}, second connection`, { applicationName: this.applicationName })
  }

  /** A connection to the same server with the same credentials but another database. */
  async forDatabase(database: string): Promise<Client> {
    return connect(this.target, `${this.what}, database "${oneLine(database)}"`, {
      applicationName: this.applicationName,
      database,
    })
  }

  async end(): Promise<void> {
    await close(this.#client)
    this.#client = null
  }
}
