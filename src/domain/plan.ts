/**
 * The state machine, as pure functions: given what observe() saw and the
 * config, decide the steps and the next state, or refuse with a StateError
 * that says what state the family is in and what to run next. Nothing here
 * touches the database.
 */
import type { Config, RunInfo } from '../inputs/config.js'
import { StateError } from './errors.js'
import { quoteIdent, quoteLiteral } from '../inputs/names.js'
import {
  describeForeignGrantee,
  describeLoginSessions,
  describeSessions,
  foreignGrantees,
  sessionCount,
  type LoginSession,
  type Observation,
  type RoleInfo,
} from './family.js'
import { followConfig, retireSettings } from './settings.js'
import type { Step } from '../postgres/statements.js'
import { describeState, otherLogin, STATE_TOOL, STATE_VERSION, type FamilyState, type OpenRotation } from './state.js'

export interface PlanContext {
  now: Date
  /** A fresh rotation id, used only when a rotation is opened. */
  newRotationId: () => string
}

interface PlanBase<S extends FamilyState> {
  /** The state after the steps (unchanged when nothing is to be done). */
  state: S
  notes: string[]
}

/** Nothing to change; `reason` says why, for the summary. */
export interface NoopPlan<S extends FamilyState = FamilyState> extends PlanBase<S> {
  kind: 'noop'
  steps: []
  reason: string
}

/** Role changes that hand out no new password. */
export interface ChangePlan<S extends FamilyState = FamilyState> extends PlanBase<S> {
  kind: 'change'
  steps: Step[]
}

/** Role changes whose enable-login step gives `login` a new password to hand out. */
export interface IssuePlan<S extends FamilyState = FamilyState> extends PlanBase<S> {
  kind: 'issue'
  steps: Step[]
  login: string
}

/** open re-run: emit the credentials sealed in the state again instead of changing a password. */
export interface ReemitPlan<S extends FamilyState = FamilyState> extends PlanBase<S> {
  kind: 'reemit'
  steps: []
  login: string
  sealed: string
}

export type Plan<S extends FamilyState = FamilyState> = NoopPlan<S> | ChangePlan<S> | IssuePlan<S> | ReemitPlan<S>

/*
 * The states a phase's plan is known to leave, so the phase reads the rotation
 * it opened, closed or aborted without re-checking what the planner decided.
 */
export type OpenState = FamilyState & { rotation: OpenRotation }
export type ClosedState = FamilyState & { rotation: null; lastClosed: LastClosed }
export type AbortedState = FamilyState & { rotation: null; lastAborted: LastAborted }

export type OpenPlan = IssuePlan<OpenState> | ReemitPlan<OpenState>
export type ClosePlan = NoopPlan<ClosedState> | ChangePlan<ClosedState>
export type AbortPlan = NoopPlan | ChangePlan<AbortedState>

type LastClosed = NonNullable<FamilyState['lastClosed']>
type LastAborted = NonNullable<FamilyState['lastAborted']>

type PlanConfig = Pick<Config, 'group' | 'logins' | 'rotationId' | 'terminate' | 'force'> & {
  run: RunInfo
  adopt?: boolean
}

// ---- setup --------------------------------------------------------------------

export function planSetup(obs: Observation, cfg: PlanConfig, ctx: PlanContext): Plan {
  if (obs.state.kind === 'invalid') throw unreadableState(obs.state, cfg.group)
  const existing = obs.state.kind === 'ok' ? obs.state.state : null
  // An adopted family's group role keeps LOGIN until its first rotation closes.
  const adopting = !existing && Boolean(cfg.adopt) && Boolean(obs.group?.canLogin)
  refuseUnsafeSetup(obs, cfg, existing, adopting)
  const steps = missingRoleSteps(obs, cfg)
  refuseForeignControl(obs, cfg, existing, adopting, steps)
  if (existing) return repairOnly(obs, cfg.group, existing, steps)
  const canLogin = cfg.logins.filter((l) => obs.logins[l]?.canLogin)
  return adopting ? planAdoption(obs, cfg, canLogin, steps) : planFirstSetup(obs, cfg, ctx, canLogin, steps)
}

/** Setup never turns a working login into the NOLOGIN group, touches a superuser, or re-pairs a family's logins. */
function refuseUnsafeSetup(obs: Observation, cfg: PlanConfig, existing: FamilyState | null, adopting: boolean): void {
  const group = cfg.group
  const now = existing ? describeState(existing) : 'not set up'
  if (obs.group?.canLogin && !adopting && existing?.active !== group) {
    throw new StateError(
      `Role "${group}" exists and can log in; setup will not turn a login into the NOLOGIN group role without adopt: true.`,
      now,
      `If "${group}" is the application's current single login, run setup with adopt: true (zero downtime: it stays usable until the first rotation closes); otherwise choose a role name that does not exist yet.`,
    )
  }
  for (const r of [obs.group, ...Object.values(obs.logins)]) {
    if (r?.superuser) {
      throw new StateError(
        `Role "${r.name}" is a superuser; a rotated application role must not be.`,
        now,
        'Use other role names, or revoke SUPERUSER first.',
      )
    }
  }
  if (existing && !sameLogins(existing.logins, cfg.logins)) {
    throw new StateError(
      `The family's state names the login roles ${existing.logins.join(', ')}, but login-roles is ${cfg.logins.join(', ')}.`,
      describeState(existing),
      `Pass login-roles: ${existing.logins.join(',')}.`,
    )
  }
}

