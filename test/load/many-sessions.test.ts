/**
 * 1,000 sessions of the outgoing login (a large fleet that never redeploys):
 * verify-drain with terminate-after ends them all and confirms they are gone.
 * Prints how long one poll of pg_stat_activity takes with 1,000 sessions, the
 * spacing of the action's polls, and how long termination takes to confirm.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { runAction } from '../../scripts/lib/run-action.mjs'
import { CLEAR_STATS_SNAPSHOT, READ_SESSIONS } from '../../src/postgres/statements.js'
import { admin, describeRun, loadMajors, median } from './support.js'

const MAJORS = loadMajors()
const SESSIONS = 1000
const BATCH = 50

if (MAJORS.length === 0) it.skip('PostgreSQL 14 and 18 binaries are not installed (or excluded by PG_MAJORS)', () => {})

/** "123ms" / "2s" / "1m5s" as the action prints them, in ms. */
function parseElapsed(text: string): number {
  let ms = 0
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g))
    ms += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h']
  return ms
}

describe.each(MAJORS)('PostgreSQL %i: 1,000 sessions of the outgoing login', (major) => {
  let server: EmbeddedServer
  const clients: pg.Client[] = []
  beforeAll(async () => {
    server = await startEmbedded(major, { max_connections: '1100', shared_buffers: '64MB' })
  })
  afterAll(async () => {
    // Terminated clients are already closed; end() on them resolves at once. Never wait long for any.
    await Promise.race([Promise.allSettled(clients.map((c) => c.end())), new Promise((r) => setTimeout(r, 5000))])
    await server?.stop()
  })

  it('verify-drain with terminate-after ends all 1,000 and confirms none is left', async () => {
    const role = 'fleet'
    const base = { 'admin-url': server.url, role }
    const s = await runAction({ ...base, phase: 'setup' })
    expect(s.code, describeRun(s)).toBe(0)
    const o = await runAction({ ...base, phase: 'open' })
    expect(o.code, describeRun(o)).toBe(0)

    // The old login's fleet, opened 50 at a time.
    const opened0 = performance.now()
    let ended = 0
    const endedAt: number[] = []
    for (let i = 0; i < SESSIONS; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, SESSIONS - i) }, () => {
        const c = new pg.Client({
          host: '127.0.0.1',
          port: server.port,
          database: 'postgres',
          user: s.outputs.username,
          password: s.outputs.password,
          application_name: 'fleet',
        })
        // A terminated session emits 'error' (and 'end'); without a listener the test process would crash.
        c.on('error', () => {})
        c.on('end', () => {
          ended++
          endedAt.push(performance.now())
        })
        clients.push(c)
        return c.connect()
      })
      await Promise.all(batch)
    }
    const openMs = performance.now() - opened0

    const probe = await admin(server.url)
    const count = async () =>
      (await probe.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [s.outputs.username]))
        .rows[0].n as number
    expect(await count()).toBe(SESSIONS)
    // What one poll costs with 1,000 sessions: the action's own statements, timed from outside.
    const pollMs: number[] = []
    for (let i = 0; i < 11; i++) {
      const t = performance.now()
      await probe.query(CLEAR_STATS_SNAPSHOT)
      const rows = (await probe.query(READ_SESSIONS, [[s.outputs.username, o.outputs.username]])).rows
      pollMs.push(performance.now() - t)
      expect(rows.reduce((n, r) => n + r.count, 0)).toBe(SESSIONS)
    }

    const drainStart = performance.now()
    const d = await runAction({
      ...base,
      phase: 'verify-drain',
      'rotation-id': o.outputs['rotation-id'],
      interval: '500ms',
      'terminate-after': '1s',
      timeout: '60s',
    })
    expect(d.code, describeRun(d)).toBe(0)
    expect(d.outputs).toMatchObject({
      drained: 'true',
      'remaining-connections': '0',
      'previous-username': s.outputs.username,
    })
    expect(d.stdout).toMatch(new RegExp(`signalled ${SESSIONS} sessions of "${s.outputs.username}" to terminate`))
    const polls = [...d.stdout.matchAll(/^poll (\d+) at (\S+) \(\S+ left\): "fleet_a" (\d+)/gm)].map((m) => ({
      n: Number(m[1]),
      atMs: parseElapsed(m[2]),
      old: Number(m[3]),
    }))
    expect(polls.length, describeRun(d)).toBeGreaterThan(0)
    expect(polls.at(-1)!.old).toBe(0)
    const exitAt = performance.now() - drainStart

    expect(await count()).toBe(0)
    await probe.end()
    // Every client saw its session end.
    for (let t = Date.now(); ended < SESSIONS && Date.now() - t < 5000;) await new Promise((r) => setTimeout(r, 50))
    expect(ended).toBe(SESSIONS)
    const firstEnd = Math.min(...endedAt) - drainStart
    const lastEnd = Math.max(...endedAt) - drainStart

    console.log(
      [
        `[fleet] PostgreSQL ${major}: ${SESSIONS} sessions of ${s.outputs.username} opened in ${(openMs / 1000).toFixed(1)} s (${BATCH} at a time)`,
        `  one poll (pg_stat_clear_snapshot + the sessions query) with ${SESSIONS} sessions: median ${median(pollMs).toFixed(1)} ms, max ${Math.max(...pollMs).toFixed(1)} ms`,
        `  verify-drain (interval 500ms, terminate-after 1s): ${Math.round(d.ms)} ms in all, ${polls.length} polls at ${polls.map((p) => `${p.atMs}ms:${p.old}`).join(', ')}`,
        `  from the start of verify-drain: first session ended at ${Math.round(firstEnd)} ms, the last at ${Math.round(lastEnd)} ms (${Math.round(lastEnd - firstEnd)} ms for all ${SESSIONS}); the action confirmed and exited at ${Math.round(exitAt)} ms`,
      ].join('\n'),
    )
  }, 120_000)
})
