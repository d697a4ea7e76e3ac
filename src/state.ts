import type { RunInfo } from './config.js'

/**
 * The rotation state, stored as a JSON comment on the group role
 * (COMMENT ON ROLE), so it changes in the same transaction as the roles and a
 * DBA can read it with `\drg+` or shobj_description(oid, 'pg_authid').
 */
export const STATE_TOOL = 'pg-credential-rotation'
export const STATE_VERSION = 1

export interface OpenRotation {
  id: string
  /** The login being handed out. */
  incoming: string
  openedAt: string
  openedBy: RunInfo
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
}

export type StateRead =
  | { kind: 'none' }
  | { kind: 'foreign'; comment: string }
  | { kind: 'ok'; state: FamilyState }
  | { kind: 'invalid'; reason: string }

/** Reads the group role's comment. A comment that is not ours is reported, never parsed as state. */
export function readState(comment: string | null): StateRead {
  if (comment === null || comment.trim() === '') return { kind: 'none' }
  let value: unknown
  try {
    value = JSON.parse(comment)
  } catch {
    return { kind: 'foreign', comment }
  }
  if (!isObject(value) || value.tool !== STATE_TOOL) return { kind: 'foreign', comment }
  if (value.version !== STATE_VERSION) return { kind: 'invalid', reason: `state version ${String(value.version)} is not supported by this release` }
  const s = value as unknown as FamilyState
  if (!Array.isArray(s.logins) || s.logins.length !== 2 || s.logins[0] === s.logins[1] || !s.logins.every((l) => typeof l === 'string')) {
    return { kind: 'invalid', reason: 'the state comment does not name two distinct login roles' }
  }
  if (typeof s.active !== 'string' || !(s.logins.includes(s.active) || (s.adoptedFrom !== undefined && s.active === s.adoptedFrom))) {
    return { kind: 'invalid', reason: 'the state comment is missing its active login' }
  }
  if (s.rotation !== null && (!isObject(s.rotation) || typeof s.rotation.id !== 'string' || !s.logins.includes(s.rotation.incoming) || s.rotation.incoming === s.active)) {
    return { kind: 'invalid', reason: 'the open rotation recorded in the state is malformed' }
  }
  return { kind: 'ok', state: { ...s, passwordSetAt: s.passwordSetAt ?? {}, lastClosed: s.lastClosed ?? null } }
}

export function serializeState(state: FamilyState): string {
  return JSON.stringify(state)
}

/** The login that takes over from `login` (after adoption, the first login role). */
export function otherLogin(state: Pick<FamilyState, 'logins'>, login: string): string {
  return state.logins[0] === login ? state.logins[1] : state.logins[0]
}


/** "idle, app_a active" / "open (rotation r-...): app_a outgoing, app_b incoming" */
export function describeState(state: FamilyState | null): string {
  if (!state) return 'not set up'
  if (!state.rotation) return `idle with ${state.active} active`
  return `open (rotation ${state.rotation.id}) with ${state.active} outgoing and ${state.rotation.incoming} incoming`
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