/**
 * Setup never makes a role someone else controls part of the family. A role that
 * exists before the family's first setup (or a login a repair would grant the group
 * to) was not created by setup: when a role other than the admin or a superuser
 * holds ADMIN OPTION on it (on PostgreSQL 16+ a CREATEROLE role holds it on every
 * role it creates, and may then give it a password and LOGIN) or is a member of it
 * (and would act as it), granting it the group hands that role the group's
 * privileges. adopt: true covers the adopted login itself (the group), as the
 * application's own login; status reports its holders as drift.
 */
function refuseForeignControl(
  obs: Observation,
  cfg: PlanConfig,
  existing: FamilyState | null,
  adopting: boolean,
  steps: Step[],
): void {
  const group = cfg.group
  const roles = existing
    ? steps.flatMap((s) => (s.kind === 'grant-membership' && obs.logins[s.login] ? [s.login] : []))
    : [...(obs.group && !adopting ? [group] : []), ...cfg.logins.filter((l) => obs.logins[l])]
  const foreign = foreignGrantees(obs, group, cfg.logins, roles)
  if (foreign.length === 0) return
  // REVOKE removes the membership and the ADMIN OPTION it carries.
  const revoke = foreign.map((f) => `REVOKE ${quoteIdent(f.role)} FROM ${quoteIdent(f.member)};`)
  const named = [...new Set(foreign.map((f) => `"${f.role}"`))].join(', ')
  throw new StateError(
    `Refusing to set up the family: ${foreign.map(describeForeignGrantee).join('; ')}. Setup did not create ${named} and will not make a role that another role controls part of the family: that role could give it a password and LOGIN, or act as it, and use the group's privileges. Nothing was changed.`,
    existing ? describeState(existing) : 'not set up',
    `Find out who created ${named} and why (on PostgreSQL 16+ a CREATEROLE role holds ADMIN OPTION on every role it creates). If the roles are not yours, drop them (DROP ROLE ...) or choose other names (role, login-roles); if they are, take the control back as a superuser (${[...new Set(revoke)].join(' ')}), then run setup again.`,
  )
}

/** The roles, memberships and default roles the family lacks. */
function missingRoleSteps(obs: Observation, cfg: PlanConfig): Step[] {
  const group = cfg.group
  const steps: Step[] = []
  if (!obs.group) steps.push({ kind: 'create-role', role: group })
  for (const login of cfg.logins) {
    const r = obs.logins[login]
    if (!r) steps.push({ kind: 'create-role', role: login })
    if (!r || !r.member || !r.canSet || !r.inherits) steps.push({ kind: 'grant-membership', login, group })
    if (!r || r.defaultRole !== group) steps.push({ kind: 'set-default-role', login, group })
  }
  return steps
}

/** Setup of a family that has a state: repair its roles, leave the state and every password as they are. */
function repairOnly(obs: Observation, group: string, existing: FamilyState, steps: Step[]): Plan {
  const notes: string[] = []
  const activeRole = existing.active === group ? obs.group : obs.logins[existing.active]
  if (!activeRole?.canLogin)
    notes.push(`The active login "${existing.active}" cannot log in (NOLOGIN); setup leaves it as it is.`)
  return steps.length
    ? { kind: 'change', steps, state: existing, notes }
    : noop(existing, 'the family is already set up', notes)
}

/** adopt: true: the single login stays active (its password unchanged) and becomes the group role. */
function planAdoption(obs: Observation, cfg: PlanConfig, canLogin: string[], steps: Step[]): ChangePlan {
  const group = cfg.group
  if (canLogin.length > 0) {
    throw new StateError(
      `adopt: true, but login role ${canLogin.map((l) => `"${l}"`).join(' and ')} can already log in; the adopted login "${group}" must be the only one.`,
      'not set up',
      `Make ${canLogin.join(' and ')} NOLOGIN, or drop them, and run setup again.`,
    )
  }
  const held = foreignGrantees(obs, group, cfg.logins, [group]).map(
    (f) => `Warning: ${describeForeignGrantee(f)}, the adopted login; status reports it as drift until it is revoked.`,
  )
  const notes = [
    ...held,
    `Adopted "${group}": it stays the active login (password unchanged, not emitted) and becomes the group role; the first rotation hands out "${cfg.logins[0]}" and its close disables "${group}".`,
  ]
  // Role settings apply to the role a session logs in as: each login gets the single login's own.
  const follow = followConfig(obs.configs, group, cfg.logins)
  notes.push(...follow.notes, ...replacedComment(obs, group))
  const state = initialState(cfg.logins, group, {}, group)
  return { kind: 'change', steps: [...steps, ...follow.steps, { kind: 'write-state', group, state }], state, notes }
}

