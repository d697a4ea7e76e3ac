import pg from 'pg'
import { DatabaseError } from '../domain/errors.js'
import { oneLine } from '../domain/escape.js'
import { PIN_SEARCH_PATH, RUN_AS_SESSION_USER } from './statements.js'
import { AuthGuard, AuthRefused, openStream } from './negotiate.js'
import { tlsAttempts } from './tls.js'
import { authPolicy, uriQuery, type AuthPolicy } from './uri-params.js'
import { clientConfig, type ConnectionTarget } from './urls.js'

export type Client = pg.Client

export interface ConnectOptions {
  applicationName: string
  /** Log in as this role instead of the target's user (the open phase's login check). */
  user?: string
  password?: string
  /** Connect to this database instead of the target's. */
  database?: string
  /** Drop the target's `options` (admin session settings such as -c log_statement=all). */
  withoutOptions?: boolean
  connectTimeoutMs?: number
  /** Client-side limit for every statement on this connection (a peer that stops answering). */
  queryTimeoutMs?: number
  /**
   * A login's own connection (open's login check): keep the role its settings give it.
   * Admin connections (the default) run as the role that logged in (RUN_AS_SESSION_USER).
   */
  asLogin?: boolean
}

/**
 * Opens a connection with search_path pinned to pg_catalog, TLS negotiated
 * as libpq does (see tlsAttempts and negotiate.ts: one TCP connection for
 * sslmode=prefer) and the URI's require_auth / channel_binding enforced before
 * the password leaves; errors say which connection failed without repeating
 * any secret.
 */
export async function connect(target: ConnectionTarget, what: string, opts: ConnectOptions): Promise<pg.Client> {
  try {
    return await openConnection(target, opts, opts.asLogin ? PIN_SEARCH_PATH : RUN_AS_SESSION_USER)
  } catch (e) {
    throw connectionError(e, what)
  }
}

/**
 * The connection itself, errors as they come (the pooler console maps them its
 * own way). `first`: the statement that runs before any other (null on a pooler
 * console, which accepts only SHOW and its own commands).
 */
export async function openConnection(
  target: ConnectionTarget,
  opts: ConnectOptions,
  first: string | null,
): Promise<pg.Client> {
  const params = new Map(target.url ? uriQuery(target.url) : [])
  const timeoutMs =
    opts.connectTimeoutMs ?? (params.has('connect_timeout') ? Number(params.get('connect_timeout')) * 1000 : 15_000)
  const override: pg.ClientConfig = { application_name: opts.applicationName }
  if (opts.queryTimeoutMs !== undefined) override.query_timeout = opts.queryTimeoutMs
  if (opts.user !== undefined) override.user = opts.user
  if (opts.password !== undefined) override.password = opts.password
  if (opts.withoutOptions) override.options = undefined
  if (opts.database !== undefined) override.database = opts.database
  const base = clientConfig(target, override)
  const attempts = tlsAttempts(target, base)
  const policy = authPolicy(params, process.env)
  const keepAliveMs =
    params.get('keepalives') === '0' ? undefined : Number(params.get('keepalives_idle') ?? '0') * 1000 || undefined
  const deadline = Date.now() + timeoutMs
  for (let i = 0; ; i++) {
    const { ssl, optional, fallBackOn } = attempts[i]
    try {
      return await openOnce(base, { ssl, optional, policy, keepAliveMs, deadline, first })
    } catch (e) {
      if (i + 1 < attempts.length && fallBackOn?.(e)) continue
      throw e
    }
  }
}

/** Connections that negotiated TLS. */
const encrypted = new WeakSet<pg.Client>()

/** True when the connection uses TLS. */
export function isEncrypted(client: pg.Client): boolean {
  return encrypted.has(client)
}

interface Attempt {
  ssl: pg.ClientConfig['ssl']
  optional?: boolean
  policy: AuthPolicy
  keepAliveMs?: number
  /** Date.now() by which the connection must be ready. */
  deadline: number
  /** The first statement, or null (a pooler console accepts only SHOW and its own commands). */
  first: string | null
}

/**
 * Whether to start TLS directly (PostgreSQL 17+) instead of with an SSLRequest, as libpq decides:
 * the URI's sslnegotiation, else PGSSLNEGOTIATION, else postgres. Direct needs TLS that is required
 * (the URI's check refuses it with sslmode disable/allow/prefer); the variable is not honoured then.
 */
export function directTls(fromUri: string | undefined, tlsRequired: boolean, env = process.env): boolean {
  return tlsRequired && (fromUri ?? env.PGSSLNEGOTIATION) === 'direct'
}

