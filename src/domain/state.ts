import type { RunInfo } from '../inputs/config.js'

/**
 * The rotation state, stored as a JSON comment on the group role
 * (COMMENT ON ROLE), so it changes in the same transaction as the roles and a
 * DBA can read it with `\drg+` or shobj_description(oid, 'pg_authid').
 */
export const STATE_TOOL = 'pg-credential-rotation'
export const STATE_VERSION = 1

/**
 * What a rotation id may hold (the ids this action writes are "20261127T224400Z-3f9a1c"):
 * the same rule as the rotation-id input, so an id read from the state is safe to
 * print and can be passed back as that input.
 */
export const ROTATION_ID = /^[A-Za-z0-9._:-]{1,100}$/

/** Secret names as GitHub allows them (and github-secrets accepts them). */
const SECRET_NAME = /^[A-Za-z0-9_]{1,255}$/

export interface OpenRotation {
  id: string
  /** The login being handed out. */
  incoming: string
  openedAt: string
  openedBy: RunInfo
  /**
   * With seal-key: the issued credentials, sealed for this family and rotation,
   * so a re-run of open re-emits them instead of changing the password.
   */
  sealed?: string
  /**
   * With seal-key: the incoming login's SCRAM verifier, sealed alone (no password);
   * close keeps it as the state's activeVerifier.
   */
  verifier?: string
}

/**
 * With seal-key: the active login's SCRAM verifier, sealed alone by the setup or
 * open that set its password, so the next open can list it in pgbouncer-userlist
 * when the admin cannot read pg_authid (superuser only).
 */
export interface SealedVerifier {
  login: string
  sealed: string
}

/**
 * Credentials close wrote to GitHub secrets. Written by a separate
 * autocommit statement just before the GitHub write (pending: true) and
 * confirmed after it, so it survives the phase's own transaction failing:
 * abort then refuses to disable `login` (see docs/security.md, "Tampered state and write-back").
 */
export interface WrittenBack {
  login: string
  /** The rotation whose credentials were written. (setup writes after its commit, so it needs no record.) */
  rotationId: string
  /** Secret names written (all configured ones while pending). */
  secrets: string[]
  at: string
  /** The write was started but not confirmed: it may or may not have happened. */
  pending?: boolean
}

export interface FamilyState {
  tool: typeof STATE_TOOL
  version: typeof STATE_VERSION
  /** Both login roles of the family, in input order. */
  logins: [string, string]
  /**
   * The login the application uses (while a rotation is open: the outgoing one).
   * After `adopt: true` it is the former single login (now the group role) until
   * the first rotation closes.
   */
  active: string
  /** Set by `adopt: true`: the single login that became the group role. */
  adoptedFrom?: string
  rotation: OpenRotation | null
  lastClosed: { id: string; closedAt: string; active: string; previous?: string } | null
  lastAborted?: { id: string; abortedAt: string; login: string } | null
  /** When each login's password was last set by the action (ISO time). */
  passwordSetAt: Record<string, string>
  writtenBack?: WrittenBack
  activeVerifier?: SealedVerifier
}

export type StateRead =
  | { kind: 'none' }
  | { kind: 'foreign'; comment: string }
  | { kind: 'ok'; state: FamilyState }
  /** `tampered`: well-formed, but it names a role outside the family (see checkStateNames). */
  | { kind: 'invalid'; reason: string; tampered?: boolean }

/**
 * Reads the group role's comment. A comment that is not ours is reported, never
 * parsed as state. The comment is input (anyone who may COMMENT ON ROLE the group
 * can write it): a state that names a role other than `group` and its own two
 * logins is reported as tampered.
 */
