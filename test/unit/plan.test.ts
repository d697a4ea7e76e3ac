import { idleState as baseIdleState, groupRole, loginRole as login } from '../harness/fixtures.js'
import { describe, expect, it, vi, type Mock } from 'vitest'
import type { RunInfo } from '../../src/inputs/config.js'
import { StateError } from '../../src/domain/errors.js'
import {
  foreignGrantees,
  type AdminInfo,
  type Observation,
  type RoleInfo,
  type SessionGroup,
} from '../../src/domain/family.js'
import {
  adminOptionClause,
  forbiddenTarget,
  missingPrivilege,
  planAbort,
  planClose,
  planConfirmOpen,
  planDrain,
  planOpen,
  planRevertOpen,
  planSetup,
  watchedRotation,
  withSealed,
  type Plan,
  type PlanContext,
} from '../../src/domain/plan.js'
import { describeState, readState, serializeState, type FamilyState } from '../../src/domain/state.js'
import type { Step } from '../../src/postgres/statements.js'

// ---- factories -------------------------------------------------------------------

const NOW = new Date('2026-11-27T22:44:00.000Z')
const EARLIER = '2026-11-01T10:00:00.000Z'
const RUN: RunInfo = { runId: '1001', runAttempt: '1', workflow: 'deploy', repository: 'acme/shop', actor: 'dev' }
const OTHER_RUN: RunInfo = { ...RUN, runId: '2002' }

type Cfg = Parameters<typeof planSetup>[1]

function cfg(over: Partial<Cfg> = {}): Cfg {
  return {
    group: 'app',
    logins: ['app_a', 'app_b'],
    rotationId: null,
    terminate: false,
    force: false,
    run: RUN,
    ...over,
  }
}

function ctx(now: Date = NOW): PlanContext & { newRotationId: Mock<() => string> } {
  return { now, newRotationId: vi.fn(() => 'r-new') }
}

/** A bare login role that exists but is not part of the family yet. */
function bareLogin(name: string, over: Partial<RoleInfo> = {}): RoleInfo {
  return login(name, { member: false, canSet: false, inherits: false, defaultRole: null, ...over })
}

function sessions(login: string, count: number, database = 'appdb'): SessionGroup {
  return { login, database, applicationName: 'web', clientAddr: '10.0.0.1', count }
}

function idleState(over: Partial<FamilyState> = {}): FamilyState {
  return baseIdleState(over, EARLIER)
}

function openState(over: Partial<FamilyState> = {}, openedBy: RunInfo = RUN): FamilyState {
  return idleState({
    rotation: { id: 'r-1', incoming: 'app_b', openedAt: EARLIER, openedBy },
    passwordSetAt: { app_a: EARLIER, app_b: EARLIER },
    ...over,
  })
}

const SUPERUSER: AdminInfo = { name: 'admin', superuser: true, createrole: true, signalBackend: true, adminOption: {} }

/** Nothing exists yet. */
function freshObs(over: Partial<Observation> = {}): Observation {
  return {
    serverVersion: 180000,
    scramIterations: 4096,
    admin: SUPERUSER,
    group: null,
    logins: { app_a: null, app_b: null },
    state: { kind: 'none' },
    sessions: [],
    ...over,
  }
}

/**
 * A family as the action leaves it in `state`: the group, both logins ready, the
 * active login (and an open rotation's incoming one) LOGIN, the state comment read back.
 */
function familyObs(state: FamilyState | null, over: Partial<Observation> = {}): Observation {
  const canLogin = (l: string) => state !== null && (l === state.active || l === state.rotation?.incoming)
  return {
    serverVersion: 180000,
    scramIterations: 4096,
    admin: SUPERUSER,
    group: groupRole(),
    logins: {
      app_a: login('app_a', { canLogin: canLogin('app_a') }),
      app_b: login('app_b', { canLogin: canLogin('app_b') }),
    },
    state: state ? { kind: 'ok', state } : { kind: 'none' },
    sessions: [],
    ...over,
  }
}

/** Runs fn, expects a StateError that says what state the family is in and what to run next. */
function refusal(fn: () => unknown): StateError {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  expect(err, 'expected a StateError').toBeInstanceOf(StateError)
  const e = err as StateError
  expect(e.name).toBe('StateError')
  expect(e.state.trim()).not.toBe('')
  expect(e.next.trim()).not.toBe('')
  expect(e.message).toContain(`The family is ${e.state}.`)
  expect(e.message).toContain(e.next)
  expect(e.message.endsWith(e.next)).toBe(true)
  return e
}

function kinds(plan: { steps: Step[] }): string[] {
  return plan.steps.map((s) => ('role' in s ? `${s.kind} ${s.role}` : 'login' in s ? `${s.kind} ${s.login}` : s.kind))
}

/** The plan as these tests read it: the login issued a password, why nothing is done, what is re-emitted. */
function fields(plan: Plan) {
  return {
    steps: plan.steps,
    state: plan.state,
    issue: plan.kind === 'issue' ? plan.login : null,
    noop: plan.kind === 'noop' ? plan.reason : null,
    notes: plan.notes,
    ...(plan.kind === 'reemit' ? { reemit: { login: plan.login, sealed: plan.sealed } } : {}),
  }
}

function writtenState(plan: Plan): FamilyState {
  const w = plan.steps.filter((s) => s.kind === 'write-state')
  expect(w).toHaveLength(1)
  expect(plan.steps.at(-1)).toBe(w[0])
  const step = w[0] as Extract<Step, { kind: 'write-state' }>
  expect(step.group).toBe('app')
  return step.state
}

// ---- setup -------------------------------------------------------------------------

