import { idleState } from '../harness/fixtures.js'
import { describe, expect, it } from 'vitest'
import { describeSessions, sessionCount, type SessionGroup } from '../../src/domain/family.js'
import { describeState, otherLogin, readState, serializeState, type FamilyState } from '../../src/domain/state.js'

const RUN = { runId: '42', runAttempt: '1', workflow: 'deploy', repository: 'o/r', actor: 'me' }

const idle = (over: Partial<FamilyState> = {}): FamilyState => idleState(over)

function open(over: Partial<FamilyState> = {}): FamilyState {
  return idle({
    rotation: { id: 'r-1', incoming: 'app_b', openedAt: '2026-01-02T00:00:00.000Z', openedBy: RUN },
    ...over,
  })
}

describe('readState', () => {
  it.each([null, '', '   ', '\n'])('reads %j as no state', (comment) => {
    expect(readState(comment, 'app')).toEqual({ kind: 'none' })
  })

  it.each([
    'owned by the billing team',
    '{not json',
    '[1,2]',
    '"a string"',
    '42',
    'null',
    '{"tool":"something-else","version":1}',
    '{"version":1,"logins":["a","b"]}',
  ])('reads the comment %j, which is not ours, as foreign and keeps it verbatim', (comment) => {
    expect(readState(comment, 'app')).toEqual({ kind: 'foreign', comment })
  })

  it('round-trips an idle state through serializeState', () => {
    const s = idle()
    expect(readState(serializeState(s), 'app')).toEqual({ kind: 'ok', state: s })
  })

  it('round-trips an open state with lastClosed and passwordSetAt', () => {
    const s = open({
      lastClosed: { id: 'r-0', closedAt: '2026-01-01T12:00:00.000Z', active: 'app_a' },
      passwordSetAt: { app_a: '2025-12-01T08:00:00.000Z', app_b: '2026-01-02T00:00:00.000Z' },
    })
    expect(readState(serializeState(s), 'app')).toEqual({ kind: 'ok', state: s })
  })

  it('round-trips login names that need escaping in JSON', () => {
    const s = idle({ logins: [`O'Brien "A"\\`, 'Zwei ü'], active: 'Zwei ü', passwordSetAt: {} })
    expect(readState(serializeState(s), 'app')).toEqual({ kind: 'ok', state: s })
  })

  it('serializes to one line of JSON tagged with the tool and version', () => {
    const text = serializeState(idle())
    expect(text).not.toContain('\n')
    expect(JSON.parse(text)).toMatchObject({ tool: 'pg-credential-rotation', version: 1 })
  })

  it('fills in passwordSetAt and lastClosed when an older state lacks them', () => {
    const { passwordSetAt: _p, lastClosed: _l, ...rest } = idle()
    const r = readState(JSON.stringify(rest), 'app')
    expect(r.kind).toBe('ok')
    if (r.kind !== 'ok') return
    expect(r.state.passwordSetAt).toEqual({})
    expect(r.state.lastClosed).toBeNull()
  })

  it('refuses a state of another version, naming the version', () => {
    const r = readState(JSON.stringify({ ...idle(), version: 2 }), 'app')
    expect(r).toEqual({ kind: 'invalid', reason: 'state version 2 is not supported by this release' })
  })

  it.each([
    ['no logins', { logins: undefined }],
    ['one login', { logins: ['app_a'] }],
    ['three logins', { logins: ['app_a', 'app_b', 'app_c'] }],
    ['logins not an array', { logins: 'app_a,app_b' }],
    ['no active login', { active: undefined }],
    ['an active login that is not a string', { active: 1 }],
  ])('reads a state with %s as invalid', (_what, patch) => {
    const r = readState(JSON.stringify({ ...idle(), ...patch }), 'app')
    expect(r.kind).toBe('invalid')
    expect(r.kind === 'invalid' && r.reason).toMatch(/two distinct login roles|missing its active login/)
  })

  // A state naming one role twice would make open pick the active login as the standby.
  it('reads a state naming the same login twice as invalid', () => {
    const r = readState(JSON.stringify({ ...idle(), logins: ['app_a', 'app_a'] }), 'app')
    expect(r.kind).toBe('invalid')
  })

  it.each([
    ['a rotation that is not an object', { rotation: 'r-1' }],
    ['a rotation without an id', { rotation: { incoming: 'app_b', openedAt: 'x', openedBy: RUN } }],
    [
      'a rotation whose incoming login is the active one',
      { rotation: { id: 'r-1', incoming: 'app_a', openedAt: 'x', openedBy: RUN } },
    ],
    ['no rotation field at all', { rotation: undefined }],
    [
      'sealed credentials that are not a string',
      { rotation: { id: 'r-1', incoming: 'app_b', openedAt: 'x', openedBy: RUN, sealed: 42 } },
    ],
  ])('reads a state with %s as invalid', (_what, patch) => {
    const r = readState(JSON.stringify({ ...idle(), ...patch }), 'app')
    expect(r).toEqual({ kind: 'invalid', reason: 'the open rotation recorded in the state is malformed' })
  })
})

