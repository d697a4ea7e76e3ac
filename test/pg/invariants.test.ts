/**
 * The invariants of "Safe on real clusters", against real PostgreSQL:
 *
 *  1. At every moment at least one login of the family can log in with a password
 *     that was handed out (a seeded random walk over every phase, re-runs and
 *     application sessions; the seed is printed, INVARIANT_SEED=<n> replays it);
 *  2. a phase that fails leaves roles and state exactly as they were;
 *  3. two phases started at the same moment on the same family: one runs, the other
 *     waits or fails cleanly, never both half-applied.
 */
import { randomInt } from 'node:crypto'
import type pg from 'pg'
import { expect, it } from 'vitest'
import type { TestServer } from '../harness/servers.js'
import {
  describeEachServer,
  familyName,
  loginAs,
  loginError,
  phase,
  snapshotRoles,
  withAdmin,
} from '../harness/helpers.js'
import { createRoleAdmin } from '../harness/roles.js'

type PhaseRun = Awaited<ReturnType<typeof phase>>
type Settled = PromiseSettledResult<PhaseRun>

interface Pair {
  login: string
  password: string
  /** Which step or phase handed it out. */
  by: string
}

/** The state comment as the tests read it (only the fields the invariants use). */
interface StateJson {
  tool: string
  version: number
  logins: string[]
  active: string
  rotation: { id: string; incoming: string; openedBy: { runId: string } } | null
  lastClosed: { id: string } | null
  lastAborted?: { id: string; login: string } | null
}

interface Facts {
  comment: string | null
  state: StateJson | null
  exists: Record<string, boolean>
  canLogin: Record<string, boolean>
  /** Sessions per login, every database. */
  sessions: Record<string, number>
}

const loginsOf = (role: string): [string, string] => [`${role}_a`, `${role}_b`]

// ---- deterministic PRNG -------------------------------------------------------

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SEED = process.env.INVARIANT_SEED ? Number(process.env.INVARIANT_SEED) : randomInt(1, 2 ** 31 - 1)
const STEPS = Number(process.env.INVARIANT_STEPS ?? 25)

// ---- reading the family ---------------------------------------------------------

async function readFacts(server: TestServer, role: string, logins: readonly string[]): Promise<Facts> {
  return withAdmin(server, async (c) => {
    const row = (
      await c.query(`SELECT shobj_description(oid, 'pg_authid') AS s FROM pg_roles WHERE rolname = $1`, [role])
    ).rows[0]
    const comment: string | null = row ? row.s : null
    const roles = (
      await c.query(`SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)`, [[role, ...logins]])
    ).rows
    const sessions = (
      await c.query(`SELECT usename, count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1) GROUP BY 1`, [
        logins,
      ])
    ).rows
    return {
      comment,
      // Throws (fails the test) when the comment does not parse.
      state: comment === null ? null : (JSON.parse(comment) as StateJson),
      exists: Object.fromEntries([role, ...logins].map((n) => [n, roles.some((r) => r.rolname === n)])),
      canLogin: Object.fromEntries(roles.map((r) => [r.rolname as string, r.rolcanlogin as boolean])),
      sessions: Object.fromEntries(logins.map((l) => [l, sessions.find((s) => s.usename === l)?.n ?? 0])),
    }
  })
}

/** The logins the state says may log in: the active one, and the incoming one while a rotation is open. */
function expectedLogins(state: StateJson): string[] {
  return state.rotation ? [state.active, state.rotation.incoming] : [state.active]
}

/** Everything about a set of roles, more than snapshotRoles: every pg_authid column, settings per database, membership options and grantors. */
async function fullSnapshot(server: TestServer, names: string[]): Promise<unknown> {
  return withAdmin(server, async (c) => ({
    roles: (
      await c.query(
        `SELECT to_jsonb(a) - 'oid' AS r, shobj_description(a.oid, 'pg_authid') AS comment FROM pg_authid a WHERE a.rolname = ANY($1) ORDER BY a.rolname`,
        [names],
      )
    ).rows,
    settings: (
      await c.query(
        `SELECT r.rolname, s.setdatabase, s.setconfig FROM pg_db_role_setting s JOIN pg_authid r ON r.oid = s.setrole WHERE r.rolname = ANY($1) ORDER BY 1, 2`,
        [names],
      )
    ).rows,
    members: (
      await c.query(
        `SELECT m.rolname AS member, g.rolname AS grp, gr.rolname AS grantor, to_jsonb(am) - 'oid' - 'roleid' - 'member' - 'grantor' AS options
           FROM pg_auth_members am
           JOIN pg_authid m ON m.oid = am.member
           JOIN pg_authid g ON g.oid = am.roleid
           LEFT JOIN pg_authid gr ON gr.oid = am.grantor
          WHERE m.rolname = ANY($1) OR g.rolname = ANY($1)
          ORDER BY 1, 2, 3`,
        [names],
      )
    ).rows,
  }))
}

async function snapshots(server: TestServer, names: string[]): Promise<[unknown, unknown]> {
  return [await snapshotRoles(server, names), await fullSnapshot(server, names)]
}

/**
 * Runs a phase that must fail; asserts the error, and that roles, passwords,
 * settings, memberships and the state comment are exactly as before.
 */