/**
 * A new family. A login that can already log in is the one the application
 * uses: it is recorded as active and keeps its password. Otherwise the first
 * login is enabled and issued a password.
 */
function planFirstSetup(obs: Observation, cfg: PlanConfig, ctx: PlanContext, canLogin: string[], steps: Step[]): Plan {
  const group = cfg.group
  if (canLogin.length === 2) {
    throw new StateError(
      `Both login roles (${cfg.logins.join(', ')}) can log in and no rotation state is recorded, so setup cannot tell which one the application uses.`,
      'not set up',
      `Make the unused one NOLOGIN (ALTER ROLE ... NOLOGIN) and run setup again.`,
    )
  }
  const notes: string[] = []
  if (canLogin.length === 1) {
    const active = canLogin[0]
    notes.push(
      `Login "${active}" already can log in: it is recorded as active and its password is left unchanged (no password is emitted).`,
      ...replacedComment(obs, group),
    )
    const state = initialState(cfg.logins, active)
    return { kind: 'change', steps: [...steps, { kind: 'write-state', group, state }], state, notes }
  }
  const login = cfg.logins[0]
  notes.push(...replacedComment(obs, group))
  const state = initialState(cfg.logins, login, { [login]: ctx.now.toISOString() })
  const issued: Step[] = [...steps, { kind: 'enable-login', role: login }, { kind: 'write-state', group, state }]
  return { kind: 'issue', login, steps: issued, state, notes }
}

function replacedComment(obs: Observation, group: string): string[] {
  return obs.state.kind === 'foreign'
    ? [`The previous comment on role "${group}" is replaced by the rotation state.`]
    : []
}

/** The state of a family with no rotation yet (key order is the comment's JSON order). */
function initialState(
  logins: readonly [string, string],
  active: string,
  passwordSetAt: Record<string, string> = {},
  adoptedFrom?: string,
): FamilyState {
  return {
    tool: STATE_TOOL,
    version: STATE_VERSION,
    logins: [...logins],
    active,
    ...(adoptedFrom ? { adoptedFrom } : {}),
    rotation: null,
    lastClosed: null,
    passwordSetAt,
  }
}

// ---- open ---------------------------------------------------------------------

export function planOpen(obs: Observation, cfg: PlanConfig, ctx: PlanContext): OpenPlan {
  const state = requireState(obs, cfg)
  const group = cfg.group
  if (isOpen(state)) return planOpenRerun(obs, cfg, state, ctx)
  const incoming = otherLogin(state, state.active)
  const problem = loginProblem(obs.logins[incoming], group)
  if (problem) {
    throw new StateError(
      `The standby login "${incoming}" is not ready: ${problem}.`,
      describeState(state),
      'Run the setup phase to repair the family, then open again.',
    )
  }
  // The incoming login's sessions must see what the outgoing login's see (settings apply per login).
  const follow = followConfig(obs.configs, state.active, [incoming])
  const notes: string[] = [...follow.notes]
  const stale = sessionCount(obs.sessions, incoming)
  if (stale > 0)
    notes.push(`The standby login "${incoming}" still has ${stale} sessions from before; they keep running.`)
  const next: OpenState = {
    ...withoutWriteBack(state),
    rotation: { id: ctx.newRotationId(), incoming, openedAt: ctx.now.toISOString(), openedBy: cfg.run },
    passwordSetAt: { ...state.passwordSetAt, [incoming]: ctx.now.toISOString() },
  }
  return {
    kind: 'issue',
    login: incoming,
    steps: [...follow.steps, { kind: 'enable-login', role: incoming }, { kind: 'write-state', group, state: next }],
    state: next,
    notes,
  }
}

/**
 * open while a rotation is open. Only the run that opened it may re-run open, and
 * a re-run never changes a password that may be in use (a deploy may hold it
 * although the login has no sessions now, e.g. an application scaled to zero):
 * with the credentials sealed in the state it emits them again; without them it
 * refuses unless force: true (and never while the login has sessions, or once
 * close wrote it to GitHub).
 */