describe('planSetup', () => {
  it('creates a fresh family: the group, both logins with membership and default role, and gives the first login LOGIN and a password', () => {
    const c = ctx()
    const plan = planSetup(freshObs(), cfg(), c)
    expect(kinds(plan)).toEqual([
      'create-role app',
      'create-role app_a',
      'grant-membership app_a',
      'set-default-role app_a',
      'create-role app_b',
      'grant-membership app_b',
      'set-default-role app_b',
      'enable-login app_a',
      'write-state',
    ])
    for (const s of plan.steps) {
      if (s.kind === 'grant-membership' || s.kind === 'set-default-role') expect(s.group).toBe('app')
    }
    expect(fields(plan).issue).toBe('app_a')
    expect(fields(plan).noop).toBeNull()
    expect(plan.notes).toEqual([])
    expect(plan.state).toEqual({
      tool: 'pg-credential-rotation',
      version: 1,
      logins: ['app_a', 'app_b'],
      active: 'app_a',
      rotation: null,
      lastClosed: null,
      passwordSetAt: { app_a: NOW.toISOString() },
    })
    expect(writtenState(plan)).toEqual(plan.state)
    expect(c.newRotationId).not.toHaveBeenCalled()
  })

  it('records the login roles in input order and activates the first one given', () => {
    const obs = freshObs({ logins: { blue: null, green: null } })
    const plan = planSetup(obs, cfg({ logins: ['green', 'blue'] }), ctx())
    expect(plan.state.logins).toEqual(['green', 'blue'])
    expect(plan.state.active).toBe('green')
    expect(fields(plan).issue).toBe('green')
  })

  it('does nothing on a re-run over a complete family (no steps, a noop reason, the same state, no password)', () => {
    const state = idleState()
    const plan = planSetup(familyObs(state), cfg(), ctx())
    expect(plan.steps).toEqual([])
    expect(fields(plan).noop).toBe('the family is already set up')
    expect(fields(plan).issue).toBeNull()
    expect(plan.state).toBe(state)
    expect(plan.notes).toEqual([])
  })

  it('does nothing on a re-run while a rotation is open, and keeps the rotation', () => {
    const state = openState()
    const plan = planSetup(familyObs(state), cfg(), ctx())
    expect(plan.steps).toEqual([])
    expect(fields(plan).noop).not.toBeNull()
    expect(plan.state.rotation).toEqual(state.rotation)
  })

  it('accepts login-roles in the other order than the state records them', () => {
    const plan = planSetup(familyObs(idleState()), cfg({ logins: ['app_b', 'app_a'] }), ctx())
    expect(fields(plan).noop).not.toBeNull()
    expect(plan.state.logins).toEqual(['app_a', 'app_b'])
  })

  it('notes, and leaves alone, an active login that cannot log in', () => {
    const state = idleState()
    const obs = familyObs(state)
    obs.logins.app_a = login('app_a', { canLogin: false })
    const plan = planSetup(obs, cfg(), ctx())
    expect(plan.steps).toEqual([])
    expect(plan.notes).toEqual(['The active login "app_a" cannot log in (NOLOGIN); setup leaves it as it is.'])
  })

  it('refuses to turn a group role that can log in into the NOLOGIN group', () => {
    const e = refusal(() => planSetup(freshObs({ group: groupRole({ canLogin: true }) }), cfg(), ctx()))
    expect(e.message).toContain('Role "app" exists and can log in')
    expect(e.state).toBe('not set up')
    expect(e.next).toMatch(/adopt: true/)
  })

  it('refuses a superuser group role', () => {
    const e = refusal(() => planSetup(freshObs({ group: groupRole({ superuser: true }) }), cfg(), ctx()))
    expect(e.message).toContain('Role "app" is a superuser')
    expect(e.state).toBe('not set up')
    expect(e.next).toMatch(/SUPERUSER/)
  })

  it.each(['app_a', 'app_b'])('refuses a superuser login role (%s)', (name) => {
    const obs = freshObs({ logins: { app_a: null, app_b: null, [name]: bareLogin(name, { superuser: true }) } })
    const e = refusal(() => planSetup(obs, cfg(), ctx()))
    expect(e.message).toContain(`Role "${name}" is a superuser`)
  })

  it('refuses a superuser login in a family that is set up, describing the recorded state', () => {
    const state = idleState()
    const obs = familyObs(state)
    obs.logins.app_b = login('app_b', { superuser: true })
    const e = refusal(() => planSetup(obs, cfg(), ctx()))
    expect(e.state).toBe(describeState(state))
    expect(e.state).toBe('idle with app_a active')
  })

  it('refuses when both logins can log in and no state says which one the application uses', () => {
    const obs = freshObs({
      group: groupRole(),
      logins: { app_a: bareLogin('app_a', { canLogin: true }), app_b: bareLogin('app_b', { canLogin: true }) },
    })
    const e = refusal(() => planSetup(obs, cfg(), ctx()))
    expect(e.message).toContain('Both login roles (app_a, app_b) can log in')
    expect(e.state).toBe('not set up')
    expect(e.next).toMatch(/NOLOGIN/)
    expect(e.next).toMatch(/run setup again/)
  })

  it.each(['app_a', 'app_b'])(
    'adopts exactly one existing LOGIN role (%s) as active without changing its password',
    (active) => {
      const other = active === 'app_a' ? 'app_b' : 'app_a'
      const obs = freshObs({
        group: groupRole(),
        logins: { [active]: bareLogin(active, { canLogin: true }), [other]: null },
      })
      const plan = planSetup(obs, cfg(), ctx())
      expect(plan.state.active).toBe(active)
      expect(fields(plan).issue).toBeNull()
      expect(plan.steps.some((s) => s.kind === 'enable-login' || s.kind === 'disable-login')).toBe(false)
      expect(plan.state.passwordSetAt).toEqual({})
      expect(plan.notes).toEqual([
        `Login "${active}" already can log in: it is recorded as active and its password is left unchanged (no password is emitted).`,
      ])
      // the adopted login is still repaired into the family, the other one created
      expect(kinds(plan)).toContain(`grant-membership ${active}`)
      expect(kinds(plan)).toContain(`set-default-role ${active}`)
      expect(kinds(plan)).toContain(`create-role ${other}`)
      expect(kinds(plan)).not.toContain(`create-role ${active}`)
      expect(kinds(plan)).not.toContain('create-role app')
      expect(writtenState(plan)).toEqual(plan.state)
    },
  )

  it('replaces a foreign comment on the group role with the state, and says so', () => {
    const obs = freshObs({ group: groupRole(), state: { kind: 'foreign', comment: 'owned by the billing team' } })
    const plan = planSetup(obs, cfg(), ctx())
    expect(plan.notes).toContain('The previous comment on role "app" is replaced by the rotation state.')
    expect(writtenState(plan)).toEqual(plan.state)
    expect(fields(plan).issue).toBe('app_a')
  })

  it('refuses login-roles that differ from the ones the state records, and says which to pass', () => {
    const state = idleState()
    const obs = familyObs(state, { logins: { app_a: login('app_a', { canLogin: true }), app_c: null } })
    const e = refusal(() => planSetup(obs, cfg({ logins: ['app_a', 'app_c'] }), ctx()))
    expect(e.message).toContain(
      "The family's state names the login roles app_a, app_b, but login-roles is app_a, app_c.",
    )
    expect(e.state).toBe('idle with app_a active')
    expect(e.next).toBe('Pass login-roles: app_a,app_b.')
  })

  it('refuses a state comment it cannot read, and says how to inspect it', () => {
    const obs = freshObs({
      group: groupRole(),
      state: { kind: 'invalid', reason: 'state version 9 is not supported by this release' },
    })
    const e = refusal(() => planSetup(obs, cfg(), ctx()))
    expect(e.message).toContain('state version 9 is not supported')
    expect(e.state).toBe('in an unknown state')
    expect(e.next).toContain("shobj_description(oid, 'pg_authid')")
    expect(e.next).toContain("rolname = 'app'")
  })

  it.each([
    ['not a member', { member: false, canSet: false, inherits: false }, ['grant-membership app_b']],
    ['a member without SET', { canSet: false }, ['grant-membership app_b']],
    ['a member without INHERIT', { inherits: false }, ['grant-membership app_b']],
    ['without a default role', { defaultRole: null }, ['set-default-role app_b']],
    ['with another default role', { defaultRole: 'postgres' }, ['set-default-role app_b']],
    [
      'neither a member nor with the default role',
      { member: false, canSet: false, inherits: false, defaultRole: null },
      ['grant-membership app_b', 'set-default-role app_b'],
    ],
  ])('repairs a login that is %s, changing nothing else', (_what, patch, expected) => {
    const state = idleState()
    const obs = familyObs(state)
    obs.logins.app_b = login('app_b', patch)
    const plan = planSetup(obs, cfg(), ctx())
    expect(kinds(plan)).toEqual(expected)
    expect(fields(plan).noop).toBeNull()
    expect(fields(plan).issue).toBeNull()
    expect(plan.state).toBe(state)
  })

  it('re-creates a dropped login role of a set-up family as NOLOGIN, without a password', () => {
    const state = idleState()
    const obs = familyObs(state)
    obs.logins.app_b = null
    const plan = planSetup(obs, cfg(), ctx())
    expect(kinds(plan)).toEqual(['create-role app_b', 'grant-membership app_b', 'set-default-role app_b'])
    expect(fields(plan).issue).toBeNull()
  })

  it('creates a missing group for existing, unrelated NOLOGIN logins and issues a password to the first', () => {
    const obs = freshObs({ logins: { app_a: bareLogin('app_a'), app_b: bareLogin('app_b') } })
    const plan = planSetup(obs, cfg(), ctx())
    expect(kinds(plan)).toEqual([
      'create-role app',
      'grant-membership app_a',
      'set-default-role app_a',
      'grant-membership app_b',
      'set-default-role app_b',
      'enable-login app_a',
      'write-state',
    ])
    expect(fields(plan).issue).toBe('app_a')
  })

  it('reports an unreadable state before a group that can log in', () => {
    const obs = freshObs({ group: groupRole({ canLogin: true }), state: { kind: 'invalid', reason: 'x' } })
    expect(refusal(() => planSetup(obs, cfg(), ctx())).state).toBe('in an unknown state')
  })
})

