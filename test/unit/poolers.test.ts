import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/inputs/config.js'
import {
  clientsToKill,
  describePoolers,
  judgeDrain,
  judgeLogin,
  looksPooled,
  type BackendSession,
} from '../../src/domain/drain-rule.js'
import { logLine, oneLine } from '../../src/domain/escape.js'
import {
  consoleLoginError,
  parseClients,
  parseForcedUsers,
  parsePoolerUrls,
  parseServers,
  parseVersion,
  supportsKillClient,
  type PoolerReading,
  type PoolerSnapshot,
} from '../../src/postgres/poolers.js'
import { sessionsSeenThroughPoolers } from '../../src/postgres/pooled.js'
import { Poolers } from '../../src/postgres/poolers.js'
import { fakeConsole, type FakeConsole } from '../harness/fake-console.js'

const backend = (
  pid: number,
  login: string,
  state = 'idle',
  clientAddr: string | null = '10.0.0.5',
): BackendSession => ({ pid, login, database: 'appdb', state, clientAddr, applicationName: '' })

function reading(
  label: string,
  clients: [string, string][],
  servers: [string, number, string][],
  version = 'PgBouncer 1.18.0',
): PoolerReading {
  const snapshot: PoolerSnapshot = {
    label,
    version,
    versionNumber: parseVersion(version),
    clients: clients.map(([user, state], i) => ({
      user,
      database: 'appdb',
      state,
      addr: '10.1.0.1',
      applicationName: 'web',
      id: version.includes('1.24') ? String(100 + i) : null,
    })),
    servers: servers.map(([user, remotePid, state]) => ({
      user,
      database: 'appdb',
      state,
      remotePid,
      inUse: state === 'active',
    })),
    pools: [{ database: 'appdb', user: 'app_a', poolMode: 'transaction' }],
    forcedUsers: [],
  }
  return { label, line: 1, snapshot }
}