function planOpenRerun(obs: Observation, cfg: PlanConfig, state: OpenState, ctx: PlanContext): OpenPlan {
  const r = state.rotation
  const group = cfg.group
  if (cfg.run.runId === '' || r.openedBy.runId !== cfg.run.runId) {
    throw new StateError(
      `A rotation is already open (opened ${r.openedAt}${r.openedBy.runId ? ` by workflow run ${r.openedBy.runId}` : ''}); another run must not replace a password a deploy may be using.`,
      describeState(state),
      'Finish it with verify-drain and close, then open again.',
    )
  }
  if (r.sealed) {
    const note = `Rotation ${r.id} was opened by this workflow run: the credentials sealed in the state are emitted again; the password of "${r.incoming}" is unchanged.`
    return { kind: 'reemit', login: r.incoming, sealed: r.sealed, steps: [], state, notes: [note] }
  }
  const w = state.writtenBack
  if (w && w.rotationId === r.id) {
    throw new StateError(
      `close already wrote the credentials of "${r.incoming}" to GitHub secrets ${w.secrets.join(', ')}, so open will not replace its password.`,
      describeState(state),
      'Run close again to finish the rotation.',
    )
  }
  const sessions = sessionCount(obs.sessions, r.incoming)
  if (sessions > 0) {
    throw new StateError(
      `This workflow run opened rotation ${r.id}, but the incoming login "${r.incoming}" already has ${describeSessions(obs.sessions, r.incoming)} sessions, so its password is in use and is not replaced.`,
      describeState(state),
      'Deploy with the password issued by the first attempt, or continue with verify-drain and close.',
    )
  }
  if (!cfg.force) {
    throw new StateError(
      `This workflow run opened rotation ${r.id}, and its password cannot be emitted again: it was opened without seal-key, so the state keeps no copy. Issuing a new one could break a deploy that already uses the first (no sessions now does not mean unused: an application may be scaled to zero).`,
      describeState(state),
      'Use the outputs of the first attempt; or, if no deploy can have received them, run open with force: true to issue a new password; or abort and open again. Pass seal-key to open so that re-runs emit the same credentials.',
    )
  }
  const next: OpenState = { ...state, passwordSetAt: { ...state.passwordSetAt, [r.incoming]: ctx.now.toISOString() } }
  const follow = followConfig(obs.configs, state.active, [r.incoming])
  return {
    kind: 'issue',
    login: r.incoming,
    steps: [...follow.steps, { kind: 'enable-login', role: r.incoming }, { kind: 'write-state', group, state: next }],
    state: next,
    notes: [
      `Rotation ${r.id} was opened by this workflow run; with force: true a new password is issued to "${r.incoming}" (it has no sessions). A deploy that received the first one can no longer log in.`,
      ...follow.notes,
    ],
  }
}

/**
 * The plan with the issued credentials, sealed, kept in the open rotation of the state it writes (open with
 * seal-key), and the incoming login's verifier sealed alone (kept after close for the next pgbouncer-userlist).
 */
export function withSealed(plan: OpenPlan, sealed: string, verifier?: string): OpenPlan {
  if (plan.kind !== 'issue') return plan
  const rotation = { ...plan.state.rotation, sealed, ...(verifier ? { verifier } : {}) }
  return withState<OpenState>(plan, { ...plan.state, rotation })
}

/** setup with seal-key: the issued login's verifier, sealed alone, kept as the state's activeVerifier. */
export function withActiveVerifier(plan: Plan, sealed: string): Plan {
  if (plan.kind !== 'issue') return plan
  return withState<FamilyState>(plan, { ...plan.state, activeVerifier: { login: plan.login, sealed } })
}

function withState<S extends FamilyState>(plan: IssuePlan<S>, state: S): IssuePlan<S> {
  return { ...plan, state, steps: plan.steps.map((st) => (st.kind === 'write-state' ? { ...st, state } : st)) }
}

/**
 * After open's login check, under the family lock: the rotation it opened is
 * still open (or a close already made its login the active one) and the login
 * still may log in. After a concurrent abort, or anything else, open must not
 * report the password as usable.
 */
export function planConfirmOpen(obs: Observation, rotationId: string, incoming: string): NoopPlan {
  const state = obs.state.kind === 'ok' ? obs.state.state : null
  const stillOpen = state?.rotation?.id === rotationId && state.rotation.incoming === incoming
  const closedOnto = !state?.rotation && state?.lastClosed?.id === rotationId && state.active === incoming
  if (!state || !(stillOpen || closedOnto) || !obs.logins[incoming]?.canLogin) {
    throw new StateError(
      `Rotation ${rotationId} was aborted or changed by another phase while open checked "${incoming}"'s new password, so that password must not be used.`,
      state ? describeState(state) : 'in an unknown state',
      'Check with the status phase; open again to start a new rotation.',
    )
  }
  return noop(state, stillOpen ? `rotation ${rotationId} is still open` : `rotation ${rotationId} was closed meanwhile`)
}

// ---- verify-drain -------------------------------------------------------------

export type DrainTarget =
  | { kind: 'noop'; reason: string; state: ClosedState }
  | { kind: 'wait'; outgoing: string; incoming: string; rotationId: string; state: FamilyState }