// ---- open --------------------------------------------------------------------------

describe('planOpen', () => {
  it('refuses a family without state: "Run the setup phase first"', () => {
    const e = refusal(() => planOpen(familyObs(null), cfg(), ctx()))
    expect(e.message).toContain('Role "app" has no rotation state.')
    expect(e.state).toBe('not set up')
    expect(e.next).toBe('Run the setup phase first.')
  })

  it('refuses when the group role does not exist: "Run the setup phase first"', () => {
    const e = refusal(() => planOpen(freshObs(), cfg(), ctx()))
    expect(e.message).toContain('Role "app" does not exist.')
    expect(e.next).toBe('Run the setup phase first.')
  })

  it('refuses when the group role carries a comment that is not a state', () => {
    const e = refusal(() => planOpen(familyObs(null, { state: { kind: 'foreign', comment: 'hello' } }), cfg(), ctx()))
    expect(e.state).toBe('not set up')
    expect(e.next).toBe('Run the setup phase first.')
  })

  it('refuses an unreadable state comment', () => {
    const e = refusal(() =>
      planOpen(
        familyObs(null, {
          state: { kind: 'invalid', reason: 'the state comment is missing its logins or active login' },
        }),
        cfg(),
        ctx(),
      ),
    )
    expect(e.state).toBe('in an unknown state')
    expect(e.message).toContain('cannot be read: the state comment is missing its logins or active login.')
  })

  it('refuses login-roles that differ from the state', () => {
    const e = refusal(() => planOpen(familyObs(idleState()), cfg({ logins: ['app_a', 'app_x'] }), ctx()))
    expect(e.next).toMatch(/^Pass login-roles: app_a,app_b; or, if login-roles is right, the state comment was altered/)
    expect(e.state).toBe('idle with app_a active')
  })

  it('opens a rotation from idle: LOGIN and a password for the standby, and a state that records the rotation', () => {
    const state = idleState({ lastClosed: { id: 'r-0', closedAt: EARLIER, active: 'app_a' } })
    const c = ctx()
    const plan = planOpen(familyObs(state), cfg(), c)
    expect(kinds(plan)).toEqual(['enable-login app_b', 'write-state'])
    expect(fields(plan).issue).toBe('app_b')
    expect(fields(plan).noop).toBeNull()
    expect(plan.notes).toEqual([])
    expect(c.newRotationId).toHaveBeenCalledTimes(1)
    expect(plan.state).toEqual({
      ...state,
      active: 'app_a',
      rotation: { id: 'r-new', incoming: 'app_b', openedAt: NOW.toISOString(), openedBy: RUN },
      passwordSetAt: { app_a: EARLIER, app_b: NOW.toISOString() },
    })
    expect(writtenState(plan)).toEqual(plan.state)
    // the written state is one readState accepts as an open rotation
    expect(readState(serializeState(plan.state), 'app')).toEqual({ kind: 'ok', state: plan.state })
    expect(describeState(plan.state)).toBe('open (rotation r-new) with app_a outgoing and app_b incoming')
  })

  // Regression: a state comment whose logins are ['app_a', 'app_a'] once passed readState and a
  // one-sided login-roles comparison, and open then re-passworded the active login app_a.
  it('never hands out the active login, even when the state comment names it twice', () => {
    const state = readState(JSON.stringify(idleState({ logins: ['app_a', 'app_a'] })), 'app')
    let plan: Plan | null = null
    try {
      plan = planOpen(familyObs(null, { state }), cfg(), ctx())
    } catch (e) {
      expect(e).toBeInstanceOf(StateError)
    }
    expect(plan && fields(plan).issue).not.toBe('app_a')
    expect(plan).toBeNull()
  })

  it('does not modify the observed state object', () => {
    const state = idleState()
    const copy = structuredClone(state)
    planOpen(familyObs(state), cfg(), ctx())
    expect(state).toEqual(copy)
  })

  it('hands out app_a when app_b is active', () => {
    const plan = planOpen(familyObs(idleState({ active: 'app_b' })), cfg(), ctx())
    expect(fields(plan).issue).toBe('app_a')
    expect(plan.state.rotation?.incoming).toBe('app_a')
    expect(plan.state.active).toBe('app_b')
  })

  it('notes sessions the standby login still has from before, and opens anyway', () => {
    const plan = planOpen(
      familyObs(idleState(), { sessions: [sessions('app_b', 2), sessions('app_a', 9)] }),
      cfg(),
      ctx(),
    )
    expect(fields(plan).issue).toBe('app_b')
    expect(plan.notes).toEqual(['The standby login "app_b" still has 2 sessions from before; they keep running.'])
  })

  it.each([
    ['does not exist', null, 'the role does not exist'],
    ['is not a member of the group', login('app_b', { member: false }), 'it is not a member of "app"'],
    [
      'cannot SET ROLE to the group',
      login('app_b', { canSet: false }),
      'its membership in "app" does not allow SET ROLE',
    ],
    ['has no default role', login('app_b', { defaultRole: null }), 'its default role is not set, not "app"'],
    ['has another default role', login('app_b', { defaultRole: 'other' }), 'its default role is "other", not "app"'],
  ])('refuses when the standby login %s, and says to run setup', (_what, standby, problem) => {
    const obs = familyObs(idleState())
    obs.logins.app_b = standby
    const c = ctx()
    const e = refusal(() => planOpen(obs, cfg(), c))
    expect(e.message).toContain(`The standby login "app_b" is not ready: ${problem}.`)
    expect(e.state).toBe('idle with app_a active')
    expect(e.next).toBe('Run the setup phase to repair the family, then open again.')
  })

  it('with force: true re-issues a fresh password when this workflow run opened the rotation and the incoming login has no sessions', () => {
    const state = openState()
    const c = ctx()
    const plan = planOpen(familyObs(state, { sessions: [sessions('app_a', 5)] }), cfg({ force: true }), c)
    expect(kinds(plan)).toEqual(['enable-login app_b', 'write-state'])
    expect(fields(plan).issue).toBe('app_b')
    expect(fields(plan).noop).toBeNull()
    expect(plan.state.rotation).toEqual(state.rotation) // same id, openedAt, openedBy
    expect(plan.state.active).toBe('app_a')
    expect(plan.state.passwordSetAt).toEqual({ app_a: EARLIER, app_b: NOW.toISOString() })
    expect(writtenState(plan)).toEqual(plan.state)
    expect(plan.notes).toEqual([
      'Rotation r-1 was opened by this workflow run; with force: true a new password is issued to "app_b" (it has no sessions). A deploy that received the first one can no longer log in.',
    ])
    expect(c.newRotationId).not.toHaveBeenCalled()
  })

  it('treats another attempt of the same workflow run as the same run', () => {
    const plan = planOpen(familyObs(openState()), cfg({ run: { ...RUN, runAttempt: '3' }, force: true }), ctx())
    expect(fields(plan).issue).toBe('app_b')
  })

  it('refuses a re-run of the opening workflow run without force when the state keeps no sealed copy: the password may be in use although the login has no sessions', () => {
    const e = refusal(() => planOpen(familyObs(openState()), cfg(), ctx()))
    expect(e.message).toMatch(/cannot be emitted again: it was opened without seal-key.*scaled to zero/)
    expect(e.next).toMatch(/force: true.*Pass seal-key/)
  })

  it('a re-run of the opening workflow run with credentials sealed in the state re-emits them and changes nothing, sessions or not', () => {
    const state = openState({
      rotation: { id: 'r-1', incoming: 'app_b', openedAt: EARLIER, openedBy: RUN, sealed: 'pgrot1.x' },
    })
    for (const over of [{}, { force: true }]) {
      const plan = planOpen(familyObs(state, { sessions: [sessions('app_b', 2)] }), cfg(over), ctx())
      expect(plan.steps).toEqual([])
      expect(fields(plan).issue).toBeNull()
      expect(fields(plan).reemit).toEqual({ login: 'app_b', sealed: 'pgrot1.x' })
    }
  })

  it('never re-issues a password close already wrote to GitHub, even with force', () => {
    const state = openState({
      writtenBack: { login: 'app_b', rotationId: 'r-1', secrets: ['DATABASE_URL'], at: EARLIER },
    })
    expect(refusal(() => planOpen(familyObs(state), cfg({ force: true }), ctx())).message).toMatch(
      /close already wrote the credentials of "app_b" to GitHub secrets DATABASE_URL/,
    )
  })

  it('withSealed keeps the sealed credentials in the rotation the plan writes', () => {
    const plan = withSealed(planOpen(familyObs(idleState()), cfg(), ctx()), 'pgrot1.y')
    expect(plan.state.rotation!.sealed).toBe('pgrot1.y')
    expect(writtenState(plan)).toEqual(plan.state)
  })

  it('planConfirmOpen: passes while the rotation is open (or closed onto its login) and the login may log in; refuses after an abort or another rotation', () => {
    const open = openState()
    expect(planConfirmOpen(familyObs(open), 'r-1', 'app_b').steps).toEqual([])
    const closed = idleState({
      active: 'app_b',
      lastClosed: { id: 'r-1', closedAt: NOW.toISOString(), active: 'app_b', previous: 'app_a' },
    })
    expect(planConfirmOpen(familyObs(closed), 'r-1', 'app_b').steps).toEqual([])
    const aborted = idleState({ lastAborted: { id: 'r-1', abortedAt: NOW.toISOString(), login: 'app_b' } })
    for (const obs of [
      familyObs(aborted),
      familyObs(openState({ rotation: { ...open.rotation!, id: 'r-2' } })),
      familyObs(open, { logins: { app_a: login('app_a', { canLogin: true }), app_b: login('app_b') } }),
    ]) {
      expect(refusal(() => planConfirmOpen(obs, 'r-1', 'app_b')).message).toMatch(
        /Rotation r-1 was aborted or changed by another phase/,
      )
    }
  })

  it('refuses a re-run of the opening workflow run when the incoming login already has sessions', () => {
    const state = openState()
    const e = refusal(() =>
      planOpen(familyObs(state, { sessions: [sessions('app_b', 2), sessions('app_b', 1, 'other')] }), cfg(), ctx()),
    )
    expect(e.message).toContain(
      'This workflow run opened rotation r-1, but the incoming login "app_b" already has 3 (appdb: 2, other: 1) sessions',
    )
    expect(e.state).toBe('open (rotation r-1) with app_a outgoing and app_b incoming')
    expect(e.next).toMatch(/verify-drain and close/)
  })

  it('refuses when a rotation opened by another run is open', () => {
    const e = refusal(() => planOpen(familyObs(openState({}, OTHER_RUN)), cfg(), ctx()))
    expect(e.message).toContain(`A rotation is already open (opened ${EARLIER} by workflow run 2002)`)
    expect(e.state).toBe('open (rotation r-1) with app_a outgoing and app_b incoming')
    expect(e.next).toBe('Finish it with verify-drain and close, then open again.')
  })

  it('refuses when a rotation is open and this run has no run id, even if the opener had none either', () => {
    const noRun: RunInfo = { ...RUN, runId: '' }
    const e = refusal(() => planOpen(familyObs(openState({}, noRun)), cfg({ run: noRun }), ctx()))
    expect(e.message).toContain(`A rotation is already open (opened ${EARLIER});`)
    refusal(() => planOpen(familyObs(openState()), cfg({ run: noRun }), ctx()))
  })
})