// The comment is input: anyone who may COMMENT ON ROLE the group can write it (issue 8, finding 4).
describe('readState with a tampered comment', () => {
  it.each([
    [
      'an active login that is not one of the logins',
      { active: 'app_c' },
      /active login "app_c" is neither of its login roles/,
    ],
    [
      'the admin as active and adoptedFrom',
      { active: 'postgres', adoptedFrom: 'postgres' },
      /adoptedFrom is "postgres", not the group role "app"/,
    ],
    ['the group as active without adoption', { active: 'app' }, /active login "app" is neither/],
    ['adoptedFrom naming a login', { adoptedFrom: 'app_b' }, /adoptedFrom is "app_b"/],
    ['the group among the logins', { logins: ['app', 'app_b'], active: 'app_b' }, /include the group role "app"/],
    [
      'a rotation handing out another role',
      { rotation: { id: 'r-1', incoming: 'postgres', openedAt: 'x', openedBy: RUN } },
      /hands out "postgres"/,
    ],
    [
      'lastClosed naming another role',
      { lastClosed: { id: 'r-0', closedAt: 'x', active: 'app_a', previous: 'postgres' } },
      /lastClosed.previous names "postgres"/,
    ],
    [
      'lastAborted naming another role',
      { lastAborted: { id: 'r-0', abortedAt: 'x', login: 'postgres' } },
      /lastAborted.login names "postgres"/,
    ],
    [
      'writtenBack naming another role',
      { writtenBack: { login: 'postgres', rotationId: 'r-1', secrets: [], at: 'x' } },
      /writtenBack.login names "postgres"/,
    ],
    ['passwordSetAt naming another role', { passwordSetAt: { postgres: 'x' } }, /passwordSetAt names "postgres"/],
    [
      'a sealed verifier naming another role',
      { activeVerifier: { login: 'postgres', sealed: 'pgrot1.abc' } },
      /activeVerifier.login names "postgres"/,
    ],
  ])('reads a state with %s as tampered', (_what, patch, reason) => {
    const r = readState(JSON.stringify({ ...idle(), ...patch }), 'app')
    expect(r).toMatchObject({ kind: 'invalid', tampered: true })
    expect(r.kind === 'invalid' && r.reason).toMatch(reason)
  })

  it.each([
    ['not an object', 'DATABASE_URL'],
    ['without a login', { rotationId: 'r-1', secrets: [], at: 'x' }],
    ['with secrets that are not names', { login: 'app_b', rotationId: 'r-1', secrets: [1], at: 'x' }],
  ])('reads a write-back record %s as invalid', (_what, writtenBack) => {
    expect(readState(JSON.stringify({ ...idle(), writtenBack }), 'app')).toEqual({
      kind: 'invalid',
      reason: 'the write-back recorded in the state is malformed',
    })
  })

  it.each([
    [
      'an open rotation',
      { rotation: { id: 'x ##[stop-commands]hush', incoming: 'app_b', openedAt: 'x', openedBy: RUN } },
      'rotation.id',
    ],
    ['lastClosed', { lastClosed: { id: 'r-0\n::error::forged', closedAt: 'x', active: 'app_a' } }, 'lastClosed.id'],
    ['lastAborted', { lastAborted: { id: 7, abortedAt: 'x', login: 'app_b' } }, 'lastAborted.id'],
    [
      'the write-back record',
      { writtenBack: { login: 'app_b', rotationId: '##[error]x', secrets: [], at: 'x' } },
      'writtenBack.rotationId',
    ],
  ])('reads a rotation id of %s that is not one as tampered (it would reach the log)', (_what, patch, field) => {
    const r = readState(JSON.stringify({ ...idle(), ...patch }), 'app')
    expect(r).toMatchObject({ kind: 'invalid', tampered: true })
    expect(r.kind === 'invalid' && r.reason).toContain(`${field} is not a rotation id`)
  })

  const T = '2026-01-02T00:00:00.000Z'
  it.each([
    [
      'an open rotation opened at a word',
      { rotation: { id: 'r-1', incoming: 'app_b', openedAt: 'x', openedBy: RUN } },
      'rotation.openedAt',
    ],
    [
      'an open rotation with no openedAt',
      { rotation: { id: 'r-1', incoming: 'app_b', openedBy: RUN } },
      'rotation.openedAt',
    ],
    [
      'an open rotation opened at a forged log line',
      { rotation: { id: 'r-1', incoming: 'app_b', openedAt: `${T}\n::error::forged`, openedBy: RUN } },
      'rotation.openedAt',
    ],
    [
      'lastClosed closed at a number',
      { lastClosed: { id: 'r-0', closedAt: 1767312000000, active: 'app_a' } },
      'lastClosed.closedAt',
    ],
    [
      'lastClosed closed on 30 February',
      { lastClosed: { id: 'r-0', closedAt: '2026-02-30T00:00:00.000Z', active: 'app_a' } },
      'lastClosed.closedAt',
    ],
    [
      'lastAborted aborted in the year 9999',
      { lastAborted: { id: 'r-0', abortedAt: '9999-12-31T23:59:59.999Z', login: 'app_b' } },
      'lastAborted.abortedAt',
    ],
    [
      'lastAborted aborted in 1970',
      { lastAborted: { id: 'r-0', abortedAt: '1970-01-01T00:00:00.000Z', login: 'app_b' } },
      'lastAborted.abortedAt',
    ],
    [
      'a write-back at a local time without zone',
      { writtenBack: { login: 'app_b', rotationId: 'r-1', secrets: [], at: '2026-01-02 00:00:00' } },
      'writtenBack.at',
    ],
    ['a password set at ##[', { passwordSetAt: { app_a: '##[error]x' } }, 'passwordSetAt of "app_a"'],
    [
      'a password set at a time with an offset',
      { passwordSetAt: { app_a: '2026-01-02T01:00:00+01:00' } },
      'passwordSetAt of "app_a"',
    ],
  ])('reads a state with %s as tampered (its times reach the log and the summary)', (_what, patch, field) => {
    const r = readState(JSON.stringify({ ...idle(), ...patch }), 'app')
    expect(r).toMatchObject({ kind: 'invalid', tampered: true })
    expect(r.kind === 'invalid' && r.reason).toContain(`${field} is not a time`)
  })

  it('reads every time the action writes (toISOString), with or without milliseconds', () => {
    const s = open({
      lastClosed: { id: 'r-0', closedAt: '2025-06-30T23:59:59Z', active: 'app_a' },
      lastAborted: { id: 'r-00', abortedAt: new Date('2025-07-01T00:00:00.123Z').toISOString(), login: 'app_b' },
      passwordSetAt: { app_a: new Date().toISOString(), app_b: '2026-01-02T00:00:00.5Z' },
      writtenBack: { login: 'app_b', rotationId: 'r-1', secrets: ['DATABASE_URL'], at: T },
    })
    expect(readState(serializeState(s), 'app')).toEqual({ kind: 'ok', state: s })
  })

  it('reads a write-back record naming a secret that is not a secret name as invalid', () => {
    const writtenBack = { login: 'app_b', rotationId: 'r-1', secrets: ['X ##[error]y'], at: 'x' }
    expect(readState(JSON.stringify({ ...idle(), writtenBack }), 'app')).toMatchObject({ kind: 'invalid' })
  })

  it('round-trips a state with a write-back record and sealed credentials', () => {
    const s = open({
      writtenBack: {
        login: 'app_b',
        rotationId: 'r-1',
        secrets: ['DATABASE_URL'],
        at: '2026-01-02T00:05:00.000Z',
        pending: true,
      },
    })
    const sealed = { ...s, rotation: { ...s.rotation!, sealed: 'pgrot1.abc' } }
    expect(readState(serializeState(sealed), 'app')).toEqual({ kind: 'ok', state: sealed })
  })

  it("round-trips sealed verifiers (the incoming login's in the rotation, the active login's at the top) and refuses malformed ones", () => {
    const s = open({ activeVerifier: { login: 'app_a', sealed: 'pgrot1.v' } })
    const sealed = { ...s, rotation: { ...s.rotation!, sealed: 'pgrot1.abc', verifier: 'pgrot1.def' } }
    expect(readState(serializeState(sealed), 'app')).toEqual({ kind: 'ok', state: sealed })
    expect(readState(JSON.stringify({ ...idle(), activeVerifier: 'pgrot1.v' }), 'app')).toEqual({
      kind: 'invalid',
      reason: 'the sealed verifier recorded in the state is malformed',
    })
    expect(
      readState(JSON.stringify({ ...sealed, rotation: { ...sealed.rotation, verifier: 1 } }), 'app'),
    ).toMatchObject({
      kind: 'invalid',
    })
  })

  it('accepts the adopted group role as active when adoptedFrom is the group', () => {
    const s = idle({ active: 'app', adoptedFrom: 'app', passwordSetAt: {} })
    expect(readState(serializeState(s), 'app')).toEqual({ kind: 'ok', state: s })
  })

  it('shortens a long name it quotes in the reason', () => {
    const r = readState(JSON.stringify({ ...idle(), active: 'x'.repeat(500) }), 'app')
    expect(r.kind === 'invalid' && r.reason.length).toBeLessThan(150)
  })
})

