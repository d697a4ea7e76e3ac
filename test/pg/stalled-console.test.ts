/**
 * No peer holds a phase without a limit. A pooler console that accepts the
 * connection and then never answers (test/harness/fake-console.ts) must make a
 * phase fail, or verify-drain report "not drained", naming it, within the
 * pooler limits or the drain timeout: never a hang, and never with the
 * family's locks held past those limits.
 */
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { describeEachServer, phase, servers, snapshotRoles, withAdmin } from '../harness/helpers.js'
import { family, openedFamily, ownRun } from '../harness/roles.js'
import { fakeConsole, type FakeConsole, type FakeConsoleOptions } from '../harness/fake-console.js'
import { connectTo } from '../harness/clients.js'
import { canSignalBackends, signalBackend } from '../harness/servers.js'
import { BEGIN_PHASE, ROLLBACK } from '../../src/postgres/statements.js'
import type { PoolerLimits } from '../../src/postgres/poolers.js'

/** Short limits, so a stalled console fails a phase in about a second. */
const LIMITS: PoolerLimits = { connectMs: 1000, commandMs: 1000, readMs: 2000, lastLookMs: 500 }

/**
 * A factory of stalling consoles for the suite it is called in, closing them after each of the
 * suite's tests: per suite, so the servers' suites can run side by side (describeEachServer).
 */
function stallingConsoles(): (opts: Parameters<typeof fakeConsole>[0]) => Promise<FakeConsole> {
  const consoles: FakeConsole[] = []
  afterEach(async () => {
    // Closing the fake consoles also ends a phase that (before the fix) would wait on one forever.
    await Promise.all(consoles.splice(0).map((c) => c.close()))
  })
  return async (opts) => {
    const c = await fakeConsole(opts)
    consoles.push(c)
    return c
  }
}

/** Settles like `p`, or rejects when it takes longer than `ms`: on the code before the fix these phases hang. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** The outcome of a phase as a value: its result, or the message it failed with. */
const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value, error: undefined }),
    (e: Error) => ({ value: undefined, error: e.message }),
  )

