import { describe, expect, it } from 'vitest'
import type { DrainJudgement, PoolerView } from '../../src/domain/drain-rule.js'
import { closeAdvice } from '../../src/phase-support/poolers-drain.js'

const view = (version: string, clients: number): PoolerView => ({
  label: '127.0.0.1:6432',
  version,
  clients: { app_a: clients, app_b: 0 },
  servers: {},
})
const judged = (...views: PoolerView[]): DrainJudgement =>
  ({ views, unreadable: [], drained: false }) as unknown as DrainJudgement

describe('what verify-drain advises when the old login has not drained', () => {
  it('close with terminate when no pooler is listed', () => {
    expect(closeAdvice(null, 'app_a')).toBe('close with terminate: true')
  })

  it('close with terminate when the pooler holding clients has KILL_CLIENT', () => {
    expect(closeAdvice(judged(view('PgBouncer 1.24.1', 2)), 'app_a')).toBe('close with terminate: true')
  })

  it('close with force when a pooler without KILL_CLIENT holds clients of the old login (terminate would refuse)', () => {
    const advice = closeAdvice(
      judged(view('PgBouncer 1.18.0', 1), { ...view('PgBouncer 1.18.0', 0), label: 'b:6432' }),
      'app_a',
    )
    expect(advice).toBe(
      'close with force: true (terminate would refuse: 127.0.0.1:6432 (PgBouncer 1.18.0) cannot end pooler clients without KILL_CLIENT)',
    )
  })
})