describe('otherLogin', () => {
  it('returns the other login of the pair, whichever is given', () => {
    const s = idle()
    expect(otherLogin(s, 'app_a')).toBe('app_b')
    expect(otherLogin(s, 'app_b')).toBe('app_a')
  })
})

describe('describeState', () => {
  it('says "not set up" without a state', () => {
    expect(describeState(null)).toBe('not set up')
  })

  it('names the active login of an idle family', () => {
    expect(describeState(idle({ active: 'app_b' }))).toBe('idle with app_b active')
  })

  it('names the rotation, the outgoing and the incoming login of an open family', () => {
    expect(describeState(open())).toBe('open (rotation r-1) with app_a outgoing and app_b incoming')
  })
})

describe('sessionCount and describeSessions', () => {
  const sessions: SessionGroup[] = [
    { login: 'app_a', database: 'appdb', applicationName: 'web', clientAddr: '10.0.0.1', count: 2 },
    { login: 'app_a', database: 'appdb', applicationName: 'worker', clientAddr: '10.0.0.2', count: 1 },
    { login: 'app_a', database: 'other', applicationName: '', clientAddr: null, count: 1 },
    { login: 'app_a', database: null, applicationName: 'walsender', clientAddr: null, count: 1 },
    { login: 'app_b', database: 'appdb', applicationName: 'web', clientAddr: '10.0.0.3', count: 4 },
  ]

  it('adds up the sessions of one login over every group', () => {
    expect(sessionCount(sessions, 'app_a')).toBe(5)
    expect(sessionCount(sessions, 'app_b')).toBe(4)
    expect(sessionCount(sessions, 'app_c')).toBe(0)
    expect(sessionCount([], 'app_a')).toBe(0)
  })

  it('describes sessions per database, in the order first seen, with (none) for no database', () => {
    expect(describeSessions(sessions, 'app_a')).toBe('5 (appdb: 3, other: 1, (none): 1)')
    expect(describeSessions(sessions, 'app_b')).toBe('4 (appdb: 4)')
  })

  it('describes no sessions as "0"', () => {
    expect(describeSessions(sessions, 'app_c')).toBe('0')
    expect(describeSessions([], 'app_a')).toBe('0')
  })
})