/** Sessions of a phase (by application_name) that are idle in a transaction. */
async function idleInTransaction(server: Parameters<typeof withAdmin>[0], phaseName: string): Promise<number> {
  return withAdmin(
    server,
    async (c) =>
      (
        await c.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1 AND state = 'idle in transaction'`,
          [`pg-credential-rotation/${phaseName}%`],
        )
      ).rows[0].n,
  )
}

describeEachServer('a silent pooler console never hangs a phase', (server) => {
  const stallingConsole = stallingConsoles()

  it('close whose console stalls inside its transaction fails within the limits naming it, changes nothing and holds no lock', async ({
    expect,
  }) => {
    const f = await openedFamily(server, 'stall')
    // Answers close's first look (five SHOW commands), then never answers its re-check under the lock.
    const fc = await stallingConsole({ answer: 5 })
    const before = await snapshotRoles(server, family(f.role))
    // A run id of its own: other files' close phases run against the same server at the same time.
    const run = String(1e9 + Math.floor(Math.random() * 1e9))
    const started = Date.now()
    const close = settle(
      phase(
        server,
        { phase: 'close', role: f.role, 'pgbouncer-urls': fc.url },
        { poolerLimits: LIMITS, env: { GITHUB_RUN_ID: run } },
      ),
    )
    await bounded(fc.stalled, 10_000, 'the console stall')
    // The window: close sits in its transaction, holding the family's locks, waiting on the console.
    expect(await idleInTransaction(server, `close run ${run}`)).toBe(1)
    const { value, error } = await bounded(close, 10_000, 'close')
    const ms = Date.now() - started
    expect(value).toBeUndefined()
    expect(error).toContain(`pooler ${fc.label}`)
    expect(error).toMatch(/no answer to SHOW VERSION within \d+ ms: the console stalled/)
    expect(error).toMatch(/Nothing was changed/)
    expect(ms).toBeLessThan(LIMITS.readMs + 2000)
    expect(await snapshotRoles(server, family(f.role))).toEqual(before)
    expect(await idleInTransaction(server, `close run ${run}`)).toBe(0)
    // The stalled connection was torn down, not left open.
    await expect.poll(() => fc.stats.closed, { timeout: 5000 }).toBe(fc.stats.accepted)
  })

  it('an abort started while close waits on a stalled console proceeds once close gives up', async () => {
    const f = await openedFamily(server, 'stall')
    const fc = await stallingConsole({ answer: 5 })
    const close = settle(
      phase(server, { phase: 'close', role: f.role, 'pgbouncer-urls': fc.url }, { poolerLimits: LIMITS }),
    )
    await bounded(fc.stalled, 10_000, 'the console stall')
    // abort waits for the family's locks (its lock_timeout is longer than the console limits, shorter than a hang).
    const abort = settle(phase(server, { phase: 'abort', role: f.role }, { lockTimeoutMs: 8000 }))
    const [c, a] = await bounded(Promise.all([close, abort]), 15_000, 'close and abort')
    expect(c.error).toContain(`pooler ${fc.label}`)
    expect(a.error).toBeUndefined()
    expect(a.value?.outputs).toMatchObject({ state: 'idle', username: f.old.user })
  })

  it('a runner that stalls inside the phase transaction loses it to idle_in_transaction_session_timeout, releasing the locks', async () => {
    const f = await openedFamily(server, 'stall')
    const fc = await stallingConsole({ answer: 5 })
    // The console limits are long here: the server, not the client, ends the stalled transaction.
    const patient: PoolerLimits = { connectMs: 1000, commandMs: 6000, readMs: 6000, lastLookMs: 500 }
    const close = settle(
      phase(
        server,
        { phase: 'close', role: f.role, 'pgbouncer-urls': fc.url },
        { poolerLimits: patient, idleInTransactionTimeoutMs: 300 },
      ),
    )
    await bounded(fc.stalled, 10_000, 'the console stall')
    const started = Date.now()
    const abort = await bounded(
      settle(phase(server, { phase: 'abort', role: f.role }, { lockTimeoutMs: 5000 })),
      10_000,
      'abort',
    )
    expect(abort.error).toBeUndefined()
    // abort did not wait for the console's limit: the server had ended close's idle transaction.
    expect(Date.now() - started).toBeLessThan(patient.commandMs - 1000)
    expect((await bounded(close, 15_000, 'close')).error).toBeDefined()
  })

  it('the phase transaction carries an idle-in-transaction limit and a statement timeout', async () => {
    const c: pg.Client = await connectTo(server.url)
    try {
      await c.query(BEGIN_PHASE)
      const row = (
        await c.query(
          `SELECT current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('statement_timeout') AS stmt`,
        )
      ).rows[0]
      expect(row).toEqual({ idle: '5min', stmt: '2min' })
      await c.query(ROLLBACK)
    } finally {
      await c.end()
    }
  })

  // The server's backend is stopped with SIGSTOP: a local process the test may signal (as root), or a
  // process in the server's container (signalled with kill inside it).
  it.skipIf(!canSignalBackends(server))(
    'a backend that stops answering inside the phase transaction fails the phase after the query timeout, without a second wait for ROLLBACK',
    async ({ expect }) => {
      const f = await openedFamily(server, 'stall')
      const before = await snapshotRoles(server, family(f.role))
      const dba = await connectTo(server.url)
      let stopped: number | null = null
      try {
        // A DBA transaction holds the group's row: abort's serializing ALTER ROLE waits inside its transaction.
        await dba.query(`BEGIN; ALTER ROLE ${pg.escapeIdentifier(f.role)} WITH INHERIT`)
        const started = Date.now()
        // A run id of its own: other files' aborts on this server may wait on locks too, and stopping one
        // of theirs would let this abort through.
        const run = ownRun()
        const abort = settle(
          phase(
            server,
            { phase: 'abort', role: f.role },
            { adminQueryTimeoutMs: 3000, lockTimeoutMs: 20_000, env: run.env },
          ),
        )
        for (let i = 0; i < 100 && stopped === null; i++) {
          const r = await withAdmin(server, (c) =>
            c.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [
              `pg-credential-rotation/abort run ${run.id}`,
            ]),
          )
          if (r.rows[0]) {
            stopped = Number(r.rows[0].pid)
            await signalBackend(server, stopped, 'SIGSTOP')
          } else await new Promise((r) => setTimeout(r, 20))
        }
        expect(stopped).not.toBeNull()
        await dba.query('ROLLBACK')
        const { error } = await bounded(abort, 15_000, 'abort')
        const ms = Date.now() - started
        expect(error).toMatch(/did not answer within the client's query timeout \(while running: ALTER ROLE/)
        expect(error).toMatch(/nothing was changed/)
        // One query timeout (3 s), not two (6 s): no ROLLBACK queued behind the unanswered statement.
        expect(ms).toBeLessThan(3000 + 2000)
      } finally {
        if (stopped !== null) await signalBackend(server, stopped, 'SIGCONT')
        await dba.end()
      }
      await expect.poll(() => snapshotRoles(server, family(f.role)), { timeout: 5000 }).toEqual(before)
    },
  )

  it.for<[string, FakeConsoleOptions]>([
    ['never answers a query', { answer: 0 }],
    ['never answers the login', { silentStartup: true }],
  ])(
    'verify-drain with timeout 2s and a console that %s returns within the timeout, not drained, naming it',
    async ([, opts], { expect }) => {
      const f = await openedFamily(server, 'stall')
      const fc = await stallingConsole(opts)
      const started = Date.now()
      // The default pooler limits (5 s a command): the drain timeout alone must bound the phase.
      const d = await bounded(
        phase(server, { phase: 'verify-drain', role: f.role, 'pgbouncer-urls': fc.url, timeout: '2s' }),
        20_000,
        'verify-drain',
      )
      const ms = Date.now() - started
      expect(d.outputs.drained).toBe(false)
      expect(d.failure).toContain(`pooler ${fc.label}`)
      expect(d.failure).toMatch(/Not drained/)
      // The 2 s timeout, not the 5 s a console command may take by default.
      expect(ms).toBeLessThan(2000 + 2500)
      await expect.poll(() => fc.stats.closed, { timeout: 5000 }).toBe(fc.stats.accepted)
    },
  )
})

describe('a database server that stops answering never hangs a phase either', () => {
  const server = servers()[0]
  const stallingConsole = stallingConsoles()

  it.each([
    ['right after the login (its first statement)', { answer: 0 }],
    ['after the first statement (the family read)', { answer: 1, anySql: true }],
  ])('status against an admin-url server that stalls %s fails within the query timeout', async (_what, opts) => {
    const fake = await stallingConsole(opts)
    const started = Date.now()
    const { error } = await bounded(
      settle(
        phase(
          server,
          { phase: 'status', role: 'stalled', 'admin-url': fake.url.replace('/pgbouncer', '/appdb') },
          { adminQueryTimeoutMs: 1000 },
        ),
      ),
      15_000,
      'status',
    )
    expect(error).toMatch(/did not answer its first statement in time|Query read timeout/)
    // The 1 s query timeout, not a hang (bounded at 15 s above).
    expect(Date.now() - started).toBeLessThan(1000 + 5000)
    // And not retried: a server that accepted the login and then said nothing is hung, not restarting,
    // so one connection only (the bound above leaves room for a retried first statement).
    expect(fake.stats.accepted).toBe(1)
    await expect.poll(() => fake.stats.closed, { timeout: 5000 }).toBe(fake.stats.accepted)
  })
})
