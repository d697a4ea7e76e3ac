import { describe, expect, it } from 'vitest'
import { PartialFailure, wasCommitted } from '../../src/domain/errors.js'
import { afterCommit } from '../../src/phase-support/after-commit.js'

describe('work after a phase commits', () => {
  it('returns what the work returns', async () => {
    await expect(afterCommit('"app_a" was disabled', async () => 42)).resolves.toBe(42)
  })

  it('a failure after the commit says what was committed, never that nothing changed', async () => {
    const failed = afterCommit('"app_a" was disabled and rotation r1 closed', async () => {
      throw new Error('KILL_CLIENT: admin access needed')
    })
    await expect(failed).rejects.toBeInstanceOf(PartialFailure)
    const e = await failed.catch((x: unknown) => x)
    expect(wasCommitted(e)).toBe(true)
    expect((e as Error).message).toBe(
      '"app_a" was disabled and rotation r1 closed, but what followed the commit failed: KILL_CLIENT: admin access needed',
    )
  })

  it('keeps an error that already says what was committed', async () => {
    const original = new PartialFailure('GitHub secrets DATABASE_URL hold the credentials of "app_b".')
    await expect(
      afterCommit('x', async () => {
        throw original
      }),
    ).rejects.toBe(original)
  })
})