describe('the drain rule with poolers', () => {
  it('idle server connections a listed pooler holds do not count: drained', () => {
    const r = reading(
      'pgb:6432',
      [],
      [
        ['app_a', 11, 'idle'],
        ['app_a', 12, 'used'],
      ],
    )
    const j = judgeDrain('app_a', 'app_b', [backend(11, 'app_a'), backend(12, 'app_a')], [r])
    expect(j.drained).toBe(true)
    expect(j.outgoing).toMatchObject({ clients: 0, unpooled: 0, heldInUse: 0, count: 0 })
    expect(j.outgoing.heldIdle.map((s) => s.pid)).toEqual([11, 12])
  })

  it('a client logged in to the pooler, even idle and holding no server connection, keeps it not drained', () => {
    const j = judgeDrain('app_a', 'app_b', [], [reading('pgb:6432', [['app_a', 'idle']], [])])
    expect(j.drained).toBe(false)
    expect(j.outgoing).toMatchObject({ clients: 1, count: 1 })
  })

  it('a session no listed pooler holds counts (a direct connection, or an unlisted pooler)', () => {
    const j = judgeDrain(
      'app_a',
      'app_b',
      [backend(11, 'app_a'), backend(99, 'app_a')],
      [reading('pgb:6432', [], [['app_a', 11, 'idle']])],
    )
    expect(j.outgoing).toMatchObject({ unpooled: 1, count: 1 })
    expect(j.drained).toBe(false)
  })

  it('a server connection in use counts once with its client; without a client of the login (a forced user) it counts itself', () => {
    const withClient = judgeLogin(
      'app_a',
      [backend(11, 'app_a', 'active')],
      [reading('p', [['app_a', 'active']], [['app_a', 11, 'active']])],
    )
    expect(withClient).toMatchObject({ clients: 1, heldInUse: 1, count: 1 })
    const forced = judgeLogin(
      'app_a',
      [backend(11, 'app_a', 'active')],
      [reading('p', [['other', 'active']], [['app_a', 11, 'active']])],
    )
    expect(forced).toMatchObject({ clients: 0, heldInUse: 1, count: 1 })
  })

  it('a server pid matches only a server connection of the same login', () => {
    const j = judgeLogin('app_a', [backend(11, 'app_a')], [reading('p', [], [['app_b', 11, 'idle']])])
    expect(j).toMatchObject({ unpooled: 1, count: 1 })
  })

  it('an unreadable pooler makes the poll not drained, never drained', () => {
    const j = judgeDrain(
      'app_a',
      'app_b',
      [],
      [reading('a:1', [], []), { label: 'b:2', line: 2, error: 'cannot reach it (ECONNREFUSED)' }],
    )
    expect(j.drained).toBe(false)
    expect(j.unreadable).toEqual(['b:2: cannot reach it (ECONNREFUSED)'])
    expect(describePoolers(j.views, ['app_a'])).toContain('pooler b:2: not readable (cannot reach it (ECONNREFUSED))')
  })

  it("counts the incoming login's pooler clients (min-new-connections), clients on every pooler", () => {
    const j = judgeDrain(
      'app_a',
      'app_b',
      [backend(21, 'app_b')],
      [
        reading(
          'a:1',
          [
            ['app_b', 'idle'],
            ['app_b', 'active'],
          ],
          [['app_b', 21, 'active']],
        ),
        reading('b:2', [['app_b', 'idle']], []),
      ],
    )
    expect(j.incoming).toMatchObject({ clients: 3, count: 3 })
    expect(j.views.map((v) => v.clients.app_b)).toEqual([2, 1])
  })

  it('KILL_CLIENT is offered only from PgBouncer 1.24 and only with client ids', () => {
    expect(supportsKillClient(parseVersion('PgBouncer 1.18.0'))).toBe(false)
    expect(supportsKillClient(parseVersion('PgBouncer 1.24.1'))).toBe(true)
    expect(supportsKillClient(parseVersion('PgBouncer 2.0.0'))).toBe(true)
    expect(supportsKillClient(parseVersion('PgCat 1.2'))).toBe(false)
    const old = clientsToKill([reading('a:1', [['app_a', 'idle']], [])], 'app_a', supportsKillClient)
    expect(old).toEqual([{ label: 'a:1', version: 'PgBouncer 1.18.0', ids: [], clients: 1, supported: false }])
    const modern = clientsToKill(
      [
        reading(
          'a:1',
          [
            ['app_a', 'idle'],
            ['app_a', 'active'],
          ],
          [],
          'PgBouncer 1.24.0',
        ),
      ],
      'app_a',
      supportsKillClient,
    )
    expect(modern[0]).toMatchObject({ ids: ['100', '101'], supported: true })
  })

  it('without poolers: idle sessions from one address look pooled', () => {
    expect(looksPooled([backend(1, 'app_a'), backend(2, 'app_a')], 'app_a')).toBe('10.0.0.5')
    expect(looksPooled([backend(1, 'app_a'), backend(2, 'app_a', 'active')], 'app_a')).toBeNull()
    expect(looksPooled([backend(1, 'app_a'), backend(2, 'app_a', 'idle', '10.0.0.6')], 'app_a')).toBeNull()
    expect(looksPooled([], 'app_a')).toBeNull()
    // Addresses the admin may not see (no pg_read_all_stats) are unknown, not one host.
    const hidden = (pid: number) => ({ ...backend(pid, 'app_a', 'idle', null), addrHidden: true })
    expect(looksPooled([hidden(1), hidden(2)], 'app_a')).toBeNull()
  })

  it('close plans on the sessions seen through the poolers: idle pooled backends out, pooler clients in', () => {
    const groups = [
      { server: 'primary', login: 'app_a', database: 'appdb', applicationName: '', clientAddr: '10.0.0.5', count: 2 },
    ]
    const r = reading(
      'pgb:6432',
      [['app_a', 'idle']],
      [
        ['app_a', 11, 'idle'],
        ['app_a', 12, 'idle'],
      ],
    )
    const j = judgeLogin('app_a', [backend(11, 'app_a'), backend(12, 'app_a')], [r])
    expect(sessionsSeenThroughPoolers(groups, j, [r])).toEqual([
      {
        server: 'pooler pgb:6432',
        login: 'app_a',
        database: 'appdb',
        applicationName: 'web',
        clientAddr: '10.1.0.1',
        count: 1,
      },
    ])
  })
})