async function expectRefusedUnchanged(
  server: TestServer,
  names: string[],
  run: () => Promise<unknown>,
  error: RegExp,
): Promise<Error> {
  const before = await snapshots(server, names)
  let thrown: unknown = null
  try {
    await run()
  } catch (e) {
    thrown = e
  }
  expect(thrown, 'the phase was expected to fail').toBeInstanceOf(Error)
  expect((thrown as Error).message).toMatch(error)
  expect(await snapshots(server, names)).toEqual(before)
  return thrown as Error
}

/** The family is consistent: the state parses, exactly the logins it names can log in, each of them with a handed-out password, and no other handed-out password works. */
async function expectConsistent(server: TestServer, role: string, handed: Pair[], label: string): Promise<StateJson> {
  const logins = loginsOf(role)
  const f = await readFacts(server, role, logins)
  expect(f.state, `${label}: state comment`).not.toBeNull()
  const state = f.state!
  expect(state.tool).toBe('pg-credential-rotation')
  expect([...state.logins].sort()).toEqual([...logins].sort())
  expect(f.canLogin[role], `${label}: the group role must stay NOLOGIN`).toBe(false)
  const expected = expectedLogins(state)
  expect(logins.filter((l) => f.canLogin[l]).sort(), `${label}: logins that can log in vs state ${f.comment}`).toEqual(
    [...expected].sort(),
  )
  await withAdmin(server, async (c) => {
    for (const l of logins) {
      const s = (
        await c.query(
          `SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1 AND s.setdatabase = 0`,
          [l],
        )
      ).rows
      expect(
        s.map((x) => x.setconfig),
        `${label}: SET role default of ${l}`,
      ).toEqual([[`role=${role}`]])
      const m = (
        await c.query(
          `SELECT 1 FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.roleid WHERE m.rolname = $1 AND g.rolname = $2`,
          [l, role],
        )
      ).rows
      expect(m, `${label}: ${l} member of ${role}`).toHaveLength(1)
    }
  })
  for (const l of logins) {
    const mine = handed.filter((p) => p.login === l)
    const works: Pair[] = []
    for (const p of mine) if ((await loginError(server, p.login, p.password)) === null) works.push(p)
    if (expected.includes(l)) {
      expect(
        works.length,
        `${label}: ${l} can log in per the state, so its handed-out password must work (handed: ${mine.map((p) => p.by).join(', ')})`,
      ).toBe(1)
    } else {
      expect(works, `${label}: ${l} may not log in per the state`).toEqual([])
    }
  }
  return state
}

// ---- 1. the random walk -------------------------------------------------------------

interface AppSession {
  id: number
  login: string
  pid: number
  client: pg.Client
  alive: boolean
}

interface Call {
  phase: 'setup' | 'open' | 'verify-drain' | 'close' | 'abort' | 'status'
  inputs: Record<string, string>
  runId: string
}

const RUNS = ['301', '302', '303']
const BOGUS_ID = '20200101T000000Z-000000'

