// @ts-check
/**
 * `npm run demo`: two zero-downtime credential rotations against a real,
 * embedded PostgreSQL (no Docker, no installed server), while the stand-in
 * application of the load tests (test/load/app.mjs: a pool of 50 connections,
 * each running a short query and a write every 40 ms, connections recycled
 * every 3 s) keeps working. Every phase runs the committed bundle dist/index.js
 * exactly as the GitHub runner would; between open and verify-drain a "deploy"
 * hands the application the new database-url.
 *
 *   PG_MAJOR=14 npm run demo    # choose the server major (default: newest installed)
 *
 * Exits non-zero if any application query failed, any connection attempt
 * failed, any phase failed, or a final check failed. Passwords are never
 * printed in clear.
 */
import pg from 'pg'
import { startApp } from '../test/load/app.mjs'
import { installedMajors, startEmbedded } from './lib/embedded-postgres.mjs'
import { runAction } from './lib/run-action.mjs'

const GROUP = 'app'
const SCHEMA = 'app' // the application creates and writes into this schema, with its own login
const WORKERS = 50 // pool size of the stand-in app, one worker per connection
const TICK_MS = 40 // each worker: a short query and an insert every ~40 ms
const RECYCLE_SECONDS = 3 // pool connections are replaced every ~3 s
const GRACE_MS = 500 // a deploy ends the old pool this long after moving traffic, at the earliest
const ROTATIONS = 2
const WATCHDOG_MS = 120_000

const t0 = performance.now()
const t0Wall = Date.now()
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1) + 's'
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

/** "abc…(32 chars)": enough to tell passwords apart, never the password. */
const maskSecret = (/** @type {string | undefined} */ s) => (s ? `${s.slice(0, 3)}…(${s.length} chars)` : '(none)')

/** @type {string[]} every secret seen so far; removed from anything printed from the action. */
const secrets = []
const redact = (/** @type {string} */ text) =>
  secrets.filter((s) => s.length >= 6).reduce((t, s) => t.split(s).join('***'), text)

// A hard stop in case anything hangs; the embedded server is killed on process exit.
setTimeout(() => {
  console.error(`\ndemo: watchdog: still running after ${WATCHDOG_MS / 1000}s, giving up`)
  process.exit(2)
}, WATCHDOG_MS).unref()

// ---- the stand-in application ----------------------------------------------------

/** @typedef {import('../test/load/app.mjs').App} App */

/** @type {Promise<void> | null} */
let appStopped = null
/** Stops the app's workers and ends its pools, once; later calls wait for the same stop. @param {App | null} app */
function stopApp(app) {
  if (!app) return Promise.resolve()
  return (appStopped ??= app.stop())
}

/** @template T @param {Promise<T>} p @param {number} ms @param {string} what */
function withTimeout(p, ms, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let t
  const timeout = new Promise(
    (_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)),
  )
  return Promise.race([p, timeout]).finally(() => clearTimeout(t))
}

// ---- admin-side observation --------------------------------------------------------

/** @param {pg.Client} admin @param {string[]} logins */
async function sessionsPerLogin(admin, logins) {
  const { rows } = await admin.query(
    'SELECT usename, count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1::text[]) GROUP BY 1',
    [logins],
  )
  return logins.map((l) => `${l}=${rows.find((r) => r.usename === l)?.n ?? 0}`).join(' ')
}

/** Tries to log in: ok and current_user, or the error (code and message). */
async function tryLogin(
  /** @type {{ host: string, port: number }} */ server,
  /** @type {string} */ user,
  /** @type {string} */ password,
) {
  const c = new pg.Client({
    host: server.host,
    port: server.port,
    database: 'postgres',
    user,
    password,
    connectionTimeoutMillis: 5000,
  })
  c.on('error', () => {})
  try {
    await c.connect()
    const { rows } = await c.query('SELECT current_user AS cu')
    return { ok: true, detail: `current_user ${rows[0].cu}`, currentUser: rows[0].cu }
  } catch (e) {
    const err = /** @type {{ code?: string, message: string }} */ (e)
    return { ok: false, detail: `${err.code ?? ''} ${redact(err.message)}`.trim(), currentUser: null }
  } finally {
    await c.end().catch(() => {})
  }
}

