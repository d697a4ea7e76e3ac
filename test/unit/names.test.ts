import { describe, expect, it } from 'vitest'
import { InputError } from '../../src/domain/errors.js'
import { checkRoleName, MAX_NAME_BYTES } from '../../src/inputs/names.js'

function refusal(name: string): InputError {
  try {
    checkRoleName(name, 'role')
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    expect((e as InputError).input).toBe('role')
    return e as InputError
  }
  throw new Error(`expected ${JSON.stringify(name)} to be refused`)
}

describe('checkRoleName', () => {
  it.each([
    'app',
    'App',
    'app_a',
    'has space',
    `O'Brien "A"`,
    'ünï',
    'ロール',
    'PG_upper',
    'xpg_',
    'publicity',
    'r'.repeat(63),
  ])('accepts %j and returns it', (name) => {
    expect(checkRoleName(name, 'role')).toBe(name)
  })

  it('limits names to 63 bytes (NAMEDATALEN - 1), counting UTF-8 bytes, not characters', () => {
    expect(MAX_NAME_BYTES).toBe(63)
    expect(checkRoleName('é'.repeat(31) + 'x', 'role')).toHaveLength(32) // 63 bytes
    expect(refusal('é'.repeat(32)).message).toBe(
      `input 'role': role name '${'é'.repeat(32)}' is 64 bytes; PostgreSQL would truncate it to 63 bytes, so use a shorter name`,
    )
    expect(refusal('ロ'.repeat(22)).message).toMatch(/is 66 bytes/) // 22 characters, 3 bytes each
    expect(refusal('r'.repeat(64)).message).toMatch(/is 64 bytes/)
  })

  it('refuses an empty name and a name holding NUL', () => {
    expect(refusal('').message).toBe("input 'role': a role name is empty")
    expect(refusal('a\0b').message).toBe(
      "input 'role': a role name contains a control character (tab, line break or similar)",
    )
    expect(refusal('a\nb').message).toMatch(/control character/)
    expect(refusal('a\tb').message).toMatch(/control character/)
  })

  it.each(['public', 'none', 'current_user', 'session_user', 'current_role', 'all'])(
    'refuses the reserved name %j',
    (name) => {
      expect(refusal(name).message).toBe(`input 'role': '${name}' is a reserved role name`)
    },
  )

  it.each(['pg_', 'pg_app', 'pg_read_all_data'])(
    'refuses %j: names starting with pg_ are reserved by PostgreSQL',
    (name) => {
      expect(refusal(name).message).toMatch(/starting with 'pg_' are reserved/)
    },
  )
})