describeEachServer('invariant 1, a handed-out password works at every moment', (server) => {
  it(`seeded random walk of ${STEPS} steps over every phase, re-runs and application sessions`, async () => {
    const seed = (SEED * 1000 + server.major) >>> 0
    console.log(`[invariants] PostgreSQL ${server.major}: random walk seed ${seed} (replay: INVARIANT_SEED=${SEED})`)
    const rand = prng(seed)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
    const weighted = <T extends string>(entries: [T, number][]): T => {
      const total = entries.reduce((n, [, w]) => n + w, 0)
      let x = rand() * total
      for (const [v, w] of entries) if ((x -= w) < 0) return v
      return entries[entries.length - 1][0]
    }

    const role = familyName('walk')
    const logins = loginsOf(role)
    const names = [role, ...logins]
    const handed: Pair[] = []
    const refusedChecks = new Map<Pair, number>()
    const sessions: AppSession[] = []
    const history: string[] = []
    const outcomes: Record<string, number> = {}
    let sessionSeq = 0
    let lastCall: Call | null = null
    let lastRotationId: string | null = null
    const where = (i: number) =>
      `seed ${seed} (INVARIANT_SEED=${SEED}), step ${i}; last steps:\n  ${history.slice(-8).join('\n  ')}`
    const live = (login: string) => sessions.filter((s) => s.alive && s.login === login)
    const latest = (login: string) => [...handed].reverse().find((p) => p.login === login)

    /** Waits until pg_stat_activity shows exactly the application sessions the walk holds (probe logins exit asynchronously). */
    const settle = async (i: number) => {
      const deadline = Date.now() + 5000
      for (;;) {
        const f = await readFacts(server, role, logins)
        const want = Object.fromEntries(logins.map((l) => [l, live(l).length]))
        if (logins.every((l) => f.sessions[l] === want[l])) return
        if (Date.now() > deadline)
          expect(f.sessions, `sessions in pg_stat_activity vs the walk's own, ${where(i)}`).toEqual(want)
        await new Promise((r) => setTimeout(r, 25))
      }
    }

    const waitDead = async (login: string, i: number) => {
      const deadline = Date.now() + 5000
      while (live(login).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
      expect(
        live(login).map((s) => s.id),
        `sessions of ${login} should have been terminated, ${where(i)}`,
      ).toEqual([])
    }

    const check = async (i: number) => {
      const f = await readFacts(server, role, logins)
      if (f.state === null) {
        // Before setup nothing may exist (every phase but setup refused or did nothing).
        expect(f.exists, `before setup, ${where(i)}`).toEqual(Object.fromEntries(names.map((n) => [n, false])))
        expect(handed, where(i)).toEqual([])
        return null
      }
      const state = f.state
      expect(state.tool, where(i)).toBe('pg-credential-rotation')
      expect(f.canLogin[role], `group NOLOGIN, ${where(i)}`).toBe(false)
      const expected = expectedLogins(state)
      const canLogin = logins.filter((l) => f.canLogin[l])
      expect(canLogin.sort(), `logins with LOGIN vs state ${f.comment}, ${where(i)}`).toEqual([...expected].sort())
      if (!state.rotation)
        expect(canLogin, `while no rotation is open exactly one login has LOGIN, ${where(i)}`).toHaveLength(1)

      // Every handed-out pair: works iff its login may log in per the state and it is the last one handed to that login.
      // A superseded password (a newer one was handed to the same login) can never come back: it is checked
      // at the next two steps after it was superseded, then only at the end of the walk.
      let working = 0
      for (const p of handed) {
        const superseded = latest(p.login) !== p
        if (superseded && (refusedChecks.get(p) ?? 0) >= 2 && i < STEPS - 1) continue
        const should = expected.includes(p.login) && !superseded
        const err = await loginError(server, p.login, p.password)
        if (should) expect(err, `${p.login} with the password from ${p.by} must log in, ${where(i)}`).toBeNull()
        else
          expect(
            ['28P01', '28000'],
            `${p.login} with the password from ${p.by} must be refused, ${where(i)}`,
          ).toContain(err)
        if (err === null) working++
        if (superseded) refusedChecks.set(p, (refusedChecks.get(p) ?? 0) + 1)
      }
      expect(working, `at least one handed-out pair logs in, ${where(i)}`).toBeGreaterThanOrEqual(1)
      const active = latest(state.active)
      expect(active, `a password was handed out for the active login ${state.active}, ${where(i)}`).toBeDefined()
      expect(
        await loginError(server, active!.login, active!.password),
        `the active pair logs in, ${where(i)}`,
      ).toBeNull()
      return state
    }

    const rotationIdFor = (state: StateJson | null): string => {
      const kind = weighted<'none' | 'current' | 'lastClosed' | 'lastSeen' | 'bogus'>([
        ['none', 3],
        ['current', state?.rotation ? 3 : 0],
        ['lastClosed', state?.lastClosed ? 1 : 0],
        ['lastSeen', lastRotationId ? 1 : 0],
        ['bogus', 0.5],
      ])
      if (kind === 'current') return state!.rotation!.id
      if (kind === 'lastClosed') return state!.lastClosed!.id
      if (kind === 'lastSeen') return lastRotationId!
      if (kind === 'bogus') return BOGUS_ID
      return ''
    }

    const runPhaseStep = async (i: number, call: Call, label: string) => {
      const pre = await readFacts(server, role, logins)
      const before = await snapshots(server, names)
      const outgoing = pre.state?.active ?? null
      const incoming = pre.state?.rotation?.incoming ?? null
      const liveOutgoing = outgoing ? live(outgoing).length : 0
      // "At every moment": while the phase runs, keep logging in with a handed-out pair that must stay valid
      // throughout it (and whose sessions the phase does not count): the incoming login during close and
      // verify-drain of an open rotation, else the active login.
      const probe = pre.state
        ? latest(
            pre.state.rotation && (call.phase === 'close' || call.phase === 'verify-drain')
              ? pre.state.rotation.incoming
              : pre.state.active,
          )
        : undefined
      let probing = Boolean(probe)
      const probeFailures: string[] = []
      let probes = 0
      const prober = (async () => {
        while (probing) {
          const e = await loginError(server, probe!.login, probe!.password)
          probes++
          if (e !== null) probeFailures.push(`${e} after ${probes} probes`)
        }
      })()
      let res: PhaseRun | null = null
      let err: Error | null = null
      try {
        res = await phase(server, { phase: call.phase, role, ...call.inputs }, { env: { GITHUB_RUN_ID: call.runId } })
      } catch (e) {
        err = e as Error
      } finally {
        probing = false
        await prober
      }
      if (probe) {
        expect(
          probeFailures,
          `${probe.login} with the password from ${probe.by} must log in during ${call.phase}, ${where(i)}`,
        ).toEqual([])
        expect(probes, where(i)).toBeGreaterThan(0)
      }
      const rid = call.inputs['rotation-id'] ?? ''
      const targetsOpen = Boolean(pre.state?.rotation) && (rid === '' || rid === pre.state!.rotation!.id)
      const outcome = err
        ? `failed (${err.name}: ${err.message.split('. ')[0]})`
        : res!.failure
          ? 'not drained'
          : res!.changes.length
            ? 'changed'
            : 'no change'
      history.push(`${i} ${label} ${JSON.stringify(call.inputs)} run ${call.runId} -> ${outcome}`)
      const why = err
        ? (/already open|still has|already has|does not match|No rotation is open|does not exist|not ready/.exec(
            err.message,
          )?.[0] ?? 'other')
        : ''
      const key = `${label === 're-run' ? 're-run ' : ''}${call.phase}: ${err ? `refused (${why})` : res!.failure ? 'not drained' : res!.changes.length ? 'changed' : 'no change'}`
      outcomes[key] = (outcomes[key] ?? 0) + 1

      if (err) {
        // In a sequential walk every refusal is a StateError (the family is not in a state for this phase).
        expect(err.name, `${err.message}\n${where(i)}`).toBe('StateError')
      }
      if (err || res!.failure || res!.changes.length === 0) {
        // invariant 2 inside the walk: a phase that fails, or changes nothing, leaves everything as it was
        expect(await snapshots(server, names), `unchanged after ${outcome}, ${where(i)}`).toEqual(before)
      }

      // Safety directions the walk can predict exactly.
      if (call.phase === 'open' && pre.state?.rotation && pre.state.rotation.openedBy.runId !== call.runId) {
        expect(err?.message, `open from another run while open must be refused, ${where(i)}`).toMatch(/already open/)
      }
      if (
        call.phase === 'close' &&
        targetsOpen &&
        liveOutgoing > 0 &&
        call.inputs.terminate !== 'true' &&
        call.inputs.force !== 'true'
      ) {
        expect(
          err?.message,
          `close with sessions of ${outgoing} and neither terminate nor force must be refused, ${where(i)}`,
        ).toMatch(/still has/)
      }
      if (call.phase === 'close' && targetsOpen && liveOutgoing === 0) {
        expect(err, `close of the open rotation with no sessions of ${outgoing} must succeed, ${where(i)}`).toBeNull()
      }
      if (call.phase === 'verify-drain' && targetsOpen) {
        expect(err, where(i)).toBeNull()
        expect(res!.outputs.drained, `drained iff ${outgoing} has no sessions (${liveOutgoing}), ${where(i)}`).toBe(
          liveOutgoing === 0,
        )
        expect(res!.outputs.remainingConnections, where(i)).toBe(liveOutgoing)
      }
      if (call.phase === 'setup' && pre.state)
        expect(
          res?.outputs.password,
          `setup on a set-up family never hands out a password, ${where(i)}`,
        ).toBeUndefined()

      if (res && !pre.state && call.phase !== 'setup') {
        // before setup only status and abort succeed, and they change nothing (checked above)
        expect(['status', 'abort'], `${call.phase} succeeded before setup, ${where(i)}`).toContain(call.phase)
        expect(res.changes, where(i)).toEqual([])
      } else if (res) {
        const after = (await readFacts(server, role, logins)).state!
        if (res.outputs.password) {
          expect(res.outputs.username, where(i)).toBeDefined()
          handed.push({ login: res.outputs.username!, password: res.outputs.password, by: `step ${i} ${label}` })
        }
        if (res.outputs.rotationId) lastRotationId = res.outputs.rotationId
        if (call.phase === 'open') {
          expect(after.rotation?.incoming, where(i)).toBe(res.outputs.username)
          expect(res.outputs.previousUsername, where(i)).toBe(after.active)
          expect(res.outputs.rotationId, where(i)).toBe(after.rotation?.id)
          expect(res.outputs.password, where(i)).toBeDefined()
        }
        if (call.phase === 'close' && res.changes.length) {
          expect(after.active, where(i)).toBe(incoming)
          expect(res.outputs.username, where(i)).toBe(incoming)
          expect(res.outputs.previousUsername, where(i)).toBe(outgoing)
          if (call.inputs.terminate === 'true') await waitDead(outgoing!, i)
          if (call.inputs.force === 'true' && liveOutgoing > 0) {
            // force: they keep running until they disconnect
            const s = live(outgoing!)[0]
            expect((await s.client.query('SELECT current_user AS u')).rows[0].u, where(i)).toBe(role)
          }
        }
        if (call.phase === 'abort' && res.changes.length) {
          expect(after.rotation, where(i)).toBeNull()
          expect(after.active, where(i)).toBe(outgoing)
          if (call.inputs.terminate === 'true') await waitDead(incoming!, i)
        }
        if (call.phase === 'status') {
          const st = res.status!
          expect(st.state, where(i)).toBe(after.rotation ? 'open' : 'idle')
          expect(st.active, where(i)).toBe(after.active)
          expect(st.rotation?.id ?? null, where(i)).toBe(after.rotation?.id ?? null)
          expect(st.drift, where(i)).toEqual([])
        }
        expect(res.outputs.state, where(i)).toBe(after.rotation ? 'open' : 'idle')
      }
    }

    const started = Date.now()
    try {
      for (let i = 0; i < STEPS; i++) {
        await settle(i)
        const f = await readFacts(server, role, logins)
        const state = f.state
        const open = Boolean(state?.rotation)
        const liveCount = sessions.filter((s) => s.alive).length
        const action = weighted<Call['phase'] | 'rerun' | 'connect' | 'disconnect'>(
          !state
            ? [
                ['setup', 6],
                ['open', 1],
                ['verify-drain', 1],
                ['close', 1],
                ['abort', 1],
                ['status', 1],
              ]
            : [
                ['setup', 1],
                ['open', open ? 2 : 6],
                ['verify-drain', open ? 2.5 : 1],
                ['close', open ? 4 : 1],
                ['abort', open ? 1.5 : 0.5],
                ['status', 1],
                ['rerun', lastCall ? 2 : 0],
                ['connect', liveCount < 4 ? (liveCount === 0 ? 4 : 2) : 0],
                ['disconnect', liveCount > 0 ? 2 : 0],
              ],
        )
        if (action === 'connect') {
          // The application runs on the active login; while a rotation is open, half of the new sessions use the new credentials (a deploy under way).
          const login = state!.rotation && rand() < 0.5 ? state!.rotation.incoming : state!.active
          const pair = latest(login)!
          const c = await loginAs(server, pair.login, pair.password)
          const row = (await c.query('SELECT current_user AS u, pg_backend_pid() AS pid')).rows[0]
          expect(row.u, `an application session runs as the group, ${where(i)}`).toBe(role)
          const s: AppSession = { id: ++sessionSeq, login, pid: row.pid, client: c, alive: true }
          c.on('end', () => (s.alive = false))
          c.on('error', () => (s.alive = false))
          sessions.push(s)
          history.push(`${i} app session #${s.id} as ${login}`)
        } else if (action === 'disconnect') {
          const s = pick(sessions.filter((x) => x.alive))
          await s.client.end()
          s.alive = false
          history.push(`${i} app session #${s.id} (${s.login}) ends`)
        } else if (action === 'rerun') {
          await runPhaseStep(i, lastCall!, 're-run')
        } else {
          const inputs: Record<string, string> = {}
          let runId = pick(RUNS)
          if (action === 'open' && state?.rotation && rand() < 0.5) runId = state.rotation.openedBy.runId
          if (action === 'verify-drain') Object.assign(inputs, { timeout: '300ms', interval: '100ms' })
          if (action === 'verify-drain' || action === 'close' || action === 'abort') {
            const id = rotationIdFor(state)
            if (id) inputs['rotation-id'] = id
          }
          if (action === 'close') {
            const mode = weighted<'plain' | 'terminate' | 'force'>([
              ['plain', 2],
              ['terminate', 1],
              ['force', 1],
            ])
            if (mode !== 'plain') inputs[mode] = 'true'
          }
          if (action === 'abort' && rand() < 0.4) inputs.terminate = 'true'
          const call: Call = { phase: action, inputs, runId }
          lastCall = call
          await runPhaseStep(i, call, 'run')
        }
        await settle(i)
        await check(i)
      }
    } finally {
      for (const s of sessions) if (s.alive) await s.client.end().catch(() => {})
    }
    console.log(
      `[invariants] PostgreSQL ${server.major}: ${STEPS} steps in ${Date.now() - started}ms, ${handed.length} passwords handed out; outcomes: ${Object.entries(
        outcomes,
      )
        .sort()
        .map(([k, v]) => `${k} x${v}`)
        .join(', ')}`,
    )
  }, 60_000)
})

// ---- 2. a phase that fails changes nothing --------------------------------------------

describeEachServer('invariant 2, a phase that fails leaves roles and state exactly as they were', (server) => {
  const names = (role: string) => [role, ...loginsOf(role)]

  async function opened(runId = '1') {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role }, { env: { GITHUB_RUN_ID: runId } })
    const o = await phase(server, { phase: 'open', role }, { env: { GITHUB_RUN_ID: runId } })
    return {
      role,
      old: { login: s.outputs.username!, password: s.outputs.password!, by: 'setup' },
      next: { login: o.outputs.username!, password: o.outputs.password!, by: 'open' },
      rotationId: o.outputs.rotationId!,
    }
  }

  it('open while a rotation from another run is open', async () => {
    const f = await opened('11')
    await expectRefusedUnchanged(
      server,
      names(f.role),
      () => phase(server, { phase: 'open', role: f.role }, { env: { GITHUB_RUN_ID: '12' } }),
      /already open/,
    )
    await expectConsistent(server, f.role, [f.old, f.next], 'after the refused open')
  })

  it('open re-run by the opening run once the incoming login has sessions', async () => {
    const f = await opened('13')
    const app = await loginAs(server, f.next.login, f.next.password)
    try {
      await expectRefusedUnchanged(
        server,
        names(f.role),
        () => phase(server, { phase: 'open', role: f.role }, { env: { GITHUB_RUN_ID: '13' } }),
        /already has 1 .*sessions/,
      )
    } finally {
      await app.end()
    }
  })

  it('close while the outgoing login has sessions, without terminate or force', async () => {
    const f = await opened()
    const app = await loginAs(server, f.old.login, f.old.password)
    try {
      await expectRefusedUnchanged(
        server,
        names(f.role),
        () => phase(server, { phase: 'close', role: f.role }),
        /still has 1 \(postgres: 1\) sessions/,
      )
      await expectRefusedUnchanged(
        server,
        names(f.role),
        () =>
          phase(server, {
            phase: 'close',
            role: f.role,
            'rotation-id': f.rotationId,
            terminate: 'false',
            force: 'false',
          }),
        /still has 1/,
      )
      expect((await app.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    } finally {
      await app.end()
    }
    await expectConsistent(server, f.role, [f.old, f.next], 'after the refused close')
  })

  it('open when the standby is not ready because its SET role default was removed by hand', async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${role}_b RESET role`))
    await expectRefusedUnchanged(
      server,
      names(role),
      () => phase(server, { phase: 'open', role }),
      /standby login "[^"]+_b" is not ready: its default role is not set.*Run the setup phase/,
    )
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
    expect(await loginError(server, `${role}_b`, s.outputs.password!)).not.toBeNull()
    // setup repairs it; then open works
    await phase(server, { phase: 'setup', role })
    const o = await phase(server, { phase: 'open', role })
    await expectConsistent(
      server,
      role,
      [
        { login: s.outputs.username!, password: s.outputs.password!, by: 'setup' },
        { login: o.outputs.username!, password: o.outputs.password!, by: 'open' },
      ],
      'after repair',
    )
  })

  it('open when the standby is not a member of the group any more', async () => {
    const role = familyName()
    await phase(server, { phase: 'setup', role })
    await withAdmin(server, (c) => c.query(`REVOKE ${role} FROM ${role}_b`))
    await expectRefusedUnchanged(
      server,
      names(role),
      () => phase(server, { phase: 'open', role }),
      /not ready: it is not a member/,
    )
  })

  it('verify-drain, close and abort with a wrong rotation-id', async () => {
    const f = await opened()
    const app = await loginAs(server, f.old.login, f.old.password)
    try {
      for (const p of ['verify-drain', 'close', 'abort']) {
        await expectRefusedUnchanged(
          server,
          names(f.role),
          () =>
            phase(server, {
              phase: p,
              role: f.role,
              'rotation-id': '20200101T000000Z-abcdef',
              terminate: p === 'verify-drain' ? '' : 'true',
            }),
          /rotation-id 20200101T000000Z-abcdef does not match the open rotation/,
        )
      }
      expect((await app.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    } finally {
      await app.end()
    }
    // and when idle: neither the last closed rotation nor any rotation
    await phase(server, { phase: 'close', role: f.role, 'rotation-id': f.rotationId })
    for (const p of ['verify-drain', 'close']) {
      await expectRefusedUnchanged(
        server,
        names(f.role),
        () => phase(server, { phase: p, role: f.role, 'rotation-id': '20200101T000000Z-abcdef' }),
        /No rotation is open, and rotation-id 20200101T000000Z-abcdef is not the last closed one/,
      )
      await expectRefusedUnchanged(
        server,
        names(f.role),
        () => phase(server, { phase: p, role: f.role }),
        /No rotation is open/,
      )
    }
  })

  it('setup, open and close with login-roles that do not match the state', async () => {
    const f = await opened()
    const all = [...names(f.role), `${f.role}_c`]
    for (const p of ['setup', 'open', 'verify-drain', 'close', 'abort']) {
      await expectRefusedUnchanged(
        server,
        all,
        () => phase(server, { phase: p, role: f.role, 'login-roles': `${f.role}_a,${f.role}_c` }),
        /state names the login roles .*_a, .*_b, but login-roles is .*_a, .*_c/,
      )
    }
    expect(((await snapshotRoles(server, [`${f.role}_c`])) as { roles: unknown[] }).roles).toEqual([])
    await expectConsistent(server, f.role, [f.old, f.next], 'after the refused phases')
  })

  it('open, verify-drain and close before setup', async () => {
    const role = familyName()
    for (const p of ['open', 'verify-drain', 'close']) {
      await expectRefusedUnchanged(
        server,
        names(role),
        () => phase(server, { phase: p, role }),
        /does not exist.*Run the setup phase first/,
      )
    }
    expect(await snapshotRoles(server, names(role))).toEqual({ roles: [], members: [] })
  })

  it('setup when both logins can log in and no state says which one is used', async () => {
    const role = familyName()
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${role} NOLOGIN`)
      await c.query(`CREATE ROLE ${role}_a LOGIN PASSWORD 'a-password-123456'`)
      await c.query(`CREATE ROLE ${role}_b LOGIN PASSWORD 'b-password-123456'`)
    })
    await expectRefusedUnchanged(
      server,
      names(role),
      () => phase(server, { phase: 'setup', role }),
      /Both login roles .* can log in and no rotation state is recorded/,
    )
  })

  it("open whose login check fails after its commit is undone: state comment, LOGIN, settings and memberships as before; only the standby's unused password differs (documented)", async () => {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    // A per-database setting overrides the role-wide SET role default, so the new login does not run as the group.
    await withAdmin(server, (c) => c.query(`ALTER ROLE ${role}_b IN DATABASE postgres SET role = ${role}_b`))
    const [before, fullBefore] = (await snapshots(server, names(role))) as [
      { roles: { rolname: string; rolpassword: string | null }[] },
      { roles: { r: Record<string, unknown> }[] },
    ]
    await expect(phase(server, { phase: 'open', role })).rejects.toThrow(
      /current_user is "[^"]+_b", not "[^"]+".*undone/,
    )
    const [after, fullAfter] = (await snapshots(server, names(role))) as [typeof before, typeof fullBefore]
    const standby = `${role}_b`
    const pw = (x: typeof before) => x.roles.find((r) => r.rolname === standby)!.rolpassword
    expect(pw(after)).not.toBe(pw(before)) // scrambled again: a password nobody has, like the one before
    const withoutStandbyPassword = <T extends { roles: unknown[] }>(
      x: T,
      get: (r: any) => Record<string, unknown>,
    ) => ({
      ...x,
      roles: x.roles.map((r) =>
        get(r).rolname === standby ? JSON.stringify({ ...get(r), rolpassword: null }) : JSON.stringify(r),
      ),
    })
    expect(withoutStandbyPassword(after, (r) => r)).toEqual(withoutStandbyPassword(before, (r) => r))
    expect(withoutStandbyPassword(fullAfter, (r) => r.r)).toEqual(withoutStandbyPassword(fullBefore, (r) => r.r))
    await expectConsistent(
      server,
      role,
      [{ login: s.outputs.username!, password: s.outputs.password!, by: 'setup' }],
      'after the undone open',
    )
  })

  it('a CREATEROLE admin without pg_signal_backend: close and abort with terminate: true while a session runs name pg_signal_backend and the GRANT', async () => {
    const admin = await createRoleAdmin(server)
    const role = familyName()
    const a = { 'admin-url': admin.url, role }
    const s = await phase(server, { ...a, phase: 'setup' })
    const o = await phase(server, { ...a, phase: 'open' })
    const app = await loginAs(server, s.outputs.username!, s.outputs.password!)
    const incomingApp = await loginAs(server, o.outputs.username!, o.outputs.password!)
    try {
      const everything = [...names(role), admin.name]
      const e = await expectRefusedUnchanged(
        server,
        everything,
        () => phase(server, { ...a, phase: 'close', terminate: 'true' }),
        /pg_signal_backend/,
      )
      expect(e.message).toContain(`GRANT pg_signal_backend TO "${admin.name}"`)
      expect(e.message).toMatch(/nothing was changed/)
      const e2 = await expectRefusedUnchanged(
        server,
        everything,
        () => phase(server, { ...a, phase: 'abort', terminate: 'true' }),
        /pg_signal_backend/,
      )
      expect(e2.message).toContain(`GRANT pg_signal_backend TO "${admin.name}"`)
      // nothing was terminated either
      expect((await app.query('SELECT current_user AS u')).rows[0].u).toBe(role)
      expect((await incomingApp.query('SELECT current_user AS u')).rows[0].u).toBe(role)
    } finally {
      await app.end()
      await incomingApp.end()
    }
    await expectConsistent(
      server,
      role,
      [
        { login: s.outputs.username!, password: s.outputs.password!, by: 'setup' },
        { login: o.outputs.username!, password: o.outputs.password!, by: 'open' },
      ],
      'after the refusals',
    )
  })
})

