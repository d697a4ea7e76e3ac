import { describe, expect, it } from 'vitest'
import { describeLoginSessions, idOf } from '../../src/domain/family.js'
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

describe('a login session as a person reads it', () => {
  it('names a backend by its pid alone, and a pooler client by its id', () => {
    const b = {
      pid: 4242,
      started: '2026-12-03T08:00:00.1+00:00',
      login: 'app_a',
      database: 'db',
      state: 'idle',
      clientAddr: '10.0.0.5',
      applicationName: 'api',
    }
    expect(idOf(backendSession('primary', b))).toBe('4242')
    expect(describeLoginSessions([backendSession('primary', b)])).toMatch(/^primary pid 4242 \(database db/)
    const client = {
      where: 'pooler 127.0.0.1:6432',
      key: 'pooler 127.0.0.1:6432#7',
      login: 'app_a',
      database: 'db',
      applicationName: 'api',
      clientAddr: null,
    }
    expect(idOf(client)).toBe('7')
  })
})
