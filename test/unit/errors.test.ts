import { describe, expect, it } from 'vitest'
import { statementError } from '../../src/postgres/db.js'
import { PartialFailure, wasCommitted } from '../../src/domain/errors.js'

describe('statementError says what was committed', () => {
  const lock = { code: '55P03', message: 'canceling statement due to lock timeout' }
  it.each([
    [lock],
    [{ code: '57014', message: 'canceling statement due to statement timeout' }],
    [{ code: '42501', message: 'permission denied to alter role' }],
    [{ code: 'XX000', message: 'tuple concurrently updated' }],
    [{ code: '23505', message: 'duplicate key' }],
  ])('%j: "nothing was changed" without a commit, never with one', (err) => {
    const plain = statementError(err, 'ALTER ROLE "app_a" NOLOGIN')
    expect(plain.message).toMatch(/nothing was changed/i)
    expect(wasCommitted(plain)).toBe(false)
    const after = statementError(
      err,
      'ALTER ROLE "app_a" NOLOGIN',
      'GitHub secret DATABASE_URL now holds the credentials of "app_b"',
    )
    expect(after.message).not.toMatch(/nothing was changed/i)
    expect(after.message).toContain('GitHub secret DATABASE_URL now holds the credentials of "app_b"')
    expect(wasCommitted(after)).toBe(true)
  })

  it('a statement the server never answered (client query timeout): nothing changed, except COMMIT, which may have happened', () => {
    const timeout = new Error('Query read timeout')
    const plain = statementError(timeout, 'ALTER ROLE "app_a" NOLOGIN')
    expect(plain.message).toMatch(/did not answer within the client's query timeout .*nothing was changed/)
    expect(wasCommitted(plain)).toBe(false)
    const commit = statementError(timeout, 'COMMIT')
    expect(commit.message).toMatch(/did not answer COMMIT .* may or may not have been committed/)
    expect(commit.message).not.toMatch(/nothing was changed/i)
    expect(wasCommitted(commit)).toBe(true)
  })

  it('a PartialFailure is committed; other errors are not', () => {
    expect(wasCommitted(new PartialFailure('x'))).toBe(true)
    expect(wasCommitted(new Error('x'))).toBe(false)
    expect(wasCommitted(null)).toBe(false)
  })
})