export function planDrain(obs: Observation, cfg: PlanConfig): DrainTarget {
  const state = requireState(obs, cfg)
  if (isClosedRerun(state, cfg)) {
    requireClosedLoginDisabled(obs, state, cfg.group)
    return { kind: 'noop', reason: alreadyClosed(state), state }
  }
  const r = requireRotation(state, cfg, 'verify-drain')
  return { kind: 'wait', outgoing: state.active, incoming: r.incoming, rotationId: r.id, state }
}

/**
 * What a later read says of the rotation a verify-drain watches: still open; closed (by
 * another run, while this one waited); or over otherwise (aborted, closed and followed by a
 * newer rotation, or gone without a record), with the reason and what to do, in words.
 */
export type WatchedRotation =
  | { kind: 'open'; state: OpenState }
  | { kind: 'closed'; state: ClosedState }
  | { kind: 'over'; reason: string; next: string; state: FamilyState }

export function watchedRotation(obs: Observation, cfg: PlanConfig, rotationId: string): WatchedRotation {
  const state = requireState(obs, cfg)
  if (isOpen(state) && state.rotation.id === rotationId) return { kind: 'open', state }
  const closed = state.lastClosed?.id === rotationId ? state.lastClosed : null
  if (closed && !state.rotation) {
    requireClosedLoginDisabled(obs, state as ClosedState, cfg.group)
    return { kind: 'closed', state: state as ClosedState }
  }
  const verify = 'There is nothing left to verify for that rotation'
  if (state.rotation) {
    const newer = `rotation ${state.rotation.id} is open now (opened at ${state.rotation.openedAt} by workflow run ${state.rotation.openedBy.runId || '(none)'})`
    return closed
      ? {
          kind: 'over',
          reason: `rotation ${rotationId} was closed at ${closed.closedAt}, and ${newer}`,
          next: `${verify}: its close finished it. The newer rotation belongs to the run that opened it.`,
          state,
        }
      : {
          kind: 'over',
          reason: `rotation ${rotationId} is no longer open: ${newer}`,
          next: `${verify}. The newer rotation belongs to the run that opened it: let it finish, or abort it.`,
          state,
        }
  }
  const aborted = state.lastAborted?.id === rotationId ? state.lastAborted : null
  return {
    kind: 'over',
    reason: aborted
      ? `rotation ${rotationId} was aborted at ${aborted.abortedAt}`
      : `rotation ${rotationId} is no longer open`,
    next: `${verify}: deploy with the credentials of the login that is active now, and run open again to rotate.`,
    state,
  }
}

/**
 * A closed rotation leaves exactly one login that can log in: the active one, which the close
 * recorded as `lastClosed.active` (it disabled the previous one in the same transaction). If
 * the roles say otherwise, the state comment (or a role) was changed outside the action, and
 * nothing may be reported as closed on the comment's word. Every family role but the active
 * one is checked, not only the one the comment names as previous: a forged comment could name
 * a role that happens to be NOLOGIN.
 */
function requireClosedLoginDisabled(obs: Observation, state: ClosedState, group: string): void {
  const closed = state.lastClosed
  const roles: [string, RoleInfo | null | undefined][] = [[group, obs.group], ...Object.entries(obs.logins)]
  const loggable = roles.filter(([name, r]) => name !== state.active && r?.canLogin).map(([name]) => `"${name}"`)
  const problem =
    closed.active !== state.active
      ? `it records "${closed.active}" as the login the close left active, while the active login is "${state.active}"`
      : loggable.length
        ? `${loggable.join(' and ')} can still log in, where only the active login "${state.active}" should`
        : null
  if (!problem) return
  throw new StateError(
    `The state says rotation ${closed.id} was closed at ${closed.closedAt}, but ${problem}: the state comment or a role was changed outside the action, so the rotation is not treated as closed.`,
    describeState(state),
    'Run status to see which logins can log in and the drift; if nothing uses a login that should not log in, disable it (ALTER ROLE ... NOLOGIN), or run a full rotation (open, verify-drain, close).',
  )
}

// ---- close --------------------------------------------------------------------