async function openOnce(config: pg.ClientConfig, a: Attempt): Promise<pg.Client> {
  const host = config.host ?? process.env.PGHOST ?? 'localhost'
  const port = Number(config.port ?? process.env.PGPORT ?? 5432)
  const ssl = a.ssl ?? false
  const { stream, encrypted: tlsInUse } = await openStream(
    {
      host,
      port,
      ssl,
      optional: Boolean(a.optional),
      direct: directTls(config.sslnegotiation, ssl !== false && !a.optional),
      keepAliveMs: a.keepAliveMs,
    },
    Math.max(1, a.deadline - Date.now()),
  )
  const known = config.password ?? process.env.PGPASSWORD
  const guard = new AuthGuard(a.policy, tlsInUse, async () => (typeof known === 'function' ? known() : known))
  let client: pg.Client
  try {
    client = new pg.Client({
      ...config,
      host,
      port,
      // TLS is done (openStream): pg gets a ready stream, so no ssl and no sslnegotiation of its own.
      ssl: false,
      sslnegotiation: 'postgres',
      stream: () => stream,
      enableChannelBinding: guard.bind,
      // Without a known password pg looks in ~/.pgpass; the guard then stops the stream before pg writes.
      ...(known !== undefined ? { password: guard.password as () => Promise<string> } : {}),
      connectionTimeoutMillis: Math.max(1, a.deadline - Date.now()),
    })
  } catch (e) {
    stream.destroy()
    throw e
  }
  guard.attach(client.connection as unknown as Parameters<AuthGuard['attach']>[0])
  // An idle client whose server goes away emits 'error'; without a listener Node exits.
  client.on('error', () => {})
  try {
    await client.connect()
    // Before any other statement: the database is not on our side (see PIN_SEARCH_PATH, RUN_AS_SESSION_USER).
    if (a.first) await client.query(a.first)
  } catch (e) {
    await client.end().catch(() => {})
    throw e
  }
  if (tlsInUse) encrypted.add(client)
  return client
}

export async function close(client: pg.Client | null | undefined): Promise<void> {
  if (client) await client.end().catch(() => {})
}

export function connectionError(e: unknown, what: string): DatabaseError {
  const err = e as { code?: string; message?: string; address?: string; port?: number }
  const code = err.code ?? ''
  if (e instanceof AuthRefused) {
    return new DatabaseError(
      `${what}: ${oneLine(e.message)}.`,
      'The server (or something between it and the runner) asked for a weaker authentication than the URI allows. Check that the host is the database you mean; if the server is right, change its pg_hba.conf method (scram-sha-256), or relax require_auth / channel_binding in the URI.',
    )
  }
  switch (code) {
    case '28P01':
      return new DatabaseError(
        `${what}: password authentication failed.`,
        'Check the user name and password in the connection URI or PGUSER/PGPASSWORD.',
        code,
      )
    case '28000':
      return new DatabaseError(
        `${what}: the server rejected the login (${oneLine(err.message ?? '')}).`,
        "Check pg_hba.conf, the role's LOGIN attribute and sslmode.",
        code,
      )
    case '3D000':
      return new DatabaseError(
        `${what}: ${oneLine(err.message ?? '')}.`,
        'Check the database name in the connection URI or PGDATABASE.',
        code,
      )
    case '57P03':
      return new DatabaseError(`${what}: the server is starting up or shutting down.`, 'Retry in a moment.', code)
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return new DatabaseError(
        `${what}: cannot reach the server (${code}${err.address ? ` ${err.address}:${err.port}` : ''}).`,
        'Check the host and port, and that the runner can reach the database.',
        code,
      )
  }
  // Server text (it may name a database holding a line break): one line.
  const msg = oneLine(err.message ?? String(e))
  if (msg === 'Query read timeout') {
    // Logged in, then silence (queryTimeoutMs): a hung server, not a network blip; not retried.
    return new DatabaseError(
      `${what}: the server accepted the login but did not answer its first statement in time.`,
      'Check the server (hung, or overloaded) and the network between it and the runner, then run the phase again.',
    )
  }
  if (/timeout/i.test(msg)) {
    return new DatabaseError(
      `${what}: connection timed out.`,
      'Check the host and port, and that the runner can reach the database.',
      'ETIMEDOUT',
    )
  }
  return new DatabaseError(`${what}: ${msg}`, undefined, code || undefined)
}

/**
 * Errors worth retrying within the phase's time: the connection went away or the
 * server is starting, a serialization failure or deadlock, or a concurrent
 * catalog update ("tuple concurrently updated"), a role created meanwhile by a
 * concurrent setup (the retry observes it). Everything else fails at once.
 */