export function readState(comment: string | null, group: string): StateRead {
  if (comment === null || comment.trim() === '') return { kind: 'none' }
  let value: unknown
  try {
    value = JSON.parse(comment)
  } catch {
    return { kind: 'foreign', comment }
  }
  if (!isObject(value) || value.tool !== STATE_TOOL) return { kind: 'foreign', comment }
  if (value.version !== STATE_VERSION)
    return { kind: 'invalid', reason: `state version ${String(value.version)} is not supported by this release` }
  const s = value as unknown as FamilyState
  if (
    !Array.isArray(s.logins) ||
    s.logins.length !== 2 ||
    s.logins[0] === s.logins[1] ||
    !s.logins.every((l) => typeof l === 'string')
  ) {
    return { kind: 'invalid', reason: 'the state comment does not name two distinct login roles' }
  }
  if (typeof s.active !== 'string') return { kind: 'invalid', reason: 'the state comment is missing its active login' }
  const foreign = checkStateNames(s, group)
  if (foreign) return { kind: 'invalid', reason: foreign, tampered: true }
  if (
    s.rotation !== null &&
    (!isObject(s.rotation) ||
      typeof s.rotation.id !== 'string' ||
      !s.logins.includes(s.rotation.incoming) ||
      s.rotation.incoming === s.active ||
      !['undefined', 'string'].includes(typeof s.rotation.sealed) ||
      !['undefined', 'string'].includes(typeof s.rotation.verifier))
  ) {
    return { kind: 'invalid', reason: 'the open rotation recorded in the state is malformed' }
  }
  const badId = rotationIdProblem(s)
  if (badId) return { kind: 'invalid', reason: badId, tampered: true }
  const w = s.writtenBack as unknown
  if (
    w !== undefined &&
    (!isObject(w) ||
      typeof w.login !== 'string' ||
      typeof w.rotationId !== 'string' ||
      !Array.isArray(w.secrets) ||
      !w.secrets.every((x) => typeof x === 'string' && SECRET_NAME.test(x)))
  ) {
    return { kind: 'invalid', reason: 'the write-back recorded in the state is malformed' }
  }
  const v = s.activeVerifier as unknown
  if (v !== undefined && (!isObject(v) || typeof v.login !== 'string' || typeof v.sealed !== 'string'))
    return { kind: 'invalid', reason: 'the sealed verifier recorded in the state is malformed' }
  const badTime = timeProblem(s)
  if (badTime) return { kind: 'invalid', reason: badTime, tampered: true }
  return { kind: 'ok', state: { ...s, passwordSetAt: s.passwordSetAt ?? {}, lastClosed: s.lastClosed ?? null } }
}

/**
 * Every role the state names must be the group or one of its two logins (never
 * the group), `adoptedFrom` the group, and `active` the group only after
 * adoption. Returns what is wrong, or null.
 */
export function checkStateNames(s: FamilyState, group: string): string | null {
  const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.slice(0, 63)) : String(v))
  if (s.logins.includes(group)) return `its login roles include the group role ${shown(group)}`
  const family = [group, ...s.logins]
  if (s.adoptedFrom !== undefined && s.adoptedFrom !== group)
    return `adoptedFrom is ${shown(s.adoptedFrom)}, not the group role ${shown(group)}`
  if (!s.logins.includes(s.active) && !(s.active === group && s.adoptedFrom === group)) {
    return `its active login ${shown(s.active)} is neither of its login roles${s.adoptedFrom === group ? ' nor the adopted group role' : ''}`
  }
  const named: [string, unknown][] = [
    ['lastClosed.active', s.lastClosed?.active],
    ['lastClosed.previous', s.lastClosed?.previous],
    ['lastAborted.login', s.lastAborted?.login],
    ['writtenBack.login', s.writtenBack?.login],
    ['activeVerifier.login', s.activeVerifier?.login],
    ...Object.keys(s.passwordSetAt ?? {}).map((k): [string, unknown] => ['passwordSetAt', k]),
  ]
  for (const [field, v] of named)
    if (v !== undefined && !family.includes(v as string))
      return `${field} names ${shown(v)}, which is not a role of the family`
  if (isObject(s.rotation) && !s.logins.includes(s.rotation.incoming as string))
    return `the open rotation hands out ${shown(s.rotation.incoming)}, which is not one of its login roles`
  return null
}

/**
 * Every rotation id in the state (the open rotation's, lastClosed's,
 * lastAborted's, the write-back record's) must look like one: the comment is
 * input, and these ids are printed in the log. Returns what is wrong, or null.
 */