export function planClose(obs: Observation, cfg: PlanConfig, ctx: PlanContext): ClosePlan {
  const state = requireState(obs, cfg)
  if (isClosedRerun(state, cfg)) {
    requireClosedLoginDisabled(obs, state, cfg.group)
    return noop(state, alreadyClosed(state))
  }
  const r = requireRotation(state, cfg, 'close')
  const outgoing = state.active
  const remaining = sessionCount(obs.sessions, outgoing)
  const notes: string[] = []
  if (remaining > 0) {
    if (!cfg.terminate && !cfg.force) {
      throw new StateError(
        `The outgoing login "${outgoing}" still has ${describeSessions(obs.sessions, outgoing)} sessions.`,
        describeState(state),
        'Wait for them with verify-drain, or run close with terminate: true to end them, or force: true to close while they run.',
      )
    }
    notes.push(
      cfg.terminate
        ? `Ending ${remaining} sessions of "${outgoing}" after the commit.`
        : `Closing with force: ${remaining} sessions of "${outgoing}" keep running until they disconnect.`,
    )
  }
  const { activeVerifier: _outgoing, ...rest } = withoutWriteBack(state)
  const next: ClosedState = {
    ...rest,
    active: r.incoming,
    rotation: null,
    lastClosed: { id: r.id, closedAt: ctx.now.toISOString(), active: r.incoming, previous: outgoing },
    passwordSetAt: { ...state.passwordSetAt, [outgoing]: ctx.now.toISOString() },
    // The verifier open sealed for the incoming login follows it; the outgoing one's goes with its password.
    ...(r.verifier ? { activeVerifier: { login: r.incoming, sealed: r.verifier } } : {}),
  }
  // The adopted single login becomes a plain NOLOGIN group: its settings now live on the logins only.
  const retired = outgoing === cfg.group ? retireSettings(obs.configs, outgoing, r.incoming) : { steps: [], notes: [] }
  return {
    kind: 'change',
    steps: [
      { kind: 'disable-login', role: outgoing },
      ...retired.steps,
      { kind: 'write-state', group: cfg.group, state: next },
    ],
    state: next,
    notes: [...notes, ...retired.notes],
  }
}

// ---- abort --------------------------------------------------------------------

/**
 * Cancels an open rotation: the incoming login gets NOLOGIN and a scrambled
 * password, the active login stays as it is. Safe in any state: with no
 * rotation open it does nothing and says so.
 */
export function planAbort(obs: Observation, cfg: PlanConfig, ctx: PlanContext): AbortPlan {
  const s = obs.state
  if (s.kind !== 'ok') {
    if (s.kind === 'invalid') requireState(obs, cfg)
    return noop(initialState(cfg.logins, cfg.logins[0]), 'the family is not set up, so no rotation is open')
  }
  const state = requireState(obs, cfg)
  if (!state.rotation) {
    const last = state.lastAborted
      ? ` (rotation ${state.lastAborted.id} was aborted at ${state.lastAborted.abortedAt})`
      : ''
    return noop(state, `no rotation is open${last}`)
  }
  const r = state.rotation
  if (cfg.rotationId && cfg.rotationId !== r.id) {
    throw new StateError(
      `rotation-id ${cfg.rotationId} does not match the open rotation ${r.id}.`,
      describeState(state),
      'Pass the rotation-id output of the open phase, or leave rotation-id empty to abort whatever rotation is open.',
    )
  }
  const w = state.writtenBack
  const notes = [`Aborted rotation ${r.id}: "${r.incoming}" is disabled again, "${state.active}" stays active.`]
  if (w && w.rotationId === r.id && w.login === r.incoming) {
    const held = `GitHub secrets ${w.secrets.join(', ')} ${w.pending ? 'may hold' : 'hold'} the credentials of "${r.incoming}" (written by close at ${w.at}, which then failed)`
    if (!cfg.force) {
      throw new StateError(
        `${held}, so abort will not disable "${r.incoming}": the next deploy from those secrets could not log in. Nothing was changed.`,
        describeState(state),
        `Run close again to finish the rotation. To abort anyway, first put the credentials of "${state.active}" back into those secrets, then run abort with force: true.`,
      )
    }
    notes.push(`force: true: ${held}; put the credentials of "${state.active}" back into them.`)
  }
  const next: AbortedState = {
    ...withoutWriteBack(state),
    rotation: null,
    lastAborted: { id: r.id, abortedAt: ctx.now.toISOString(), login: r.incoming },
  }
  return {
    kind: 'change',
    steps: [
      { kind: 'disable-login', role: r.incoming },
      { kind: 'write-state', group: cfg.group, state: next },
    ],
    state: next,
    notes,
  }
}

/**
 * abort never strands a deploy: while the incoming login has sessions anywhere
 * the action can see (primary, replicas, pooler clients), a rollout already
 * uses the new credentials, and disabling them would make every restart of it
 * fail. abort refuses, changing nothing, unless force: true. Called inside
 * abort's transaction, just before the change, with the sessions read then.
 * Returns notes for the summary (under force).
 */
export function checkAbortInUse(
  sessions: LoginSession[],
  state: FamilyState,
  cfg: Pick<PlanConfig, 'force' | 'terminate'>,
): string[] {
  const incoming = state.rotation?.incoming
  const mine = sessions.filter((s) => s.login === incoming)
  if (!incoming || mine.length === 0) return []
  const listed = `${mine.length} session(s): ${describeLoginSessions(mine)}`
  if (!cfg.force) {
    throw new StateError(
      `The incoming login "${incoming}" has ${listed}. A deploy already uses the new credentials: abort would disable them, and every restart of that deploy would then fail to log in. Nothing was changed.`,
      describeState(state),
      `Either finish the rollout and run close; or first move the application back to the credentials of "${state.active}" (the platform's previous value), then run abort with force: true${cfg.terminate ? ', which then also ends these sessions' : ' (add terminate: true to end these sessions)'}.`,
    )
  }
  return [
    `force: true: "${incoming}" had ${listed}; ${cfg.terminate ? 'they are ended after the commit' : 'they keep running until they disconnect, and cannot log in again'}.`,
  ]
}