export function isRetryable(e: unknown): boolean {
  const err = e as { code?: string; message?: string }
  if (isConnectionLost(e)) return true
  if (err.code && ['57P03', '40001', '40P01', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT'].includes(err.code))
    return true
  // Two setups of a new family: the second CREATE ROLE waits on the first, then finds the name
  // taken (23505), or finds the role that was committed after this phase observed it missing (42710).
  if (err.code === '23505' && /pg_authid_rolname_index/.test(err.message ?? '')) return true
  if (err.code === '42710' && /^role ".*" already exists$/s.test(err.message ?? '')) return true
  return err.code === 'XX000' && /tuple concurrently updated/.test(err.message ?? '')
}

/** True for errors after which a new connection may succeed (server restart, network). */
export function isConnectionLost(e: unknown): boolean {
  const err = e as { code?: string; message?: string }
  if (err.code && /^(08|57P0[1-3])/.test(err.code)) return true
  if (err.code && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(err.code)) return true
  return /Connection terminated|not queryable|Client has encountered a connection error/i.test(err.message ?? '')
}

/**
 * Translates a failed statement into an error that names what the admin lacks.
 * `done`, when given, says what is already durable (committed earlier, or
 * written to GitHub): the message then says that instead of "nothing was changed".
 */
/** The code of a statement that got no answer within the connection's queryTimeoutMs. */
export const QUERY_TIMEOUT = 'QUERY_TIMEOUT'

/**
 * pg's client-side query timeout fired: the statement got no answer, and the
 * connection is stuck behind it (nothing more can be sent on it; ending it ends
 * the transaction on the server).
 */
export function isQueryTimeout(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | null
  return err?.code === QUERY_TIMEOUT || err?.message === 'Query read timeout'
}

export function statementError(e: unknown, statement: string, done?: string): DatabaseError {
  const err = e as { code?: string; message?: string }
  const nothing = done ? `this transaction was rolled back, but ${done}` : 'nothing was changed'
  const Nothing = nothing[0].toUpperCase() + nothing.slice(1)
  const fail = (message: string, hint?: string) => new DatabaseError(message, hint, err.code, Boolean(done))
  if (isQueryTimeout(e)) return queryTimeoutError(statement, nothing, done)
  if (err.code === 'XX000' && /tuple concurrently updated/.test(err.message ?? '')) {
    return fail(
      `Another phase changed the same roles at the same moment (tuple concurrently updated); this one was rolled back and ${done ?? 'nothing was changed'}.`,
      'Run it again: it will see what the other phase did.',
    )
  }
  if (err.code === '55P03') {
    return fail(
      `Waited for a lock held by another session past lock_timeout (while running: ${statement}); ${nothing}.`,
      'Another phase or a DBA transaction is changing the same roles: let it finish (see pg_locks and pg_stat_activity), then run this phase again.',
    )
  }
  if (err.code === '57014') {
    if (/statement timeout/i.test(err.message ?? '')) {
      return fail(
        `A statement ran over the phase's statement_timeout (while running: ${statement}); ${nothing}.`,
        'Check the server load, then run the phase again.',
      )
    }
    return fail(
      `The statement was cancelled by another session or an administrator (while running: ${statement}); ${nothing}.`,
      'Run the phase again when whoever cancelled it is done.',
    )
  }
  if (err.code === '42501' && /rds_password/.test(err.message ?? '')) {
    return fail(
      `The admin role may not change passwords: ${oneLine(err.message ?? '')} (while running: ${statement}). ${Nothing}.`,
      'On RDS with restricted password management, grant it: GRANT rds_password TO <admin role>.',
    )
  }
  if (err.code === '42501' && /permission denied to set parameter/.test(err.message ?? '')) {
    return fail(
      `The admin role may not set a role setting that the family carries from one login to the other: ${oneLine(err.message ?? '')} (while running: ${statement}). ${Nothing}.`,
      'Run this phase as a superuser; or, on PostgreSQL 15+, GRANT SET ON PARAMETER <name> TO <admin role>; or remove the setting from the login it is copied from (ALTER ROLE ... RESET <name>).',
    )
  }
  if (err.code === '42501') {
    return fail(
      `The admin role lacks a privilege: ${oneLine(err.message ?? '')} (while running: ${statement}). ${Nothing}.`,
      "Use a superuser, or a role with CREATEROLE (on PostgreSQL 16+ also ADMIN OPTION on the family's roles).",
    )
  }
  return fail(`${oneLine(err.message ?? String(e))} (while running: ${statement}). ${Nothing}.`)
}

/** A statement that got no answer: for COMMIT nobody knows whether it happened, so the message must not say "nothing". */
function queryTimeoutError(statement: string, nothing: string, done: string | undefined): DatabaseError {
  if (/^COMMIT\b/i.test(statement))
    return new DatabaseError(
      `The server did not answer COMMIT within the client's query timeout: the phase's changes may or may not have been committed${done ? `, and ${done}` : ''}.`,
      'Run status to see the family as it is now, then run the phase again (a finished phase is a no-op).',
      QUERY_TIMEOUT,
      true,
    )
  return new DatabaseError(
    `The server did not answer within the client's query timeout (while running: ${statement}); ${nothing}: the transaction ends with the connection.`,
    'Check the server (hung, or overloaded) and the network between it and the runner, then run the phase again.',
    QUERY_TIMEOUT,
    Boolean(done),
  )
}
