import { describe, expect, it } from 'vitest'
import { backendSession } from '../../src/phase-support/login-sessions.js'

describe('a login session key', () => {
  const ended = {
    pid: 4242,
    started: '2026-12-03T08:00:00.1+00:00',
    login: 'app_a',
    database: 'db',
    state: 'idle',
    clientAddr: null,
    applicationName: 'x',
  }
  it("tells a backend that reused an ended one's pid from it (close's postcondition would miss it)", () => {
    const reused = { ...ended, started: '2026-12-03T08:00:05.2+00:00' }
    expect(backendSession('primary', reused).key).not.toBe(backendSession('primary', ended).key)
  })
  it('is the same for the same backend read twice', () => {
    expect(backendSession('primary', { ...ended }).key).toBe(backendSession('primary', ended).key)
  })
})