// ---- 3. two phases at the same moment ---------------------------------------------------

const REPEATS = 3

function fulfilled(r: Settled): PhaseRun | null {
  return r.status === 'fulfilled' ? r.value : null
}
function reason(r: Settled): string {
  return r.status === 'rejected' ? String((r.reason as Error)?.message ?? r.reason) : ''
}
function describeSettled(rs: Settled[]): string {
  return rs
    .map((r) =>
      r.status === 'fulfilled'
        ? `ok (${r.value.changes.length} changes${r.value.notes.length ? `; ${r.value.notes.join(' ')}` : ''})`
        : `failed: ${reason(r)}`,
    )
    .join(' | ')
}
const changed = (r: Settled) => fulfilled(r) !== null && fulfilled(r)!.changes.length > 0
const handedBy = (r: Settled, by: string): Pair[] => {
  const v = fulfilled(r)
  return v?.outputs.password ? [{ login: v.outputs.username!, password: v.outputs.password, by }] : []
}

describeEachServer('invariant 3, two phases at the same moment on one family', (server) => {
  async function idleFamily() {
    const role = familyName()
    const s = await phase(server, { phase: 'setup', role })
    return { role, setup: { login: s.outputs.username!, password: s.outputs.password!, by: 'setup' } as Pair }
  }
  async function openFamily() {
    const f = await idleFamily()
    const o = await phase(server, { phase: 'open', role: f.role }, { env: { GITHUB_RUN_ID: '900' } })
    return {
      ...f,
      open: { login: o.outputs.username!, password: o.outputs.password!, by: 'open' } as Pair,
      rotationId: o.outputs.rotationId!,
    }
  }
  const both = (a: () => Promise<PhaseRun>, b: () => Promise<PhaseRun>) => Promise.allSettled([a(), b()])

  it('(setup, setup) on a new family: the roles are created once and exactly one password is handed out', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const role = familyName()
      const rs = await both(
        () => phase(server, { phase: 'setup', role }, { env: { GITHUB_RUN_ID: '1' } }),
        () => phase(server, { phase: 'setup', role }, { env: { GITHUB_RUN_ID: '2' } }),
      )
      const label = `(setup, setup): ${describeSettled(rs)}`
      expect(
        rs.every((r) => r.status === 'fulfilled'),
        label,
      ).toBe(true)
      const handed = [...handedBy(rs[0], 'setup 1'), ...handedBy(rs[1], 'setup 2')]
      expect(handed, label).toHaveLength(1)
      expect(rs.filter(changed), label).toHaveLength(1)
      const state = await expectConsistent(server, role, handed, label)
      expect(state.rotation).toBeNull()
    }
  })

  it('(open, open) from different runs on an idle family: exactly one opens, the other fails cleanly', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const f = await idleFamily()
      const rs = await both(
        () => phase(server, { phase: 'open', role: f.role }, { env: { GITHUB_RUN_ID: '501' } }),
        () => phase(server, { phase: 'open', role: f.role }, { env: { GITHUB_RUN_ID: '502' } }),
      )
      const label = `(open, open): ${describeSettled(rs)}`
      expect(
        rs.filter((r) => r.status === 'fulfilled'),
        label,
      ).toHaveLength(1)
      const loser = rs.find((r) => r.status === 'rejected')!
      expect(reason(loser), label).toMatch(/already open/)
      const winner = fulfilled(rs.find((r) => r.status === 'fulfilled')!)!
      const state = await expectConsistent(
        server,
        f.role,
        [f.setup, ...handedBy(rs[0], 'open 501'), ...handedBy(rs[1], 'open 502')],
        label,
      )
      expect(state.rotation?.incoming, label).toBe(winner.outputs.username)
      expect(state.rotation?.id, label).toBe(winner.outputs.rotationId)
    }
  })

  it('(close, abort) on an open rotation: one of them acts, the other does nothing or fails cleanly', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const f = await openFamily()
      const rs = await both(
        () => phase(server, { phase: 'close', role: f.role }),
        () => phase(server, { phase: 'abort', role: f.role }),
      )
      const [close, abort] = rs
      const label = `(close, abort): ${describeSettled(rs)}`
      expect(rs.filter(changed), `never both applied; ${label}`).toHaveLength(1)
      const state = await expectConsistent(server, f.role, [f.setup, f.open], label)
      expect(state.rotation, label).toBeNull()
      if (changed(close)) {
        expect(state.active, label).toBe(f.open.login)
        expect(state.lastClosed?.id, label).toBe(f.rotationId)
        expect(abort.status === 'rejected' ? '' : fulfilled(abort)!.notes.join(' '), label).toMatch(
          /no rotation is open/,
        )
      } else {
        expect(state.active, label).toBe(f.setup.login)
        expect(state.lastAborted?.id, label).toBe(f.rotationId)
        expect(reason(close), label).toMatch(/No rotation is open/)
      }
    }
  })

  it('(open, abort) on an idle family: either the rotation is open, or it was aborted; never half of each', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const f = await idleFamily()
      const rs = await both(
        () => phase(server, { phase: 'open', role: f.role }, { env: { GITHUB_RUN_ID: '701' } }),
        () => phase(server, { phase: 'abort', role: f.role }, { env: { GITHUB_RUN_ID: '702' } }),
      )
      const [open, abort] = rs
      const label = `(open, abort): ${describeSettled(rs)}`
      expect(abort.status, label).toBe('fulfilled')
      const state = await expectConsistent(server, f.role, [f.setup, ...handedBy(open, 'open')], label)
      if (changed(abort)) {
        // abort ran after open committed: the rotation is gone, the active login is the old one
        expect(state.rotation, label).toBeNull()
        expect(state.active, label).toBe(f.setup.login)
        if (open.status === 'rejected')
          expect(reason(open), label).toMatch(
            /Logging in as .* failed|could not be undone|undone|was aborted or changed by another phase while open checked/,
          )
      } else {
        expect(open.status, label).toBe('fulfilled')
        expect(state.rotation?.id, label).toBe(fulfilled(open)!.outputs.rotationId)
      }
    }
  })

  it('(open, close) on an idle family: close either finds no rotation, or closes the one just opened', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const f = await idleFamily()
      const rs = await both(
        () => phase(server, { phase: 'open', role: f.role }),
        () => phase(server, { phase: 'close', role: f.role }),
      )
      const [open, close] = rs
      const label = `(open, close): ${describeSettled(rs)}`
      expect(open.status, label).toBe('fulfilled')
      const o = fulfilled(open)!
      const state = await expectConsistent(server, f.role, [f.setup, ...handedBy(open, 'open')], label)
      if (changed(close)) {
        expect(state.rotation, label).toBeNull()
        expect(state.active, label).toBe(o.outputs.username)
      } else {
        expect(reason(close), label).toMatch(/No rotation is open/)
        expect(state.rotation?.id, label).toBe(o.outputs.rotationId)
      }
    }
  })

  it('(close, close) without rotation-id: exactly one closes, the other fails cleanly', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const f = await openFamily()
      const rs = await both(
        () => phase(server, { phase: 'close', role: f.role }),
        () => phase(server, { phase: 'close', role: f.role }),
      )
      const label = `(close, close): ${describeSettled(rs)}`
      expect(rs.filter(changed), label).toHaveLength(1)
      expect(reason(rs.find((r) => !changed(r))!), label).toMatch(/No rotation is open/)
      const state = await expectConsistent(server, f.role, [f.setup, f.open], label)
      expect(state.active, label).toBe(f.open.login)
    }
  })

  it('(close, close) with the same rotation-id: one closes, the other is a no-op re-run', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const f = await openFamily()
      const rs = await both(
        () => phase(server, { phase: 'close', role: f.role, 'rotation-id': f.rotationId }),
        () => phase(server, { phase: 'close', role: f.role, 'rotation-id': f.rotationId }),
      )
      const label = `(close, close) with rotation-id: ${describeSettled(rs)}`
      expect(
        rs.every((r) => r.status === 'fulfilled'),
        label,
      ).toBe(true)
      expect(rs.filter(changed), label).toHaveLength(1)
      for (const r of rs)
        expect(fulfilled(r)!.outputs, label).toMatchObject({
          username: f.open.login,
          previousUsername: f.setup.login,
          rotationId: f.rotationId,
          state: 'idle',
        })
      const state = await expectConsistent(server, f.role, [f.setup, f.open], label)
      expect(state.active, label).toBe(f.open.login)
    }
  })

  it('(close terminate, open re-run by the opening run) while the old login has a session: whichever runs first, the old session is ended and the state stays consistent', async () => {
    for (let n = 0; n < REPEATS; n++) {
      const f = await openFamily()
      const app = await loginAs(server, f.setup.login, f.setup.password)
      let ended = false
      app.on('end', () => (ended = true))
      const rs = await both(
        () => phase(server, { phase: 'close', role: f.role, terminate: 'true' }),
        () => phase(server, { phase: 'open', role: f.role, force: 'true' }, { env: { GITHUB_RUN_ID: '900' } }),
      )
      const [close, reopen] = rs
      const label = `(close terminate, open re-run): ${describeSettled(rs)}`
      expect(close.status, label).toBe('fulfilled')
      const handed = [f.setup, f.open, ...handedBy(reopen, 'open re-run')]
      const state = await expectConsistent(server, f.role, handed, label)
      expect(state.active, label).toBe(f.open.login)
      if (reopen.status === 'rejected')
        expect(reason(reopen), label).toMatch(
          /already open|No rotation|Logging in as|undone|changed meanwhile|aborted or changed by another phase/,
        )
      const deadline = Date.now() + 5000
      while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
      expect(ended, `the old login's session was terminated; ${label}`).toBe(true)
      await app.end().catch(() => {})
    }
  })
})
