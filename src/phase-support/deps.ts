import { randomBytes } from 'node:crypto'
import type { Config } from '../inputs/config.js'
import { observe } from '../postgres/observe.js'
import type { PlanContext } from '../domain/plan.js'
import type { Poolers } from '../postgres/poolers.js'
import type { Replicas } from '../postgres/replicas.js'
import type { Reporter } from '../domain/reporter.js'
import type { PhaseOutputs, PhaseResult } from '../domain/result.js'
import type { AdminSession } from '../postgres/session.js'
import { sealCredentials } from '../crypto/seal.js'
import { buildDatabaseUrl } from '../postgres/urls.js'
import type { Observation, SessionGroup } from '../domain/family.js'
import type { Clock } from '../domain/clock.js'

/**
 * What a phase runs with. A phase's dependencies are also its clock:
 * deps.now() and deps.sleep() are the run's one Clock (RunOptions.clock), so
 * deps can be passed wherever a Clock is wanted (retryWithBackoff, writeBack).
 */
export interface PhaseDeps extends Clock {
  reporter: Reporter
  /** The admin connection; renew() reconnects after a server restart. */
  session: AdminSession
  replicas: Replicas
  /** pgbouncer-urls (empty for phases that do not use it). */
  poolers: Poolers
  /** Test seam: runs between open's login check and its re-read of the rotation under the lock. */
  afterLoginCheck?: () => Promise<void>
  /** Test seam: runs when verify-drain's terminate-after is due, before it locks the family to end sessions. */
  beforeTerminating?: () => Promise<void>
}

export type PhaseFn = (cfg: Config, deps: PhaseDeps) => Promise<PhaseResult>

export function planContext(deps: PhaseDeps): PlanContext {
  const now = deps.now()
  return { now, newRotationId: () => rotationId(now) }
}

/** "20261127T224400Z-3f9a1c": sortable, unique enough, and free of anything secret. */
export function rotationId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return `${stamp}-${randomBytes(3).toString('hex')}`
}

/** A newly issued password and what goes with it. */
export interface Issued {
  username: string
  password: string
  rotationId: string
  /** Already sealed (open seals inside its transaction); otherwise sealed here when seal-key is set. */
  sealed?: string
  /** The login's SCRAM verifier as set (absent with password-encryption: server). */
  verifier?: string
  /** The pgbouncer-userlist output, already masked. */
  userlist?: string
}

/**
 * Credentials outputs for a newly issued password; masks the URL before it
 * exists anywhere else, and seals them for other jobs when seal-key is set.
 */
export function credentialOutputs(cfg: Config, reporter: Reporter, issued: Issued): Partial<PhaseOutputs> {
  const { username, password, rotationId, verifier, userlist } = issued
  const databaseUrl = buildDatabaseUrl(cfg.appUrl, username, password)
  reporter.secret(databaseUrl)
  const sealedCredentials =
    issued.sealed ??
    (cfg.sealKey
      ? sealCredentials({ username, password, databaseUrl, verifier, userlist }, cfg.sealKey, {
          family: cfg.group,
          rotationId,
        })
      : undefined)
  return { username, password, databaseUrl, pgbouncerUserlist: userlist, sealedCredentials }
}

/**
 * When database-url was built without app-url: where it came from, what of admin-url it
 * left out and the sslmode it kept, as a notice (printed, and returned for the summary).
 */
export function defaultAppUrlNotice(cfg: Config, reporter: Reporter): string[] {
  const d = cfg.appUrlDefault
  if (!d) return []
  const parts = [
    `database-url: app-url is empty, so the application's URL uses the host, port and database of ${cfg.admin.url ? 'admin-url' : 'the PG* variables'}`,
  ]
  if (d.dropped.length)
    parts.push(
      `without the runner-only parameters ${d.dropped.join(', ')} (they name files on the runner or the admin's session)`,
    )
  if (d.sslmode) parts.push(`and keeps sslmode=${d.sslmode}`)
  let message = `${parts.join(', ')}.`
  if (/^verify-/.test(d.sslmode ?? ''))
    message += ` With sslmode=${d.sslmode} the application needs a CA bundle on its own host (libpq: ~/.postgresql/root.crt, or sslrootcert in app-url).`
  message +=
    ' Set app-url when the application connects elsewhere (a pooler, a private address) or needs parameters of its own.'
  ;(reporter.notice ?? reporter.info)(message)
  return [message]
}

/**
 * The phase's result, with the family re-read after the phase so the summary shows what is true now (replicas included).
 * `observed`: a read of the family the phase made after its last change and its last wait, used instead of a second one.
 */
export async function resultWithFamily(
  cfg: Config,
  deps: PhaseDeps,
  outputs: PhaseOutputs,
  changes: string[],
  notes: string[],
  failure?: string,
  extra: Partial<PhaseResult> = {},
  observed?: Observation,
): Promise<PhaseResult> {
  const after = observed ?? (await observe(deps.session.client, { group: cfg.group, logins: cfg.logins }))
  const replicaSessions: SessionGroup[] = deps.replicas.count
    ? await deps.replicas.sessions([cfg.group, ...cfg.logins])
    : []
  return {
    phase: cfg.phase,
    group: cfg.group,
    outputs,
    changes,
    notes,
    roles: {
      group: after.group,
      logins: cfg.logins.map((l) => after.logins[l] ?? { name: l, missing: true as const }),
    },
    sessions: [...after.sessions, ...replicaSessions],
    failure,
    ...extra,
  }
}