// ---- privileges ---------------------------------------------------------------

export interface MissingPrivilege {
  /** Everything the admin lacks, in one phrase ("CREATEROLE and ADMIN OPTION on roles …"). */
  privilege: string
  /** The statements that grant it, one block ("GRANT …; GRANT …"), without the last semicolon. */
  grant: string
}

/** What a phase is about to do, for missingPrivilege. */
export interface PrivilegeNeeds {
  /** The phase changes roles (CREATEROLE; on 16+ ADMIN OPTION on the family's existing roles). */
  changes: boolean
  /** Roles the phase creates itself (it gets ADMIN OPTION on them by creating them). */
  created?: ReadonlySet<string>
  /** The phase ends sessions of other roles. */
  terminate: boolean
}

/**
 * Everything the admin lacks for the whole rotation, checked before anything
 * changes, so one run reports it all: CREATEROLE; on PostgreSQL 16+ ADMIN OPTION
 * on every existing role of the family (the group and both logins: each phase
 * alters some of them, and the action serializes on the group role) but those
 * this phase creates; pg_signal_backend to terminate sessions. Superusers can do
 * everything. The grants are the least-privilege form docs/managed-services.md
 * recommends: on 16+, authority over the roles without their privileges
 * (WITH ADMIN TRUE, INHERIT FALSE, SET FALSE); before 16 ADMIN OPTION is never
 * needed (CREATEROLE alters every role that is not a superuser). The grantee is
 * the admin that logged in (session_user).
 */
export function missingPrivilege(
  obs: Observation,
  group: string,
  logins: readonly string[],
  needs: PrivilegeNeeds,
): MissingPrivilege | null {
  const a = obs.admin
  if (a.superuser) return null
  const q = quoteIdent
  const privileges: string[] = []
  const grants: string[] = []
  if (needs.changes) {
    if (!a.createrole) {
      privileges.push('CREATEROLE')
      grants.push(`ALTER ROLE ${q(a.name)} CREATEROLE`)
    }
    if (obs.serverVersion >= 160000) {
      const existing = [group, ...logins].filter((r) => (r === group ? obs.group : obs.logins[r]))
      const lacking = existing.filter((r) => !needs.created?.has(r) && !a.adminOption[r])
      if (lacking.length) {
        const names = lacking.map((r) => q(r))
        const list =
          names.length === 1 ? `role ${names[0]}` : `roles ${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
        privileges.push(`ADMIN OPTION on ${list} (PostgreSQL 16+ requires it to alter a role)`)
        grants.push(`GRANT ${names.join(', ')} TO ${q(a.name)} ${adminOptionClause(obs.serverVersion)}`)
      }
    }
  }
  if (needs.terminate && !a.signalBackend) {
    privileges.push('pg_signal_backend (to terminate sessions of other roles)')
    grants.push(`GRANT pg_signal_backend TO ${q(a.name)}`)
  }
  if (privileges.length === 0) return null
  return { privilege: privileges.join(' and '), grant: grants.join('; ') }
}

/** ADMIN OPTION without the role's privileges where the server can say so (16+). */
export function adminOptionClause(serverVersion: number): string {
  return serverVersion >= 160000 ? 'WITH ADMIN TRUE, INHERIT FALSE, SET FALSE' : 'WITH ADMIN OPTION'
}

/**
 * Undo an open whose login check failed after commit: the incoming login gets
 * NOLOGIN and a scrambled password, and the state goes back to what it was
 * before the open (or, for a re-issue inside an open rotation, to idle).
 */
export function planRevertOpen(
  obs: Observation,
  cfg: PlanConfig,
  rotationId: string,
  previous: FamilyState,
): ChangePlan | null {
  if (obs.state.kind !== 'ok') return null
  const state = obs.state.state
  if (state.rotation?.id !== rotationId) return null
  const next: FamilyState = previous.rotation ? { ...state, rotation: null } : previous
  return {
    kind: 'change',
    steps: [
      { kind: 'disable-login', role: state.rotation.incoming },
      { kind: 'write-state', group: cfg.group, state: next },
    ],
    state: next,
    notes: [],
  }
}

// ---- shared checks --------------------------------------------------------------

function requireState(obs: Observation, cfg: PlanConfig): FamilyState {
  const s = obs.state
  if (s.kind === 'ok') {
    if (!sameLogins(s.state.logins, cfg.logins)) {
      throw new StateError(
        `The family's state names the login roles ${s.state.logins.join(', ')}, but login-roles is ${cfg.logins.join(', ')}.`,
        describeState(s.state),
        `Pass login-roles: ${s.state.logins.join(',')}; or, if login-roles is right, the state comment was altered: reset it with COMMENT ON ROLE ${quoteIdent(cfg.group)} IS NULL; and run setup.`,
      )
    }
    return s.state
  }
  if (s.kind === 'invalid') throw unreadableState(s, cfg.group)
  throw new StateError(
    obs.group ? `Role "${cfg.group}" has no rotation state.` : `Role "${cfg.group}" does not exist.`,
    'not set up',
    'Run the setup phase first.',
  )
}