function rotationIdProblem(s: FamilyState): string | null {
  const ids: [string, unknown][] = [
    ['rotation.id', s.rotation?.id],
    ['lastClosed.id', s.lastClosed?.id],
    ['lastAborted.id', s.lastAborted?.id],
    ['writtenBack.rotationId', (s.writtenBack as unknown as Record<string, unknown> | undefined)?.rotationId],
  ]
  for (const [field, v] of ids) {
    if (v === undefined) continue
    if (typeof v !== 'string' || !ROTATION_ID.test(v))
      return `${field} is not a rotation id (letters, digits and . _ : - only, at most 100)`
  }
  return null
}

/**
 * A time as the action writes it (Date.prototype.toISOString: UTC, "2026-12-03T10:04:55.000Z";
 * the milliseconds optional), a real date, between 2000 and 2099.
 */
const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?Z$/

function isTime(v: unknown): boolean {
  if (typeof v !== 'string') return false
  const m = TIME.exec(v)
  if (!m) return false
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number)
  const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second))
  return (
    year >= 2000 &&
    year < 2100 &&
    d.getUTCMonth() === month - 1 &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hour &&
    d.getUTCMinutes() === minute &&
    d.getUTCSeconds() === second
  )
}

/**
 * Every time in the state (when the rotation was opened, closed, aborted, written back, when
 * each password was set) must be one the action could have written: the comment is input, and
 * these times are printed in the log, the summary and status. Returns what is wrong, or null.
 */
function timeProblem(s: FamilyState): string | null {
  const notATime = (field: string) => `${field} is not a time (UTC, as 2026-12-03T10:04:55.000Z, between 2000 and 2099)`
  const records: [string, unknown, string][] = [
    ['rotation', s.rotation, 'openedAt'],
    ['lastClosed', s.lastClosed, 'closedAt'],
    ['lastAborted', s.lastAborted, 'abortedAt'],
    ['writtenBack', s.writtenBack, 'at'],
  ]
  for (const [name, record, key] of records)
    if (record != null && !(isObject(record) && isTime(record[key]))) return notATime(`${name}.${key}`)
  for (const [login, at] of Object.entries(s.passwordSetAt ?? {}))
    if (!isTime(at)) return notATime(`passwordSetAt of ${JSON.stringify(login.slice(0, 63))}`)
  return null
}

export function serializeState(state: FamilyState): string {
  return JSON.stringify(state)
}

/** The login that takes over from `login` (after adoption, the first login role). */
export function otherLogin(state: Pick<FamilyState, 'logins'>, login: string): string {
  return state.logins[0] === login ? state.logins[1] : state.logins[0]
}

/** "idle, app_a active" / "open (rotation r-...): app_a outgoing, app_b incoming" */
/**
 * The username/previous-username outputs for a state: the login the application should
 * use now (while a rotation is open, the incoming one) and, while one is open, the
 * outgoing one, which the state still calls active until close.
 */
export function loginsNow(state: FamilyState): { username: string; previousUsername?: string } {
  return state.rotation
    ? { username: state.rotation.incoming, previousUsername: state.active }
    : { username: state.active }
}

/** The open rotation as status reports it: without anything sealed (ciphertext is for the phases only). */
export function publicRotation(rotation: OpenRotation | null): Omit<OpenRotation, 'sealed' | 'verifier'> | null {
  if (!rotation) return null
  const { sealed: _sealed, verifier: _verifier, ...rest } = rotation
  return rest
}

export function describeState(state: FamilyState | null): string {
  if (!state) return 'not set up'
  if (!state.rotation) return `idle with ${state.active} active`
  return `open (rotation ${state.rotation.id}) with ${state.active} outgoing and ${state.rotation.incoming} incoming`
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What a write-back record means for the next step: close again finishes; abort would break the secrets' login. */
export function describeWrittenBack(w: WrittenBack): string {
  const what = w.pending ? 'may have written' : 'wrote'
  return `close ${what} the credentials of "${w.login}" to GitHub secrets ${w.secrets.join(', ')} for rotation ${w.rotationId} (${w.at}), but the rotation is still open: run close again to finish it; abort refuses to disable "${w.login}" unless force: true.`
}