// ---- running phases ------------------------------------------------------------------

class PhaseFailed extends Error {}

/**
 * Runs one phase through the bundle; throws PhaseFailed (with the action's error
 * messages, secrets removed) when it exits non-zero.
 * @param {string} phase @param {Record<string, string>} inputs
 */
async function phase(phase, inputs) {
  const r = await runAction({ phase, role: GROUP, ...inputs })
  secrets.push(...r.masks)
  if (r.code !== 0) {
    const errors = [...r.stdout.matchAll(/^::error::(.*)$/gm)].map((m) => m[1])
    const detail = errors.length
      ? errors.join('\n    ')
      : (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join('\n    ')
    throw new PhaseFailed(`phase ${phase} exited with ${r.code} after ${Math.round(r.ms)} ms:\n    ${redact(detail)}`)
  }
  // The runner hides what the action masked; check that it masked what it issued.
  for (const name of ['password', 'database-url']) {
    const v = r.outputs[name]
    if (v && !r.masks.includes(v)) throw new PhaseFailed(`phase ${phase}: output ${name} was not masked`)
  }
  if (r.outputs.password) {
    const unmasked = r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .some((l) => l.includes(r.outputs.password))
    if (unmasked || r.summary.includes(r.outputs.password))
      throw new PhaseFailed(`phase ${phase}: the password appears in the log or summary`)
  }
  return r
}

/** The statements of the summary's "What changed" block. */
function whatChanged(/** @type {string} */ summary) {
  const m = /<summary>What changed<\/summary>\s*```sql\n([\s\S]*?)```/.exec(summary)
  return m ? m[1].split('\n').filter(Boolean) : []
}

const short = (/** @type {string} */ s, n = 96) => (s.length > n ? s.slice(0, n - 1) + '…' : s)

// ---- timeline ------------------------------------------------------------------------------

/** @type {[string, number][]} */
const COLS = [
  ['rot', 3],
  ['step', 14],
  ['elapsed', 7],
  ['took', 8],
  ['queries ok', 10],
  ['failed', 6],
  ['sessions per login', 18],
  ['detail', 0],
]
const row = (/** @type {string[]} */ cells) =>
  cells
    .map((c, i) => (COLS[i][1] ? (i >= 2 && i <= 5 ? c.padStart(COLS[i][1]) : c.padEnd(COLS[i][1])) : c))
    .join('  ')
    .trimEnd()

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const installed = installedMajors()
  if (!installed.length)
    throw new Error('no PostgreSQL binaries installed (npm packages postgres-bin-<major>); run npm ci')
  const major = process.env.PG_MAJOR ? Number(process.env.PG_MAJOR) : Math.max(...installed)
  if (!installed.includes(major))
    throw new Error(`PG_MAJOR=${process.env.PG_MAJOR} is not installed; installed majors: ${installed.join(', ')}`)

  /** @type {Awaited<ReturnType<typeof startEmbedded>> | null} */
  let server = null
  /** @type {pg.Client | null} */
  let admin = null
  /** @type {App | null} */
  let app = null
  /** @type {string[]} */
  const problems = []
  let phasesRun = 0
  let totalsPrinted = false

  const onSignal = (/** @type {string} */ sig) => {
    console.error(`\ndemo: ${sig}, stopping`)
    Promise.allSettled([stopApp(app), admin?.end(), server?.stop()]).finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    server = await startEmbedded(major)
    secrets.push(server.password)
    console.log(
      `pg-credential-rotation demo: ${server.version.replace(/^postgres \(PostgreSQL\)/, 'PostgreSQL')}, embedded on ${server.host}:${server.port}`,
    )
    admin = new pg.Client({ connectionString: server.url, application_name: 'demo-admin' })
    admin.on('error', () => {})
    await admin.connect()

    // 1. setup
    const s = await phase('setup', { 'admin-url': server.url })
    phasesRun++
    const firstLogin = s.outputs.username
    const firstPassword = s.outputs.password
    if (!firstPassword || !s.outputs['database-url'])
      throw new PhaseFailed('setup did not issue a password and a database-url')
    console.log(
      `setup: ${firstLogin} active, state ${s.outputs.state}, password ${maskSecret(firstPassword)}, ${Math.round(s.ms)} ms; what changed:`,
    )
    for (const stmt of whatChanged(s.summary)) console.log(`  ${short(stmt)}`)

    // 2. the stand-in app (test/load/app.mjs): it creates its schema and tables itself, as the group
    await admin.query(`GRANT CREATE ON DATABASE postgres TO ${GROUP}`)
    app = await startApp({
      host: server.host,
      port: server.port,
      credentials: { url: s.outputs['database-url'] },
      group: GROUP,
      schema: SCHEMA,
      workers: WORKERS,
      tickMs: TICK_MS,
      maxLifetimeSeconds: RECYCLE_SECONDS,
      graceMs: GRACE_MS,
      applicationName: 'demo-app',
      secrets,
    })
    console.log(
      `app (test/load/app.mjs): pool of ${WORKERS} connections as ${app.user}, each worker a SELECT and an INSERT into ${SCHEMA}.events every ~${TICK_MS} ms, connections recycled every ${RECYCLE_SECONDS}s`,
    )
    console.log()

    const logins = [`${GROUP}_a`, `${GROUP}_b`]
    const a = app
    const line = async (
      /** @type {string} */ n,
      /** @type {string} */ name,
      /** @type {number} */ ms,
      /** @type {string} */ detail,
    ) => {
      const st = a.stats()
      console.log(
        row([
          n,
          name,
          elapsed(),
          `${Math.round(ms)}ms`,
          String(st.ok),
          String(st.failed),
          await sessionsPerLogin(/** @type {pg.Client} */ (admin), logins),
          detail,
        ]),
      )
    }

    console.log(
      "Columns: rot = rotation number (0: setup); step = the action's phase, or (deploy), the step your workflow runs",
    )
    console.log(
      'between open and verify-drain (not a phase of the action); elapsed = time since the demo started; took = how long',
    )
    console.log(
      "the step ran; queries ok / failed = the application's queries so far; sessions per login = its connections now.",
    )
    console.log()
    console.log(row(COLS.map((c) => c[0])))
    console.log(row(COLS.map((c) => '-'.repeat(Math.max(c[1], c[0].length)))))
    await line('0', 'setup', s.ms, `${firstLogin} active, app running on it`)
    await sleep(1000)

    /** @type {{ user: string, password: string }} */
    let current = { user: firstLogin, password: firstPassword }
    /** @type {{ user: string, password: string } | null} the credentials that the last close retired */
    let retired = null
    for (let n = 1; n <= ROTATIONS; n++) {
      const o = await phase('open', { 'admin-url': server.url })
      phasesRun++
      const id = o.outputs['rotation-id']
      if (
        o.outputs.state !== 'open' ||
        !o.outputs.password ||
        !o.outputs['database-url'] ||
        o.outputs['previous-username'] !== current.user
      ) {
        throw new PhaseFailed(
          `open: unexpected outputs (state ${o.outputs.state}, previous-username ${o.outputs['previous-username']})`,
        )
      }
      await line(
        String(n),
        'open',
        o.ms,
        `${o.outputs.username} can log in, password ${maskSecret(o.outputs.password)}, rotation ${id}`,
      )
      await sleep(1500) // both logins work now; the app still runs on the old one

      const d0 = performance.now()
      const previous = current
      current = { user: o.outputs.username, password: o.outputs.password }
      /** @type {Awaited<ReturnType<App['deploy']>>} */
      let deployed
      try {
        deployed = await app.deploy({ url: o.outputs['database-url'] })
      } catch (e) {
        throw new PhaseFailed(`deploy of ${current.user}: ${redact(/** @type {Error} */ (e).message)}`)
      }
      const deployMs = performance.now() - d0
      await line(
        String(n),
        '(deploy)',
        deployMs,
        `release ${deployed.version} ready (probe + migration as ${deployed.user}), traffic on ${deployed.user}; old pool ends once drained`,
      )

      const v = await phase('verify-drain', {
        'admin-url': server.url,
        'rotation-id': id,
        interval: '200ms',
        timeout: '60s',
        'min-new-connections': '1',
      })
      phasesRun++
      await withTimeout(deployed.retired, 15_000, `ending the pool of ${previous.user}`)
      const polls = /Drained after [^(]*\((\d+) polls?\)/.exec(v.summary)?.[1] ?? '?'
      const d = app.stats().deploys.find((x) => x.version === deployed.version)
      const endedAfter = d?.oldEndedAt ? `; old pool ended ${d.oldEndedAt - d.at} ms after the swap` : ''
      await line(
        String(n),
        'verify-drain',
        v.ms,
        `drained=${v.outputs.drained} after ${polls} poll(s), ${v.outputs['remaining-connections']} sessions of ${v.outputs['previous-username']} left${endedAfter}`,
      )

      const c = await phase('close', { 'admin-url': server.url, 'rotation-id': id })
      phasesRun++
      retired = previous
      await line(
        String(n),
        'close',
        c.ms,
        `${c.outputs['previous-username']} NOLOGIN, ${c.outputs.username} active, state ${c.outputs.state}`,
      )
      await sleep(1000) // the app keeps running (and recycling connections) on the new login
    }

    // 5. totals and checks
    const stopAt = Date.now()
    await withTimeout(stopApp(app), 15_000, 'stopping the app')
    const st = app.stats()
    // Queries per second over the full seconds of load only (the first and last are partial).
    const startedAt = app.startedAt
    const full = st.perSecond.filter((b) => b.second >= 1 && startedAt + (b.second + 1) * 1000 <= stopAt)
    /** The demo-time span of one of the app's seconds. */
    const span = (/** @type {number} */ second) => {
      const from = (startedAt - t0Wall) / 1000 + second
      return `${from.toFixed(1)}s-${(from + 1).toFixed(1)}s`
    }
    const peak = full.reduce((m, b) => (b.ok > m.ok ? b : m), full[0])
    const lowest = full.reduce((m, b) => (b.ok < m.ok ? b : m), full[0])
    const swaps = st.deploys.map((d) => d.at)
    const connectFailedAfterSwap = st.connectFailures.filter((f) => swaps.some((t) => f.at >= t)).length
    const events = (
      await admin.query(
        `SELECT login, count(*)::int AS n FROM ${pg.escapeIdentifier(SCHEMA)}.events GROUP BY 1 ORDER BY 1`,
      )
    ).rows
    console.log()
    console.log(
      `totals: ${ROTATIONS} rotations, ${phasesRun} phases, ${elapsed()}; queries ok ${st.ok}, failed ${st.failed}; failed connection attempts ${st.connectFailed} (${connectFailedAfterSwap} after a swap)`,
    )
    if (full.length) {
      console.log(
        `  queries per second over ${full.length} full seconds: peak ${peak.ok} (${span(peak.second)}), lowest ${lowest.ok} (${span(lowest.second)})`,
      )
    }
    console.log(
      `  app connections opened: ${Object.entries(st.connects)
        .map(([l, k]) => `${l}=${k}`)
        .join(' ')}; queries per login: ${Object.entries(st.okBy)
        .map(([l, k]) => `${l}=${k}`)
        .join(' ')}`,
    )
    console.log(
      `  events written: ${events.map((r) => `${r.login}=${r.n}`).join(' ')}; idle-connection errors ${st.idleErrors}`,
    )
    for (const e of st.errors.slice(0, 10)) console.log(`  error: ${e}`)
    for (const f of st.connectFailures.slice(0, 5))
      console.log(
        `  failed connection attempt: ${((f.at - t0Wall) / 1000).toFixed(2)}s as ${f.user}: ${redact(f.message)}`,
      )
    totalsPrinted = true
    if (st.failed) problems.push(`${st.failed} application queries failed`)
    if (st.connectFailed)
      problems.push(`${st.connectFailed} connection attempts failed (${connectFailedAfterSwap} after a swap)`)
    if (st.idleErrors) problems.push(`${st.idleErrors} idle application connections were dropped by the server`)

    /** @type {[string, boolean, string][]} */
    const checks = []
    const old = await tryLogin(server, firstLogin, firstPassword)
    checks.push([`first password of ${firstLogin} no longer logs in`, !old.ok, old.detail])
    if (retired && retired.user !== firstLogin) {
      const r = await tryLogin(server, retired.user, retired.password)
      checks.push([`last password of ${retired.user} (closed) no longer logs in`, !r.ok, r.detail])
    }
    const now = await tryLogin(server, current.user, current.password)
    checks.push([`current password of ${current.user} logs in`, now.ok && now.currentUser === GROUP, now.detail])
    // Everything the application created, with either login: its schema, tables, indexes, views, sequences, types, functions.
    const objects = /** @type {{ kind: string, name: string, owner: string }[]} */ (
      (
        await admin.query(
          `SELECT 'schema' AS kind, nspname AS name, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1
           UNION ALL
           SELECT 'relation', relname, pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = $1::regnamespace
           UNION ALL
           SELECT 'function', proname, pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = $1::regnamespace
           UNION ALL
           SELECT 'type', typname, pg_get_userbyid(typowner) FROM pg_type WHERE typnamespace = $1::regnamespace`,
          [SCHEMA],
        )
      ).rows
    )
    const foreign = objects.filter((x) => x.owner !== GROUP)
    const hasEvents = objects.some((x) => x.kind === 'relation' && x.name === 'events')
    checks.push([
      `every object the app created in schema ${SCHEMA} is owned by ${GROUP}`,
      hasEvents && foreign.length === 0,
      !hasEvents
        ? `no ${SCHEMA}.events table`
        : foreign.length
          ? `not owned by ${GROUP}: ${foreign.map((x) => `${x.kind} ${x.name} (${x.owner})`).join(', ')}`
          : `${objects.length} objects`,
    ])
    const writers = events.filter((r) => r.n > 0).map((r) => r.login)
    checks.push(['both logins wrote events', logins.every((l) => writers.includes(l)), writers.join(', ') || 'none'])
    checks.push([
      'every full second served queries',
      full.length > 0 && lowest.ok > 0,
      full.length ? `lowest ${lowest.ok}/s` : 'no full second of load',
    ])
    console.log('checks:')
    for (const [what, passed, detail] of checks) {
      console.log(`  ${passed ? 'ok  ' : 'FAIL'} ${what} (${detail})`)
      if (!passed) problems.push(`check failed: ${what}`)
    }
  } catch (e) {
    problems.push(
      e instanceof PhaseFailed
        ? e.message
        : `demo error: ${redact(e instanceof Error ? (e.stack ?? e.message) : String(e))}`,
    )
  } finally {
    for (const [what, stop] of /** @type {[string, () => Promise<unknown>][]} */ ([
      ['app', () => stopApp(app)],
      ['admin connection', async () => admin?.end()],
      ['server', async () => server?.stop()],
    ])) {
      try {
        await withTimeout(stop(), 15_000, what)
      } catch (e) {
        problems.push(`stopping the ${what}: ${/** @type {Error} */ (e).message}`)
      }
    }
  }

  if (app && !totalsPrinted) {
    const st = app.stats()
    console.log(
      `\ntotals so far: ${phasesRun} phases, ${elapsed()}; queries ok ${st.ok}, failed ${st.failed}; failed connection attempts ${st.connectFailed}`,
    )
    for (const e of st.errors.slice(0, 10)) console.log(`  error: ${e}`)
    if (st.failed) problems.push(`${st.failed} application queries failed`)
    if (st.connectFailed) problems.push(`${st.connectFailed} connection attempts failed`)
    if (st.idleErrors) problems.push(`${st.idleErrors} idle application connections were dropped by the server`)
  }
  if (problems.length) {
    console.log(`\nFAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    return 1
  }
  console.log(
    `\nOK: ${ROTATIONS} rotations under a ${WORKERS}-connection load without a failed query or connection attempt; server stopped.`,
  )
  return 0
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`demo: ${redact(e instanceof Error ? e.message : String(e))}`)
    process.exit(1)
  },
)
