import { idleState } from '../harness/fixtures.js'
import { describe, expect, it } from 'vitest'
import { scramVerifier } from '../../src/crypto/scram.js'
import { readState, type FamilyState } from '../../src/domain/state.js'
import {
  OBSERVE_FAMILY,
  READ_SESSIONS,
  renderStep,
  serializeOnGroup,
  TERMINATE_SESSIONS,
  type Step,
} from '../../src/postgres/statements.js'

/** The value of a PostgreSQL string literal ('...' or E'...', as pg's escapeLiteral writes them). */
function literalValue(sql: string): string {
  const m = /^(E?)'((?:[^']|'')*)'$/s.exec(sql.trim())
  if (!m) throw new Error(`not a single string literal: ${sql}`)
  const body = m[2].replace(/''/g, "'")
  return m[1] ? body.replace(/\\\\/g, '\\') : body
}

const STATE: FamilyState = idleState({}, '2026-11-27T22:44:00.000Z')

describe('renderStep', () => {
  it('creates roles NOLOGIN, with a quoted name', () => {
    expect(renderStep({ kind: 'create-role', role: 'app' }, 180000)).toEqual({
      sql: 'CREATE ROLE "app" NOLOGIN',
      display: 'CREATE ROLE "app" NOLOGIN',
    })
  })

  it.each([
    ['App', '"App"'],
    ['has space', '"has space"'],
    ['say "hi"', '"say ""hi"""'],
    ["o'brien", `"o'brien"`],
    ['x"; DROP ROLE admin; --', '"x""; DROP ROLE admin; --"'],
    ['ünï', '"ünï"'],
  ])('quotes the identifier %j as %s', (name, quoted) => {
    expect(renderStep({ kind: 'create-role', role: name }, 180000).sql).toBe(`CREATE ROLE ${quoted} NOLOGIN`)
    expect(
      renderStep({ kind: 'enable-login', role: name }, 180000, 'pw').sql.startsWith(
        `ALTER ROLE ${quoted} WITH LOGIN PASSWORD `,
      ),
    ).toBe(true)
  })

  it('grants membership WITH INHERIT TRUE, SET TRUE from PostgreSQL 16', () => {
    const step: Step = { kind: 'grant-membership', login: 'app_a', group: 'app' }
    expect(renderStep(step, 160000).sql).toBe('GRANT "app" TO "app_a" WITH INHERIT TRUE, SET TRUE')
    expect(renderStep(step, 180004).sql).toBe('GRANT "app" TO "app_a" WITH INHERIT TRUE, SET TRUE')
  })

  it('grants plain membership before PostgreSQL 16 (no membership options there)', () => {
    const step: Step = { kind: 'grant-membership', login: 'app_a', group: 'app' }
    expect(renderStep(step, 159999).sql).toBe('GRANT "app" TO "app_a"')
    expect(renderStep(step, 140011).sql).toBe('GRANT "app" TO "app_a"')
    expect(renderStep(step, 140011).display).toBe('GRANT "app" TO "app_a"')
  })

  it("sets the login's role-wide default role to the group as a string literal", () => {
    expect(renderStep({ kind: 'set-default-role', login: 'app_a', group: 'app' }, 180000).sql).toBe(
      `ALTER ROLE "app_a" SET role = 'app'`,
    )
    const odd = renderStep({ kind: 'set-default-role', login: 'l', group: "o'brien" }, 180000).sql
    expect(odd).toBe(`ALTER ROLE "l" SET role = 'o''brien'`)
    expect(literalValue(odd.slice(odd.indexOf('=') + 1))).toBe("o'brien")
  })

  it('enables login with the password literal, and shows only *** in the display text', () => {
    const verifier = scramVerifier('the-new-password-123')
    const s = renderStep({ kind: 'enable-login', role: 'app_b' }, 180000, verifier)
    expect(s.sql).toBe(`ALTER ROLE "app_b" WITH LOGIN PASSWORD '${verifier}'`)
    expect(s.display).toBe(`ALTER ROLE "app_b" WITH LOGIN PASSWORD '***'`)
    expect(s.display).not.toContain(verifier)
    expect(s.display).not.toContain('SCRAM')
  })

  it('disables login with a (scrambled) password, showing only *** in the display text', () => {
    const s = renderStep({ kind: 'disable-login', role: 'app_a' }, 180000, 'scrambled-secret-xyz')
    expect(s.sql).toBe(`ALTER ROLE "app_a" WITH NOLOGIN PASSWORD 'scrambled-secret-xyz'`)
    expect(s.display).toBe(`ALTER ROLE "app_a" WITH NOLOGIN PASSWORD '***'`)
  })

  it('escapes quotes and backslashes in a plaintext password (password-encryption: server)', () => {
    const pw = `it's a \\ secret`
    const s = renderStep({ kind: 'enable-login', role: 'app_b' }, 180000, pw)
    const literal = s.sql.slice('ALTER ROLE "app_b" WITH LOGIN PASSWORD'.length)
    expect(literalValue(literal.trimStart())).toBe(pw)
    expect(s.display).not.toContain('secret')
  })

  it.each(['enable-login', 'disable-login'] as const)('refuses to render %s without a password', (kind) => {
    expect(() => renderStep({ kind, role: 'app_a' }, 180000)).toThrow(`internal: ${kind} needs a password`)
    expect(() => renderStep({ kind, role: 'app_a' }, 180000, '')).toThrow(/needs a password/)
  })

  it('writes the state as a JSON comment on the group role that reads back as the same state', () => {
    const s = renderStep({ kind: 'write-state', group: 'app', state: STATE }, 180000)
    expect(s.sql.startsWith('COMMENT ON ROLE "app" IS ')).toBe(true)
    expect(s.display).toBe(s.sql)
    const value = literalValue(s.sql.slice('COMMENT ON ROLE "app" IS '.length))
    expect(JSON.parse(value)).toEqual(STATE)
    expect(readState(value, 'app')).toEqual({ kind: 'ok', state: STATE })
  })

  it('escapes login names with quotes and backslashes inside the state comment', () => {
    const state: FamilyState = {
      ...STATE,
      logins: [`O'Brien "A"`, 'back\\slash'],
      active: 'back\\slash',
      passwordSetAt: {},
    }
    const s = renderStep({ kind: 'write-state', group: 'g"x', state }, 180000)
    const prefix = 'COMMENT ON ROLE "g""x" IS'
    expect(s.sql.startsWith(prefix)).toBe(true)
    const value = literalValue(s.sql.slice(prefix.length).trimStart())
    expect(readState(value, 'g"x')).toEqual({ kind: 'ok', state })
  })

  it('never puts a password into the state comment', () => {
    const s = renderStep({ kind: 'write-state', group: 'app', state: STATE }, 180000)
    expect(s.sql).not.toMatch(/password"\s*:/i)
  })
})

describe('serializeOnGroup', () => {
  it('rewrites the group role with the INHERIT attribute it already has, quoted', () => {
    expect(serializeOnGroup('app', true)).toBe('ALTER ROLE "app" WITH INHERIT')
    expect(serializeOnGroup('a"b', false)).toBe('ALTER ROLE "a""b" WITH NOINHERIT')
  })
})

describe('read statements', () => {
  it('take role names as bound parameters, never interpolated', () => {
    for (const sql of [OBSERVE_FAMILY, READ_SESSIONS, TERMINATE_SESSIONS]) expect(sql).toMatch(/\$1/)
  })

  it("leave out the action's own session when counting or terminating sessions", () => {
    expect(READ_SESSIONS).toContain('pid <> pg_backend_pid()')
    expect(TERMINATE_SESSIONS).toContain('pid <> pg_backend_pid()')
  })

  it('read role-wide settings only (not per-database ones)', () => {
    expect(OBSERVE_FAMILY).toContain('s.setdatabase = 0')
  })
})