// ---- verify-drain ------------------------------------------------------------------

describe('planDrain', () => {
  it('refuses a family without state: "Run the setup phase first"', () => {
    const e = refusal(() => planDrain(familyObs(null), cfg()))
    expect(e.next).toBe('Run the setup phase first.')
  })

  it('refuses when no rotation is open, and says to run open first', () => {
    const e = refusal(() => planDrain(familyObs(idleState()), cfg()))
    expect(e.message).toContain('No rotation is open, so there is nothing to verify-drain.')
    expect(e.state).toBe('idle with app_a active')
    expect(e.next).toMatch(/^Run open first/)
  })

  it('names the last closed rotation when refusing a rotation-id that is not it', () => {
    const state = idleState({ active: 'app_b', lastClosed: { id: 'r-9', closedAt: EARLIER, active: 'app_b' } })
    const e = refusal(() => planDrain(familyObs(state), cfg({ rotationId: 'r-8' })))
    expect(e.message).toContain(
      'No rotation is open, and rotation-id r-8 is not the last closed one. The last closed rotation is r-9.',
    )
    expect(e.state).toBe('idle with app_b active')
  })

  it('waits for the outgoing login of the open rotation', () => {
    const state = openState()
    expect(planDrain(familyObs(state), cfg())).toEqual({
      kind: 'wait',
      outgoing: 'app_a',
      incoming: 'app_b',
      rotationId: 'r-1',
      state,
    })
    expect(planDrain(familyObs(state), cfg({ rotationId: 'r-1' }))).toMatchObject({ kind: 'wait', rotationId: 'r-1' })
  })

  it('waits regardless of sessions (the phase polls them)', () => {
    const obs = familyObs(openState(), { sessions: [sessions('app_a', 3), sessions('app_b', 1)] })
    expect(planDrain(obs, cfg()).kind).toBe('wait')
  })

  it('refuses a rotation-id that does not match the open rotation', () => {
    const e = refusal(() => planDrain(familyObs(openState()), cfg({ rotationId: 'r-2' })))
    expect(e.message).toContain('rotation-id r-2 does not match the open rotation r-1.')
    expect(e.state).toBe('open (rotation r-1) with app_a outgoing and app_b incoming')
    expect(e.next).toMatch(/rotation-id output of the open phase/)
  })

  it('does nothing on a re-run after the rotation was closed (rotation-id equal to the last closed one)', () => {
    const state = idleState({
      active: 'app_b',
      lastClosed: { id: 'r-1', closedAt: NOW.toISOString(), active: 'app_b' },
    })
    expect(planDrain(familyObs(state), cfg({ rotationId: 'r-1' }))).toEqual({
      kind: 'noop',
      reason: `rotation r-1 was already closed at ${NOW.toISOString()}`,
      state,
    })
  })

  it('refuses the last closed rotation-id once a newer rotation is open', () => {
    const state = openState({ lastClosed: { id: 'r-0', closedAt: EARLIER, active: 'app_a' } })
    const e = refusal(() => planDrain(familyObs(state), cfg({ rotationId: 'r-0' })))
    expect(e.message).toContain('rotation-id r-0 does not match the open rotation r-1.')
  })
})

