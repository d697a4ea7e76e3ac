import { parse } from 'pg-connection-string'
import { close, connect, isConnectionLost, type Client } from './db.js'
import type { SessionGroup } from '../domain/family.js'
import { readSessions } from './observe.js'
import { readBackends } from './pooled.js'
import type { BackendSession } from '../domain/drain-rule.js'
import { CLEAR_STATS_SNAPSHOT, TERMINATE_SESSIONS } from './statements.js'
import type { ConnectionTarget } from './urls.js'

/**
 * Read replicas given by `replica-urls`. pg_stat_activity only shows the server
 * it runs on, so sessions are counted (and, when asked, terminated) on each.
 */
export class Replicas {
  #clients: (Client | null)[]

  private constructor(
    private readonly targets: ConnectionTarget[],
    readonly labels: string[],
    private readonly applicationName: string,
  ) {
    this.#clients = targets.map(() => null)
  }

  static create(targets: ConnectionTarget[], applicationName: string): Replicas {
    const labels = targets.map((t, i) => {
      if (!t.url) return `replica ${i + 1}`
      try {
        const c = parse(t.url)
        return `${c.host ?? 'replica'}:${c.port ?? 5432}`
      } catch {
        return `replica ${i + 1}`
      }
    })
    return new Replicas(targets, labels, applicationName)
  }

  get count(): number {
    return this.targets.length
  }

  async #client(i: number): Promise<Client> {
    const existing = this.#clients[i]
    if (existing) return existing
    const c = await connect(this.targets[i], `replica ${this.labels[i]} (replica-urls line ${i + 1})`, {
      applicationName: this.applicationName,
    })
    this.#clients[i] = c
    return c
  }

  /** Runs fn on every replica; a lost connection is reopened once. */
  async #each<T>(fn: (c: Client, label: string) => Promise<T>): Promise<T[]> {
    const out: T[] = []
    for (let i = 0; i < this.targets.length; i++) {
      try {
        out.push(await fn(await this.#client(i), this.labels[i]))
      } catch (e) {
        if (!isConnectionLost(e)) throw e
        await close(this.#clients[i])
        this.#clients[i] = null
        out.push(await fn(await this.#client(i), this.labels[i]))
      }
    }
    return out
  }

  async sessions(logins: readonly string[]): Promise<SessionGroup[]> {
    const all = await this.#each(async (c, label) => {
      await c.query(CLEAR_STATS_SNAPSHOT)
      return readSessions(c, logins, label)
    })
    return all.flat()
  }

  /** Each replica's backends of these logins, one by one (pid), labelled with the replica. */
  async backends(logins: readonly string[]): Promise<(BackendSession & { server: string })[]> {
    const all = await this.#each(async (c, label) => {
      await c.query(CLEAR_STATS_SNAPSHOT)
      return (await readBackends(c, logins)).map((b) => ({ ...b, server: label }))
    })
    return all.flat()
  }

  async terminate(login: string): Promise<number> {
    const n = await this.#each(async (c) => (await c.query(TERMINATE_SESSIONS, [login])).rows[0].terminated as number)
    return n.reduce((a, b) => a + b, 0)
  }

  async end(): Promise<void> {
    await Promise.all(this.#clients.map((c) => close(c)))
    this.#clients = this.targets.map(() => null)
  }
}
