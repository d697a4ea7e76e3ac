import type pg from 'pg'
export declare function pgbouncerBinary(): string | null
/** Every distinct PgBouncer installed here, oldest first. */
export declare function pgbouncerBinaries(): { bin: string; version: string }[]
/** True when this PgBouncer ("PgBouncer 1.25.2") has KILL_CLIENT (1.24+). */
export declare function hasKillClient(version: string): boolean
/** The (server, PgBouncer) pairs the pooler tests run on. */
export declare function poolerPairs<S extends { major: number }>(
  servers: S[],
): { server: S; bin: string; version: string; killClient: boolean }[]
/** Why pooler tests are skipped here, or null when they can run. */
export declare function pgbouncerMissing(): string | null
export interface ServerInfo {
  host: string
  port: number
  /** A superuser URI of the server (to create the auth_query function). */
  url: string
}
export interface PgBouncerOptions {
  poolMode?: 'transaction' | 'session' | 'statement'
  /** Extra [pgbouncer] settings. */
  settings?: Record<string, string>
  /** Extra [databases] lines, e.g. a database entry that forces one user. */
  databases?: string[]
  /** The pgbouncer binary (one of pgbouncerBinaries()); default: the oldest installed. */
  bin?: string
  /**
   * auth_file mode: no auth_query; application logins authenticate only against the
   * lines written with writeUserlist (SCRAM verifiers: SCRAM pass-through to the server).
   */
  authFile?: boolean
}
export interface PgBouncer {
  host: string
  port: number
  version: string
  logFile: string
  /** Console URI of the admin user (admin_users). */
  adminUrl: string
  /** Console URI of the stats user (stats_users: SHOW only). */
  statsUrl: string
  statsPassword: string
  /** A client of the pooler as a login, on database postgres. */
  connect(user: string, password: string, applicationName?: string): Promise<pg.Client>
  /** Runs a console command (simple query protocol) as the admin user. */
  console(command: string): Promise<Record<string, unknown>[]>
  /** Rewrites userlist.txt: the console users' lines, then `lines` (e.g. the pgbouncer-userlist output). */
  writeUserlist(lines: string): void
  /** RELOAD through the admin console: PgBouncer re-reads its config and auth_file. */
  reload(): Promise<void>
  stop(): Promise<void>
}
export declare function startPgBouncer(server: ServerInfo, opts?: PgBouncerOptions): Promise<PgBouncer>