describe('watchedRotation (what a verify-drain poll reads of the rotation it watches)', () => {
  it('open while the state names the same rotation', () => {
    const state = openState()
    expect(watchedRotation(familyObs(state), cfg(), 'r-1')).toEqual({ kind: 'open', state })
  })

  it('closed when no rotation is open and the last closed one is it', () => {
    const state = idleState({ active: 'app_b', lastClosed: { id: 'r-1', closedAt: EARLIER, active: 'app_b' } })
    expect(watchedRotation(familyObs(state), cfg(), 'r-1')).toEqual({ kind: 'closed', state })
  })

  it('over, and why: aborted; replaced by a newer rotation; or gone without a record of it', () => {
    const aborted = idleState({ lastAborted: { id: 'r-1', abortedAt: EARLIER, login: 'app_b' } })
    expect(watchedRotation(familyObs(aborted), cfg(), 'r-1')).toMatchObject({
      kind: 'over',
      reason: `rotation r-1 was aborted at ${EARLIER}`,
    })
    const replaced = openState({ rotation: { ...openState().rotation!, id: 'r-2' } })
    expect(watchedRotation(familyObs(replaced), cfg(), 'r-1')).toMatchObject({
      kind: 'over',
      reason: `rotation r-1 is no longer open: rotation r-2 is open now (opened at ${EARLIER} by workflow run 1001)`,
      next: expect.stringMatching(/let it finish, or abort it/),
    })
    const otherClosed = idleState({ active: 'app_b', lastClosed: { id: 'r-0', closedAt: EARLIER, active: 'app_b' } })
    expect(watchedRotation(familyObs(otherClosed), cfg(), 'r-1')).toMatchObject({
      kind: 'over',
      reason: 'rotation r-1 is no longer open',
    })
  })

  it('closed and followed by a newer rotation: says both, and that the close finished it (not "run open again")', () => {
    const state = openState({
      active: 'app_b',
      rotation: { id: 'r-2', incoming: 'app_a', openedAt: NOW.toISOString(), openedBy: OTHER_RUN },
      lastClosed: { id: 'r-1', closedAt: EARLIER, active: 'app_b', previous: 'app_a' },
    })
    const w = watchedRotation(familyObs(state), cfg(), 'r-1')
    expect(w).toMatchObject({
      kind: 'over',
      reason: `rotation r-1 was closed at ${EARLIER}, and rotation r-2 is open now (opened at ${NOW.toISOString()} by workflow run 2002)`,
    })
    expect(w.kind === 'over' && w.next).toMatch(/its close finished it/)
    expect(w.kind === 'over' && w.next).not.toMatch(/run open again/)
  })

  it('refuses a state it cannot act on, as every phase does', () => {
    expect(() => watchedRotation(familyObs(null), cfg(), 'r-1')).toThrow(StateError)
  })
})

describe('a closed rotation whose previous login can still log in is not taken as closed (a forged state)', () => {
  const closed = idleState({
    active: 'app_b',
    lastClosed: { id: 'r-1', closedAt: EARLIER, active: 'app_b', previous: 'app_a' },
  })
  // Both logins can log in: the comment says r-1 closed, the roles say it did not.
  const forged = familyObs(closed, {
    logins: { app_a: login('app_a', { canLogin: true }), app_b: login('app_b', { canLogin: true }) },
  })

  it.each([
    ['watchedRotation', () => watchedRotation(forged, cfg(), 'r-1')],
    ['planDrain with the rotation-id', () => planDrain(forged, cfg({ rotationId: 'r-1' }))],
    ['planClose with the rotation-id', () => planClose(forged, cfg({ rotationId: 'r-1' }), ctx())],
  ])('%s refuses, naming the login and status', (_what, fn) => {
    const e = refusal(fn)
    expect(e.message).toContain(
      `The state says rotation r-1 was closed at ${EARLIER}, but "app_a" can still log in, where only the active login "app_b" should`,
    )
    expect(e.next).toMatch(/^Run status/)
  })

  it('whatever role the comment names as previous (a forged "previous: the group", which is NOLOGIN)', () => {
    const st = { ...closed, lastClosed: { ...closed.lastClosed!, previous: 'app' } }
    const obs = { ...forged, state: { kind: 'ok' as const, state: st } }
    expect(refusal(() => watchedRotation(obs, cfg(), 'r-1')).message).toContain('"app_a" can still log in')
  })

  it('a lastClosed.active that is not the active login', () => {
    const st = { ...closed, lastClosed: { ...closed.lastClosed!, active: 'app_a', previous: 'app_b' } }
    expect(refusal(() => planDrain(familyObs(st), cfg({ rotationId: 'r-1' }))).message).toContain(
      'it records "app_a" as the login the close left active, while the active login is "app_b"',
    )
  })

  it('a real close (the previous login disabled) is taken as closed', () => {
    expect(watchedRotation(familyObs(closed), cfg(), 'r-1')).toMatchObject({ kind: 'closed' })
    expect(planDrain(familyObs(closed), cfg({ rotationId: 'r-1' })).kind).toBe('noop')
  })
})