describe('reading the console', () => {
  it('parses SHOW CLIENTS and SHOW SERVERS rows and rejects an unexpected answer', () => {
    expect(
      parseClients([
        { user: 'app_a', database: 'appdb', state: 'idle', addr: '10.0.0.1', application_name: 'x\n::error::y', id: 7 },
      ])[0],
    ).toEqual({
      user: 'app_a',
      database: 'appdb',
      state: 'idle',
      addr: '10.0.0.1',
      applicationName: 'x\n::error::y',
      id: '7',
    })
    expect(
      parseServers([{ user: 'app_a', database: 'appdb', state: 'idle', remote_pid: 4242, link: '' }])[0],
    ).toMatchObject({ remotePid: 4242, inUse: false })
    expect(
      parseServers([{ user: 'app_a', database: 'appdb', state: 'active', remote_pid: 1, link: '0x1' }])[0].inUse,
    ).toBe(true)
    expect(() => parseServers([{ user: 'app_a', database: 'appdb', state: 'idle' }])).toThrow(
      /unexpected answer to SHOW SERVERS: no column remote_pid/,
    )
    expect(
      parseForcedUsers([
        { name: 'pgbouncer', force_user: 'pgbouncer' },
        { name: 'shared', force_user: 'app' },
        { name: 'appdb', force_user: null },
      ]),
    ).toEqual([{ database: 'shared', user: 'app' }])
  })

  it('server text becomes one log line without a workflow-command prefix', () => {
    expect(logLine(oneLine('::set-output name=x::1'))).not.toMatch(/^::/)
    expect(oneLine('a\r\nb')).not.toMatch(/[\r\n]/)
  })

  it('console login errors never repeat the URI', () => {
    expect(consoleLoginError({ code: '28P01', message: 'x' })).toBe(
      'password authentication failed for the console user',
    )
    expect(consoleLoginError({ message: 'SASL authentication failed' })).toBe(
      'password authentication failed for the console user',
    )
    expect(consoleLoginError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' })).toBe(
      'cannot reach it (ECONNREFUSED)',
    )
  })
})

describe('input pgbouncer-urls', () => {
  const base = { phase: 'verify-drain', role: 'app', 'admin-url': 'postgresql://admin:pw@db:5432/postgres' }
  const cfg = (urls: string) =>
    parseConfig((n) => ({ ...base, 'pgbouncer-urls': urls })[n as keyof typeof base] ?? '', {})

  it('takes one URI per line or comma-separated, labels each by host and port', () => {
    expect(cfg('').poolers).toEqual([])
    const two = cfg('postgresql://stats:p%2Cw@pgb-1:6432/pgbouncer, postgres://stats:x@pgb-2/pgbouncer\n# a comment\n')
    expect(two.poolers.map((p) => [p.label, p.line])).toEqual([
      ['pgb-1:6432', 1],
      ['pgb-2:5432', 2],
    ])
    expect(parsePoolerUrls('postgresql://s:a,b@h:1/pgbouncer').map((p) => p.label)).toEqual(['h:1'])
  })

  it('a malformed URI or another database is refused, naming the input and not repeating the URI', () => {
    expect(() => cfg('pgbouncer:6432')).toThrow(/^input 'pgbouncer-urls': entry 1 is not a connection URI/)
    expect(() => cfg('postgresql://stats:secret@h:64x32/pgbouncer')).toThrow(
      /input 'pgbouncer-urls': entry 1 is a malformed connection URI/,
    )
    expect(() => cfg('postgresql://stats:secret@h:6432/pgbouncer\npostgresql://stats:secret@h:6432/appdb')).toThrow(
      /entry 2 connects to database "appdb"/,
    )
    try {
      cfg('postgresql://stats:secret@h:64x32/pgbouncer')
    } catch (e) {
      expect((e as Error).message).not.toContain('secret')
    }
  })
})

