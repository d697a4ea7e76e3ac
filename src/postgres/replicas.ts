import type { QueryConfig } from 'pg'
import { parse } from 'pg-connection-string'
import { close, connect, isConnectionLost, isQueryTimeout, type Client } from './db.js'
import { DatabaseError } from '../domain/errors.js'
import type { SessionGroup } from '../domain/family.js'
import { readSessions, waitBackendGone } from './observe.js'
import { readBackends } from './pooled.js'
import type { BackendSession } from '../domain/drain-rule.js'
import {
  CLEAR_STATS_SNAPSHOT,
  IS_STANDBY,
  REPLAY_POSITION,
  SYSTEM_IDENTIFIER,
  TERMINATE_SESSIONS,
} from './statements.js'
import type { ConnectionTarget } from './urls.js'

/** How long one statement on a replica may take: a replica that stops answering is a failure, never a hang. */
const REPLICA_QUERY_TIMEOUT_MS = 15_000

/** A statement with its own client-side time limit (pg honours query_timeout per query; its types omit it). */
function timed(text: string, values: unknown[], queryTimeoutMs: number): QueryConfig {
  return { text, values, query_timeout: queryTimeoutMs } as QueryConfig
}

/** Where a replica is in the WAL, relative to a commit on the primary. */
export interface ReplayPosition {
  /** pg_last_wal_replay_lsn(), e.g. "0/3000148". */
  replayed: string
  /** pg_last_wal_receive_lsn(); null when it streams nothing (e.g. restores from an archive). */
  received: string | null
  /** Bytes from the replay position to the commit; negative once past it. */
  behind: bigint
  /** Age of the last transaction it replayed, in seconds; null before it replayed any. */
  replayAgeS: number | null
  /** Its recovery_min_apply_delay, e.g. "0" or "3s". */
  applyDelay: string
}

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

  /** The connection target of replica i (the login check connects there as the new login). */
  target(i: number): ConnectionTarget {
    return this.targets[i]
  }

  /** How messages name replica i: "host:port (replica-urls line n)". */
  describe(i: number): string {
    return `replica ${this.labels[i]} (replica-urls line ${i + 1})`
  }

  async #client(i: number, connectTimeoutMs?: number): Promise<Client> {
    const existing = this.#clients[i]
    if (existing) return existing
    const c = await connect(this.targets[i], this.describe(i), {
      applicationName: this.applicationName,
      queryTimeoutMs: REPLICA_QUERY_TIMEOUT_MS,
      ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
    })
    this.#clients[i] = c
    return c
  }

  /**
   * Runs fn on replica i; a lost connection is reopened once. With `deadline` (a Date.now() time,
   * replica-timeout's end), the reconnect gets only the time left.
   */
  async #on<T>(i: number, fn: (c: Client, label: string) => Promise<T>, deadline?: number): Promise<T> {
    const left = () => (deadline === undefined ? undefined : Math.max(1, deadline - Date.now()))
    try {
      return await fn(await this.#client(i, left()), this.labels[i])
    } catch (e) {
      if (isQueryTimeout(e)) {
        // No answer: the connection is stuck behind the statement, and a polite end would wait on it too.
        const stuck = this.#clients[i] as unknown as { connection?: { stream?: { destroy(): void } } } | null
        stuck?.connection?.stream?.destroy()
        this.#clients[i] = null
        throw e
      }
      if (!isConnectionLost(e)) throw e
      await close(this.#clients[i])
      this.#clients[i] = null
      return fn(await this.#client(i, left()), this.labels[i])
    }
  }

  /** Runs fn on every replica, one after the other. */
  async #each<T>(fn: (c: Client, label: string) => Promise<T>): Promise<T[]> {
    const out: T[] = []
    for (let i = 0; i < this.targets.length; i++) out.push(await this.#on(i, fn))
    return out
  }

  /**
   * Before a phase changes anything: every replica answers and is a standby (a
   * server that is not in recovery never replays the phase's commit). The
   * error names the replica and says that nothing was changed.
   */
  async checkStandbys(phase: string, primary: Client): Promise<void> {
    const system = this.targets.length ? await systemIdentifier(primary) : null
    for (let i = 0; i < this.targets.length; i++) {
      let standby: boolean
      let theirs: string | null
      try {
        standby = await this.#on(i, async (c) => (await c.query(IS_STANDBY)).rows[0].standby === true)
        theirs = await this.#on(i, systemIdentifier)
      } catch (e) {
        throw new DatabaseError(
          `${(e as Error).message} Nothing was changed: ${phase} checks that every replica of replica-urls answers before it changes anything, since it then waits for each to replay its change.`,
          'Fix the replica (or its URI), or remove it from replica-urls, then run the phase again.',
          (e as { code?: string }).code,
        )
      }
      if (!standby)
        throw new DatabaseError(
          `${this.describe(i)} is not a standby (pg_is_in_recovery() is false), so it would never replay ${phase}'s change. Nothing was changed.`,
          "List only streaming standbys of admin-url's server in replica-urls (a primary, or a replica that was promoted, does not belong there).",
        )
      if (system !== null && theirs !== null && theirs !== system)
        throw new DatabaseError(
          `${this.describe(i)} is a standby of another cluster (system identifier ${theirs}; admin-url's server has ${system}), so it would never replay ${phase}'s change, and its WAL positions say nothing about it. Nothing was changed.`,
          "List only streaming standbys of admin-url's server in replica-urls; check that admin-url and replica-urls name the same cluster.",
        )
    }
  }

  /**
   * Where replica i is relative to the commit at lsn (pg_lsn text). With `deadline` (a Date.now()
   * time), the query and any reconnect may take only the time left (at most the usual limit).
   */
  async replayPosition(i: number, lsn: string, deadline?: number): Promise<ReplayPosition> {
    const limit = () =>
      deadline === undefined
        ? REPLICA_QUERY_TIMEOUT_MS
        : Math.min(REPLICA_QUERY_TIMEOUT_MS, Math.max(1, deadline - Date.now()))
    const row = await this.#on(
      i,
      async (c) => (await c.query(timed(REPLAY_POSITION, [lsn], limit()))).rows[0],
      deadline,
    )
    if (row.replayed === null)
      throw new DatabaseError(
        `${this.describe(i)} is no longer a standby (pg_last_wal_replay_lsn() is null: was it promoted?).`,
        'Remove it from replica-urls if it is now a primary.',
      )
    return {
      replayed: row.replayed,
      received: row.received,
      behind: BigInt(row.behind),
      replayAgeS: row.replay_age_s,
      applyDelay: row.apply_delay,
    }
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

  /** Waits until backend `pid` of replica i has left its pg_stat_activity (or limitMs passed). */
  async waitBackendGone(i: number, pid: number, limitMs: number): Promise<void> {
    await this.#on(i, (c) => waitBackendGone(c, pid, limitMs))
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

/** The cluster's system identifier, or null where pg_control_system() cannot be read (the check is then skipped). */
async function systemIdentifier(c: Client): Promise<string | null> {
  try {
    return ((await c.query(SYSTEM_IDENTIFIER)).rows[0]?.system as string | undefined) ?? null
  } catch (e) {
    if (isConnectionLost(e)) throw e
    return null
  }
}