// ---- close -------------------------------------------------------------------------

describe('planClose', () => {
  it("keeps the incoming login's sealed verifier as the active one and drops the disabled login's", () => {
    const state = openState({
      rotation: { id: 'r-1', incoming: 'app_b', openedAt: EARLIER, openedBy: RUN, verifier: 'pgrot1.b' },
      activeVerifier: { login: 'app_a', sealed: 'pgrot1.a' },
    })
    const plan = planClose(familyObs(state), cfg(), ctx())
    expect(plan.state.activeVerifier).toEqual({ login: 'app_b', sealed: 'pgrot1.b' })
    const without = planClose(
      familyObs(openState({ activeVerifier: { login: 'app_a', sealed: 'pgrot1.a' } })),
      cfg(),
      ctx(),
    )
    expect(without.state.activeVerifier).toBeUndefined()
  })

  it('refuses a family without state: "Run the setup phase first"', () => {
    const e = refusal(() => planClose(freshObs(), cfg(), ctx()))
    expect(e.next).toBe('Run the setup phase first.')
  })

  it('refuses when no rotation is open', () => {
    const e = refusal(() => planClose(familyObs(idleState()), cfg(), ctx()))
    expect(e.message).toContain('No rotation is open, so there is nothing to close.')
    expect(e.state).toBe('idle with app_a active')
    expect(e.next).toMatch(/^Run open first/)
  })

  it('refuses a rotation-id that is neither open nor the last closed', () => {
    const e = refusal(() =>
      planClose(
        familyObs(idleState({ lastClosed: { id: 'r-1', closedAt: EARLIER, active: 'app_a' } })),
        cfg({ rotationId: 'r-2' }),
        ctx(),
      ),
    )
    expect(e.message).toContain('rotation-id r-2 is not the last closed one. The last closed rotation is r-1.')
  })

  it('refuses a rotation-id that does not match the open rotation', () => {
    const e = refusal(() => planClose(familyObs(openState()), cfg({ rotationId: 'r-2' }), ctx()))
    expect(e.message).toContain('rotation-id r-2 does not match the open rotation r-1.')
  })

  it('does nothing on a re-run with the rotation-id it closed', () => {
    const state = idleState({ active: 'app_b', lastClosed: { id: 'r-1', closedAt: EARLIER, active: 'app_b' } })
    const plan = planClose(familyObs(state, { sessions: [sessions('app_a', 4)] }), cfg({ rotationId: 'r-1' }), ctx())
    expect(fields(plan)).toEqual({
      steps: [],
      state,
      issue: null,
      noop: `rotation r-1 was already closed at ${EARLIER}`,
      notes: [],
    })
  })

  it('refuses a re-run without rotation-id after the rotation was closed', () => {
    const state = idleState({ active: 'app_b', lastClosed: { id: 'r-1', closedAt: EARLIER, active: 'app_b' } })
    const e = refusal(() => planClose(familyObs(state), cfg(), ctx()))
    expect(e.message).toContain('nothing to close. The last closed rotation is r-1.')
  })

  it('closes: NOLOGIN and a scrambled password for the outgoing login; incoming becomes active; the rotation is recorded as closed', () => {
    const state = openState({ lastClosed: { id: 'r-0', closedAt: EARLIER, active: 'app_a' } })
    const c = ctx()
    const plan = planClose(familyObs(state, { sessions: [sessions('app_b', 7)] }), cfg({ rotationId: 'r-1' }), c)
    expect(kinds(plan)).toEqual(['disable-login app_a', 'write-state'])
    expect(fields(plan).issue).toBeNull()
    expect(fields(plan).noop).toBeNull()
    expect(plan.notes).toEqual([])
    expect(plan.state).toEqual({
      ...state,
      active: 'app_b',
      rotation: null,
      lastClosed: { id: 'r-1', closedAt: NOW.toISOString(), active: 'app_b', previous: 'app_a' },
      passwordSetAt: { app_a: NOW.toISOString(), app_b: EARLIER },
    })
    expect(writtenState(plan)).toEqual(plan.state)
    expect(describeState(plan.state)).toBe('idle with app_b active')
    expect(c.newRotationId).not.toHaveBeenCalled()
  })

  it('closes without a rotation-id too', () => {
    expect(planClose(familyObs(openState()), cfg(), ctx()).state.active).toBe('app_b')
  })

  it('refuses while the outgoing login has sessions, and offers verify-drain, terminate and force', () => {
    const obs = familyObs(openState(), { sessions: [sessions('app_a', 2), sessions('app_a', 1, 'reports')] })
    const e = refusal(() => planClose(obs, cfg(), ctx()))
    expect(e.message).toContain('The outgoing login "app_a" still has 3 (appdb: 2, reports: 1) sessions.')
    expect(e.state).toBe('open (rotation r-1) with app_a outgoing and app_b incoming')
    expect(e.next).toContain('verify-drain')
    expect(e.next).toContain('terminate: true')
    expect(e.next).toContain('force: true')
  })

  it('closes with terminate: true although the outgoing login has sessions, noting they will be ended', () => {
    const obs = familyObs(openState(), { sessions: [sessions('app_a', 3)] })
    const plan = planClose(obs, cfg({ terminate: true }), ctx())
    expect(kinds(plan)).toEqual(['disable-login app_a', 'write-state'])
    expect(plan.notes).toEqual(['Ending 3 sessions of "app_a" after the commit.'])
    expect(plan.state.active).toBe('app_b')
  })

  it('closes with force: true although the outgoing login has sessions, noting they keep running', () => {
    const obs = familyObs(openState(), { sessions: [sessions('app_a', 3)] })
    const plan = planClose(obs, cfg({ force: true }), ctx())
    expect(plan.notes).toEqual(['Closing with force: 3 sessions of "app_a" keep running until they disconnect.'])
    expect(plan.state.active).toBe('app_b')
  })

  it('prefers the terminate note when both terminate and force are set', () => {
    const plan = planClose(
      familyObs(openState(), { sessions: [sessions('app_a', 1)] }),
      cfg({ terminate: true, force: true }),
      ctx(),
    )
    expect(plan.notes).toEqual(['Ending 1 sessions of "app_a" after the commit.'])
  })
})

// ---- revert --------------------------------------------------------------------------