describe('the job summary with poolers', () => {
  it('shows per pooler the clients and server connections of each login, and an unreadable pooler with its reason', async () => {
    const { renderSummary } = await import('../../src/action/summary.js')
    const md = renderSummary({
      phase: 'verify-drain',
      group: 'app',
      outputs: { previousUsername: 'app_a', state: 'open', remainingConnections: 1, drained: false },
      changes: [],
      notes: [],
      roles: {
        group: null,
        logins: [
          { name: 'app_a', missing: true },
          { name: 'app_b', missing: true },
        ],
      },
      sessions: [],
      failure: 'Not drained',
      poolers: [
        {
          label: 'pgb-1:6432',
          version: 'PgBouncer 1.18.0',
          clients: { app_a: 1, app_b: 3 },
          servers: { app_a: { total: 2, inUse: 0 }, app_b: { total: 3, inUse: 1 } },
        },
        {
          label: 'pgb-2:6432',
          version: 'unknown',
          clients: {},
          servers: {},
          error: 'cannot reach it (ECONNREFUSED) | `x`',
        },
      ],
    })
    expect(md).toContain('| pgb-1:6432 | PgBouncer 1.18.0 | app_a | 1 | 2 (0) |')
    expect(md).toContain('| pgb-1:6432 | PgBouncer 1.18.0 | app_b | 3 | 3 (1) |')
    expect(md).toContain("| pgb-2:6432 | not readable: `cannot reach it (ECONNREFUSED) \\| 'x'` | | | |")
  })
})

describe('Poolers: every console read has a deadline (a stand-in console that stalls)', () => {
  // Far apart, so that which limit ended a read shows in its time even on a busy machine.
  const limits = { connectMs: 2000, commandMs: 400, readMs: 5000, lastLookMs: 300 }
  const target = (c: FakeConsole) => [{ url: c.url, label: c.label, line: 1 }]

  it('a command that gets no answer fails after commandMs, and its socket is destroyed', async () => {
    const fc = await fakeConsole({ answer: 2 })
    const poolers = new Poolers(target(fc), 'test', limits)
    try {
      const started = Date.now()
      const [r] = await poolers.read()
      expect(Date.now() - started).toBeLessThan(limits.commandMs + 2000)
      expect(r.error).toBe(
        `no answer to SHOW SERVERS within ${limits.commandMs} ms: the console stalled, its connection was closed`,
      )
      await expect.poll(() => fc.stats.closed, { timeout: 5000 }).toBe(1)
    } finally {
      await poolers.end()
      await fc.close()
    }
  })

  it('a read is cut at the phase deadline, and one that starts after it still gets lastLookMs', async () => {
    const fc = await fakeConsole({ answer: 0 })
    let now = 0
    const clock = { now: () => new Date(now), sleep: async () => {} }
    const poolers = new Poolers(target(fc), 'test', { ...limits, commandMs: 5000 }, clock)
    try {
      poolers.setDeadline(700)
      let started = Date.now()
      let [r] = await poolers.read()
      expect(Date.now() - started).toBeGreaterThanOrEqual(600)
      expect(Date.now() - started).toBeLessThan(700 + 2000) // not commandMs (5 s)
      expect(r.error).toMatch(/^no answer to SHOW VERSION within \d+ ms/)
      now = 10_000 // past the deadline: the last look
      started = Date.now()
      ;[r] = await poolers.read()
      expect(Date.now() - started).toBeLessThan(limits.lastLookMs + 2000) // not commandMs (5 s)
      expect(r.error).toMatch(/^no answer to SHOW VERSION within \d+ ms/)
    } finally {
      await poolers.end()
      await fc.close()
    }
  })

  it('end() does not wait on a console that never answers the login', async () => {
    const fc = await fakeConsole({ silentStartup: true })
    const poolers = new Poolers(target(fc), 'test', { ...limits, connectMs: 300 })
    const [r] = await poolers.read()
    expect(r.error).toMatch(/timed out|timeout/)
    const started = Date.now()
    await poolers.end()
    expect(Date.now() - started).toBeLessThan(2000)
    await expect.poll(() => fc.stats.closed, { timeout: 5000 }).toBe(fc.stats.accepted)
    await fc.close()
  })
})
