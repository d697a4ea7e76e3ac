import { DatabaseError } from '../domain/errors.js'
import { oneLine } from '../domain/escape.js'
import type { Client } from './db.js'
import { READ_ROLE_LOCK_HOLDERS } from './statements.js'

interface HolderRow {
  pid: number
  role: string | null
  application_name: string
  since: string | null
  modes: string
}

/** "pid 4242 (role "dba", application "psql", in a transaction since 2026-…; RowExclusiveLock)" */
function describeHolder(h: HolderRow): string {
  const since = h.since ? `, since ${h.since}` : ', since: hidden (pg_read_all_stats shows it)'
  return `pid ${h.pid} (role "${oneLine(h.role ?? '?')}", application "${oneLine(h.application_name)}"${since}; ${h.modes})`
}

/** The login a phase disables: its own sessions holding the family's lock are named as such (see withLockHolders). */
export interface OwnLogin {
  login: string
  /** What ends them, for the hint (e.g. "close with terminate: true ends them"). */
  remedy: string
}

/** Sessions of the login that the phase disables hold a lock the phase waited for: `pids` may be ended. */
export class OwnLoginHoldsLock extends DatabaseError {
  constructor(
    message: string,
    hint: string,
    code: string,
    readonly login: string,
    readonly pids: number[],
  ) {
    super(message, hint, code)
  }
}

/**
 * A phase that waited past lock_timeout (55P03): the same error, naming the sessions
 * that hold a write lock on the role catalogs or a lock on a family role (read on the
 * phase's connection, after its ROLLBACK), so a DBA can act. Any other error, or a
 * failure to read the holders, is returned as it was.
 */
export async function withLockHolders(
  client: Client,
  e: unknown,
  roles: readonly string[],
  own?: OwnLogin | null,
): Promise<unknown> {
  if (!(e instanceof DatabaseError) || e.code !== '55P03') return e
  let holders: HolderRow[]
  try {
    holders = (await client.query(READ_ROLE_LOCK_HOLDERS, [roles])).rows
  } catch {
    return e
  }
  const found = holders.length
    ? `Held by ${holders.map(describeHolder).join('; ')}.`
    : 'No session holds it any more (it ended after the wait).'
  // A family role's own session holds what the phase needs (a login may alter its own row, or the group's
  // row as the group): no phase runs as it, whatever its application_name says (the client sets that).
  const family = holders.filter((h) => h.role !== null && roles.includes(h.role))
  const hint = family.length
    ? `pid ${family.map((h) => h.pid).join(', ')} ${family.length === 1 ? 'is a session' : 'are sessions'} of the family's own role${family.length === 1 ? '' : 's'} (${[...new Set(family.map((h) => `"${oneLine(h.role ?? '')}"`))].join(', ')}), not a phase of this action (phases run as the admin role), whatever its application name says: a login that may alter its own row, or the group's as the group, can hold it open. End it (SELECT pg_terminate_backend(<pid>); as a superuser or a member of pg_signal_backend); if it keeps coming back, first disable that login by hand (ALTER ROLE … NOLOGIN), then run this phase again.`
    : holders.length
      ? `Let it finish (another phase of this family shows as application pg-credential-rotation/<phase>), or end the one that should not be running (SELECT pg_terminate_backend(<pid>); as a superuser or a member of pg_signal_backend), then run this phase again.`
      : e.hint
  // The message ends with its hint: the holders go between the two.
  const base = e.hint && e.message.endsWith(` ${e.hint}`) ? e.message.slice(0, -e.hint.length - 1) : e.message
  // Sessions of the login this phase disables are ended even when others hold locks on the role
  // catalogs too (a phase of another family, say, which is not what blocks this one): ending them
  // is what terminate asks for anyway; a retry that still waits fails naming who holds it then.
  const mine = own ? holders.filter((h) => h.role === own.login) : []
  if (own && mine.length) {
    const pids = mine.map((h) => h.pid)
    const them = pids.length === 1 ? 'it' : 'them'
    return new OwnLoginHoldsLock(
      `${base} ${found}`,
      `pid ${pids.join(', ')} ${pids.length === 1 ? 'is a session' : 'are sessions'} of "${oneLine(own.login)}", the login this phase disables (not a phase of this action, whatever its application name says): a login may alter its own row, or the group's as the group, and keep it locked in an open transaction. ${own.remedy}: ${them} ${pids.length === 1 ? 'is' : 'are'} ended and the phase retried once.`,
      e.code ?? '55P03',
      own.login,
      pids,
    )
  }
  return new DatabaseError(`${base} ${found}`, hint, e.code, e.committed)
}