describe('planRevertOpen', () => {
  it('undoes an open from idle: NOLOGIN for the incoming login and the state from before the open', () => {
    const before = idleState({ lastClosed: { id: 'r-0', closedAt: EARLIER, active: 'app_a' } })
    const opened = planOpen(familyObs(before), cfg(), ctx()).state
    const plan = planRevertOpen(familyObs(opened), cfg(), 'r-new', before)
    expect(plan).not.toBeNull()
    expect(kinds(plan!)).toEqual(['disable-login app_b', 'write-state'])
    expect(plan!.state).toEqual(before)
    expect(plan!.state.rotation).toBeNull()
    expect(plan!.state.active).toBe('app_a')
    expect(writtenState(plan!)).toEqual(before)
    expect(fields(plan!).issue).toBeNull()
    expect(fields(plan!).noop).toBeNull()
  })

  it('undoes a re-issue inside an open rotation by returning the family to idle with the outgoing login active', () => {
    const before = openState()
    const reissued = planOpen(familyObs(before), cfg({ force: true }), ctx()).state
    const plan = planRevertOpen(familyObs(reissued), cfg(), 'r-1', before)
    expect(kinds(plan!)).toEqual(['disable-login app_b', 'write-state'])
    expect(plan!.state.rotation).toBeNull()
    expect(plan!.state.active).toBe('app_a')
  })

  it('returns null when the rotation changed meanwhile (another id, none open, or no readable state)', () => {
    const before = idleState()
    expect(planRevertOpen(familyObs(openState()), cfg(), 'r-other', before)).toBeNull()
    expect(planRevertOpen(familyObs(idleState()), cfg(), 'r-1', before)).toBeNull()
    expect(planRevertOpen(familyObs(null), cfg(), 'r-1', before)).toBeNull()
    expect(
      planRevertOpen(familyObs(null, { state: { kind: 'invalid', reason: 'x' } }), cfg(), 'r-1', before),
    ).toBeNull()
  })
})

// ---- whole rotations over a simulated family -------------------------------------------

/** Applies plan steps to an observation the way PostgreSQL would (roles, memberships, LOGIN, comment). */
function apply(obs: Observation, steps: Step[]): Observation {
  const next: Observation = structuredClone(obs)
  for (const s of steps) {
    switch (s.kind) {
      case 'create-role': {
        // CREATE ROLE ... NOLOGIN: a bare role, as the group role is
        const r: RoleInfo = groupRole({ name: s.role })
        if (s.role === 'app') next.group = r
        else next.logins[s.role] = r
        break
      }
      case 'grant-membership':
        next.logins[s.login] = { ...next.logins[s.login]!, member: true, canSet: true, inherits: true }
        break
      case 'set-default-role':
        next.logins[s.login] = { ...next.logins[s.login]!, defaultRole: s.group }
        break
      case 'enable-login':
        next.logins[s.role] = { ...next.logins[s.role]!, canLogin: true }
        break
      case 'disable-login':
        next.logins[s.role] = { ...next.logins[s.role]!, canLogin: false }
        break
      case 'write-state':
        next.state = readState(serializeState(s.state), 'app')
        break
    }
  }
  return next
}

describe('the state machine over whole rotations', () => {
  it('alternates the logins over two rotations, and every re-run of a finished phase is harmless', () => {
    let obs = freshObs()
    let n = 0
    const context = () => ({ now: new Date(NOW.getTime() + ++n * 60_000), newRotationId: () => `r-${n}` })

    const setup = planSetup(obs, cfg(), context())
    obs = apply(obs, setup.steps)
    expect(fields(setup).issue).toBe('app_a')
    expect(fields(planSetup(obs, cfg(), context())).noop).toBe('the family is already set up')

    for (const [outgoing, incoming] of [
      ['app_a', 'app_b'],
      ['app_b', 'app_a'],
    ]) {
      const open = planOpen(obs, cfg(), context())
      expect(fields(open).issue).toBe(incoming)
      obs = apply(obs, open.steps)
      const id = open.state.rotation!.id
      expect(obs.logins[outgoing]!.canLogin).toBe(true)
      expect(obs.logins[incoming]!.canLogin).toBe(true)

      // a re-run of open by the same workflow run re-issues only with force (no sealed copy here); another run is refused
      refusal(() => planOpen(obs, cfg(), context()))
      expect(fields(planOpen(obs, cfg({ force: true }), context())).issue).toBe(incoming)
      refusal(() => planOpen(obs, cfg({ run: OTHER_RUN }), context()))
      // setup in the middle of a rotation changes nothing
      expect(planSetup(obs, cfg(), context()).steps).toEqual([])

      // the application moves over: the outgoing login drains
      obs = { ...obs, sessions: [sessions(outgoing, 2), sessions(incoming, 3)] }
      expect(planDrain(obs, cfg({ rotationId: id }))).toMatchObject({ kind: 'wait', outgoing, incoming })
      refusal(() => planClose(obs, cfg({ rotationId: id }), context()))
      obs = { ...obs, sessions: [sessions(incoming, 5)] }

      const close = planClose(obs, cfg({ rotationId: id }), context())
      obs = apply(obs, close.steps)
      expect(obs.logins[outgoing]!.canLogin).toBe(false)
      expect(obs.logins[incoming]!.canLogin).toBe(true)
      expect(obs.state).toMatchObject({
        kind: 'ok',
        state: { active: incoming, rotation: null, lastClosed: { id, active: incoming } },
      })

      // re-runs of verify-drain and close with the same rotation-id succeed without doing anything
      expect(planDrain(obs, cfg({ rotationId: id })).kind).toBe('noop')
      expect(fields(planClose(obs, cfg({ rotationId: id }), context())).noop).toMatch(
        new RegExp(`rotation ${id} was already closed`),
      )
    }
  })
})

// ---- the state comment is input (issue 8, finding 4) ------------------------------------

describe('a tampered state comment', () => {
  const tampered = readState(JSON.stringify(openState({ active: 'admin', adoptedFrom: 'admin' })), 'app')

  it.each([
    ['setup', () => planSetup(familyObs(null, { state: tampered }), cfg(), ctx())],
    ['open', () => planOpen(familyObs(null, { state: tampered }), cfg(), ctx())],
    ['verify-drain', () => planDrain(familyObs(null, { state: tampered }), cfg())],
    ['close', () => planClose(familyObs(null, { state: tampered }), cfg({ force: true }), ctx())],
    ['abort', () => planAbort(familyObs(null, { state: tampered }), cfg(), ctx())],
  ])('%s refuses it as tampered and says how to reset it', (_phase, fn) => {
    const e = refusal(fn)
    expect(e.message).toMatch(
      /was tampered with: adoptedFrom is "admin", not the group role "app"\. No phase acts on it, and nothing was changed\./,
    )
    expect(e.next).toContain('COMMENT ON ROLE "app" IS NULL; and run setup')
  })
})

describe("forbiddenTarget (the apply layer's last check)", () => {
  const obs = familyObs(idleState(), { admin: { ...SUPERUSER, name: 'app_a', superuser: false } })
  it.each([
    [[{ kind: 'disable-login', role: 'postgres' }], 'app', /"postgres" is not a role of the family/],
    [[{ kind: 'enable-login', role: 'app_a' }], 'app', /"app_a" is the admin role itself/],
    [[{ kind: 'grant-membership', login: 'app_a', group: 'app' }], 'app', /"app_a" is the admin role itself/],
    [[{ kind: 'write-state', group: 'other', state: idleState() }], 'app', /"other" is not a role of the family/],
  ] as [Step[], string, RegExp][])('refuses %j', (steps, group, reason) => {
    expect(forbiddenTarget(obs, group, ['app_a', 'app_b'], steps)).toMatch(reason)
  })

  it("refuses a superuser among the family's roles", () => {
    const o = familyObs(idleState(), { logins: { app_a: login('app_a', { superuser: true }), app_b: login('app_b') } })
    expect(forbiddenTarget(o, 'app', ['app_a', 'app_b'], [{ kind: 'disable-login', role: 'app_a' }])).toBe(
      '"app_a" is a superuser',
    )
  })

  it('accepts every step of a normal rotation', () => {
    const o = familyObs(idleState())
    for (const plan of [
      planOpen(o, cfg(), ctx()),
      planClose(familyObs(openState()), cfg(), ctx()),
      planAbort(familyObs(openState()), cfg(), ctx()),
    ]) {
      expect(forbiddenTarget(o, 'app', ['app_a', 'app_b'], plan.steps)).toBeNull()
    }
  })
})