/**
 * A state comment that cannot be acted on. A tampered one (naming a role outside
 * the family) says how to reset it: clear the comment and let setup record the
 * one login that can log in (it refuses, and asks, when both can).
 */
function unreadableState(s: { reason: string; tampered?: boolean }, group: string): StateError {
  const inspect = `SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = ${quoteLiteral(group)}`
  if (!s.tampered) {
    return new StateError(
      `The state comment on role "${group}" cannot be read: ${s.reason}.`,
      'in an unknown state',
      `Inspect it with: ${inspect}. Only if no rotation is under way, clear it (COMMENT ON ROLE ${quoteIdent(group)} IS NULL;) and run setup, which records the one login that can log in as active.`,
    )
  }
  return new StateError(
    `The state comment on role "${group}" was tampered with: ${s.reason}. No phase acts on it, and nothing was changed.`,
    'in an unknown state (tampered state comment)',
    `Find out who could COMMENT ON ROLE ${quoteIdent(group)} (${inspect}), check which login the application uses, then reset the state with COMMENT ON ROLE ${quoteIdent(group)} IS NULL; and run setup (with adopt: true if "${group}" itself is still the application's login): it records the one login that can log in as active, and refuses if both can.`,
  )
}

/**
 * The apply layer's last check, against the observation: every role a step
 * alters is the group or one of the two logins, is not a superuser and is not
 * the admin itself. Returns why not, or null.
 */
export function forbiddenTarget(
  obs: Observation,
  group: string,
  logins: readonly string[],
  steps: Step[],
): string | null {
  for (const step of steps) {
    const roles =
      step.kind === 'grant-membership' || step.kind === 'set-default-role'
        ? [step.group, step.login]
        : step.kind === 'write-state'
          ? [step.group]
          : [step.role]
    for (const role of roles) {
      const info = role === group ? obs.group : obs.logins[role]
      if (role !== group && !logins.includes(role))
        return `"${role}" is not a role of the family (${[group, ...logins].map((r) => `"${r}"`).join(', ')})`
      if (role === obs.admin.name) return `"${role}" is the admin role itself (session_user)`
      if (info?.superuser) return `"${role}" is a superuser`
    }
  }
  return null
}

function requireRotation(state: FamilyState, cfg: PlanConfig, phase: string) {
  const r = state.rotation
  if (!r) {
    const last = state.lastClosed ? ` The last closed rotation is ${state.lastClosed.id}.` : ''
    throw new StateError(
      cfg.rotationId
        ? `No rotation is open, and rotation-id ${cfg.rotationId} is not the last closed one.${last}`
        : `No rotation is open, so there is nothing to ${phase}.${last}`,
      describeState(state),
      'Run open first (a re-run of a finished phase succeeds only with the rotation-id it finished).',
    )
  }
  if (cfg.rotationId && cfg.rotationId !== r.id) {
    throw new StateError(
      `rotation-id ${cfg.rotationId} does not match the open rotation ${r.id}.`,
      describeState(state),
      'Pass the rotation-id output of the open phase that started this rotation.',
    )
  }
  return r
}

/** A re-run of verify-drain/close after the rotation was closed: succeed, do nothing. */
function isClosedRerun(state: FamilyState, cfg: PlanConfig): state is ClosedState {
  return !state.rotation && Boolean(cfg.rotationId) && state.lastClosed?.id === cfg.rotationId
}

function alreadyClosed(state: ClosedState): string {
  return `rotation ${state.lastClosed.id} was already closed at ${state.lastClosed.closedAt}`
}

function isOpen(state: FamilyState): state is OpenState {
  return state.rotation !== null
}

function noop<S extends FamilyState>(state: S, reason: string, notes: string[] = []): NoopPlan<S> {
  return { kind: 'noop', steps: [], state, reason, notes }
}

/** The state without its write-back record (kept only while the rotation it belongs to is open). */
function withoutWriteBack(state: FamilyState): FamilyState {
  const { writtenBack: _written, ...rest } = state
  return rest
}

function loginProblem(r: RoleInfo | null | undefined, group: string): string | null {
  if (!r) return 'the role does not exist'
  if (!r.member) return `it is not a member of "${group}"`
  if (!r.canSet) return `its membership in "${group}" does not allow SET ROLE`
  if (r.defaultRole !== group)
    return `its default role is ${r.defaultRole === null ? 'not set' : `"${r.defaultRole}"`}, not "${group}"`
  return null
}

function sameLogins(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x))
}
