/** Credentials as a deploy receives them: the action's database-url output, or a user and password. */
export type Credentials = { url: string } | { user: string; password: string }

export interface AppOptions {
  host?: string
  port?: number
  database?: string
  credentials: Credentials
  /** The group role every session must run as (current_user). */
  group: string
  /** The schema the application creates and writes into. */
  schema: string
  /** Pool size and number of workers (default 50). */
  workers?: number
  /** Each worker runs a SELECT and an INSERT every tickMs (default 40). */
  tickMs?: number
  /** Pool connections are replaced after this long (default 3). */
  maxLifetimeSeconds?: number
  /** A deploy ends the old pool this long after moving traffic, at the earliest (default 500). */
  graceMs?: number
  connectionTimeoutMillis?: number
  applicationName?: string
  /** Values redacted from recorded error messages. */
  secrets?: string[]
  /** A statement each worker also runs every tick, as written (e.g. an unqualified SELECT that relies on the login's search_path). */
  query?: string
}

export interface Bucket {
  ok: number
  failed: number
  connectFailed: number
  connects: number
}

export interface AppStats {
  ok: number
  failed: number
  connectFailed: number
  idleErrors: number
  /** Connections opened, per login. */
  connects: Record<string, number>
  /** Successful queries, per session_user. */
  okBy: Record<string, number>
  connectFailures: { at: number; user: string; message: string }[]
  deploys: { at: number; user: string; version: number; oldEndedAt: number | null }[]
  perSecond: (Bucket & { second: number })[]
  errors: string[]
  pools: { user: string; total: number; idle: number; waiting: number }
}

export interface App {
  readonly startedAt: number
  readonly user: string
  readonly version: number
  /** Resolves once every worker has finished a tick: the pool holds all its connections, all under load. */
  warmedUp(): Promise<void>
  deploy(creds: Credentials): Promise<{ user: string; version: number; retired: Promise<void> }>
  retired(): Promise<void>
  stats(): AppStats
  stop(): Promise<void>
}

export declare function userOf(creds: Credentials): string
export declare function startApp(options: AppOptions): Promise<App>