// ---- a write-back is never silently undone (issue 8, finding 5) ----------------------------

describe('a write-back recorded by a close that then failed', () => {
  const written = (over: Partial<NonNullable<FamilyState['writtenBack']>> = {}) =>
    openState({ writtenBack: { login: 'app_b', rotationId: 'r-1', secrets: ['DATABASE_URL'], at: EARLIER, ...over } })

  it('abort refuses to disable the login GitHub now holds, and says to run close again', () => {
    const e = refusal(() => planAbort(familyObs(written()), cfg(), ctx()))
    expect(e.message).toMatch(
      /GitHub secrets DATABASE_URL hold the credentials of "app_b" .*abort will not disable "app_b".*Nothing was changed\./,
    )
    expect(e.next).toMatch(/Run close again.*force: true/)
  })

  it('abort refuses a pending write too ("may hold")', () => {
    expect(refusal(() => planAbort(familyObs(written({ pending: true })), cfg(), ctx())).message).toMatch(
      /may hold the credentials of "app_b"/,
    )
  })

  it('abort with force disables it, drops the record and says to restore the secrets', () => {
    const plan = planAbort(familyObs(written()), cfg({ force: true }), ctx())
    expect(kinds(plan)).toEqual(['disable-login app_b', 'write-state'])
    expect(plan.state.writtenBack).toBeUndefined()
    expect(plan.notes.join(' ')).toMatch(/put the credentials of "app_a" back/)
  })

  it('a record of another rotation does not stop abort', () => {
    expect(kinds(planAbort(familyObs(written({ rotationId: 'r-0' })), cfg(), ctx()))).toEqual([
      'disable-login app_b',
      'write-state',
    ])
  })

  it('close goes ahead and drops the record with the rotation', () => {
    const plan = planClose(familyObs(written()), cfg(), ctx())
    expect(kinds(plan)).toEqual(['disable-login app_a', 'write-state'])
    expect(writtenState(plan).writtenBack).toBeUndefined()
  })
})

// ---- privileges and foreign control ----------------------------------------------

describe('missingPrivilege: everything the rotation needs, in one block', () => {
  const weak: AdminInfo = { name: 'rot', superuser: false, createrole: false, signalBackend: false, adminOption: {} }
  const existing = (serverVersion: number) =>
    freshObs({
      serverVersion,
      admin: weak,
      group: groupRole(),
      logins: { app_a: login('app_a'), app_b: login('app_b') },
    })

  it('on 16+ lists CREATEROLE, ADMIN OPTION on every existing family role and pg_signal_backend, with the least-privilege GRANT', () => {
    const m = missingPrivilege(existing(160000), 'app', ['app_a', 'app_b'], { changes: true, terminate: true })
    expect(m).toEqual({
      privilege:
        'CREATEROLE and ADMIN OPTION on roles "app", "app_a" and "app_b" (PostgreSQL 16+ requires it to alter a role) and pg_signal_backend (to terminate sessions of other roles)',
      grant:
        'ALTER ROLE "rot" CREATEROLE; GRANT "app", "app_a", "app_b" TO "rot" WITH ADMIN TRUE, INHERIT FALSE, SET FALSE; GRANT pg_signal_backend TO "rot"',
    })
  })

  it('before 16 ADMIN OPTION is never needed; roles the phase creates and roles already held are left out', () => {
    expect(missingPrivilege(existing(150000), 'app', ['app_a', 'app_b'], { changes: true, terminate: false })).toEqual({
      privilege: 'CREATEROLE',
      grant: 'ALTER ROLE "rot" CREATEROLE',
    })
    const obs = existing(180000)
    obs.admin = { ...weak, createrole: true, adminOption: { app: true } }
    obs.logins.app_b = null
    const m = missingPrivilege(obs, 'app', ['app_a', 'app_b'], { changes: true, terminate: false })
    expect(m?.grant).toBe('GRANT "app_a" TO "rot" WITH ADMIN TRUE, INHERIT FALSE, SET FALSE')
    expect(
      missingPrivilege(obs, 'app', ['app_a', 'app_b'], {
        changes: true,
        created: new Set(['app_a']),
        terminate: false,
      }),
    ).toBeNull()
    expect(adminOptionClause(150000)).toBe('WITH ADMIN OPTION')
  })

  it('a superuser lacks nothing; a phase that changes nothing needs only what it terminates with', () => {
    expect(
      missingPrivilege({ ...existing(180000), admin: SUPERUSER }, 'app', ['app_a', 'app_b'], {
        changes: true,
        terminate: true,
      }),
    ).toBeNull()
    expect(
      missingPrivilege(existing(180000), 'app', ['app_a', 'app_b'], { changes: false, terminate: true })?.grant,
    ).toBe('GRANT pg_signal_backend TO "rot"')
  })
})

describe('foreign roles', () => {
  const grantees = [
    { role: 'app', member: 'app_a', adminOption: false, superuser: false },
    { role: 'app', member: 'admin', adminOption: true, superuser: false },
    { role: 'app_b', member: 'tenant', adminOption: true, superuser: false },
    { role: 'app_a', member: 'postgres', adminOption: true, superuser: true },
    { role: 'app_a', member: 'reader', adminOption: false, superuser: false },
  ]

  it("the group's logins, the admin and superusers are expected; every other ADMIN OPTION holder or member is not", () => {
    const obs = freshObs({ grantees })
    expect(foreignGrantees(obs, 'app', ['app_a', 'app_b'])).toEqual([
      { role: 'app_b', member: 'tenant', kind: 'foreign-admin' },
      { role: 'app_a', member: 'reader', kind: 'unexpected-member' },
    ])
  })

  it('setup refuses a pre-existing login another role controls, and changes nothing', () => {
    const obs = freshObs({
      logins: { app_a: null, app_b: bareLogin('app_b', { canLogin: false }) },
      grantees: [{ role: 'app_b', member: 'tenant', adminOption: true, superuser: false }],
    })
    expect(() => planSetup(obs, cfg(), ctx())).toThrow(
      /Refusing to set up the family: role "tenant" holds ADMIN OPTION on "app_b".*REVOKE "app_b" FROM "tenant";/,
    )
  })

  it('adopt: true covers the adopted login itself, with a warning', () => {
    const obs = freshObs({
      group: groupRole({ canLogin: true }),
      grantees: [{ role: 'app', member: 'tenant', adminOption: true, superuser: false }],
    })
    const plan = planSetup(obs, cfg({ adopt: true }), ctx())
    expect(plan.notes[0]).toMatch(/^Warning: role "tenant" holds ADMIN OPTION on "app", the adopted login/)
  })
})
