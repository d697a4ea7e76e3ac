// @ts-check
/**
 * A real PgBouncer in front of a test server, one per test file (or per test).
 * Debian's `pgbouncer` package installs it at /usr/sbin/pgbouncer (often not
 * on PATH); PGBOUNCER=/path/to/pgbouncer overrides, and PGBOUNCER=none
 * pretends it is absent. It refuses to run as root, so as root it runs with
 * `-u postgres` (the user the PostgreSQL harness creates) from a temporary
 * directory that user owns.
 *
 * Application logins authenticate through `auth_query` against a SECURITY
 * DEFINER function that returns only roles that can log in (what
 * docs/poolers.md recommends), so a login the action disables stops logging in
 * to PgBouncer at once. The console users (an admin and a stats user) and the
 * auth_query user are in the auth_file, with plaintext passwords.
 *
 * With `authFile: true` there is no auth_query: application logins are known
 * only by the lines a test writes with writeUserlist (the action's
 * pgbouncer-userlist output: SCRAM verifiers, so PgBouncer logs in to the
 * server by SCRAM pass-through), applied with reload().
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { connectClient } from './pg-client.mjs'
import { freePort } from './embedded-postgres.mjs'

/** The pgbouncer binary, or null when it is not installed (the first of pgbouncerBinaries()). */
export function pgbouncerBinary() {
  return pgbouncerBinaries()[0]?.bin ?? null
}

/** @type {{ bin: string, version: string }[] | undefined} */
let found

/**
 * Every distinct PgBouncer installed here, oldest first, each with its `--version`:
 * PGBOUNCER (a path, or several separated by ':'; `none` pretends none is installed),
 * Debian's package (/usr/sbin/pgbouncer, 1.18 on bookworm), one on PATH, and the
 * current release that scripts/build-pgbouncer.sh builds (PGBOUNCER_CURRENT, default
 * /var/cache/pgbouncer-<version>/pgbouncer), which has KILL_CLIENT (1.24+). The
 * pooler tests run against each, so both the paths that need KILL_CLIENT and the
 * refusals where a pooler lacks it are exercised.
 */
export function pgbouncerBinaries() {
  if (found) return found
  // PGBOUNCER=none: behave as where it is not installed (to check that the tests skip cleanly).
  if (process.env.PGBOUNCER === 'none') return (found = [])
  const candidates = process.env.PGBOUNCER
    ? process.env.PGBOUNCER.split(':')
    : [
        '/usr/sbin/pgbouncer',
        '/usr/bin/pgbouncer',
        '/usr/local/bin/pgbouncer',
        '/usr/local/sbin/pgbouncer',
        onPath(),
        process.env.PGBOUNCER_CURRENT,
        ...builtBinaries(),
      ]
  /** @type {{ bin: string, version: string }[]} */
  const out = []
  for (const c of candidates) {
    if (!c || !existsSync(c)) continue
    const version = versionOf(c)
    if (version && !out.some((b) => b.version === version)) out.push({ bin: c, version })
  }
  out.sort((a, b) => compareVersions(a.version, b.version))
  return (found = out)
}

/** @returns {string | null} */
function onPath() {
  try {
    return (
      execFileSync('sh', ['-c', 'command -v pgbouncer'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() || null
    )
  } catch {
    return null
  }
}

/** Binaries built by scripts/build-pgbouncer.sh into its default destination. */
function builtBinaries() {
  try {
    return readdirSync('/var/cache')
      .filter((d) => /^pgbouncer-\d+\.\d+\.\d+$/.test(d))
      .map((d) => join('/var/cache', d, 'pgbouncer'))
  } catch {
    return []
  }
}

/** "PgBouncer 1.25.2" from `pgbouncer --version`, or null when it does not run. @param {string} bin */
function versionOf(bin) {
  try {
    const out = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
    const m = /PgBouncer\s+(\d+\.\d+\.\d+)/i.exec(out)
    return m ? `PgBouncer ${m[1]}` : null
  } catch {
    return null
  }
}

/** @param {string} a @param {string} b */
function compareVersions(a, b) {
  const n = (/** @type {string} */ v) => (v.match(/\d+/g) ?? []).map(Number)
  const [x, y] = [n(a), n(b)]
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  return 0
}

/** True when this PgBouncer has KILL_CLIENT (1.24+). @param {string} version "PgBouncer 1.25.2" */
export function hasKillClient(version) {
  return compareVersions(version, 'PgBouncer 1.24.0') >= 0
}

/**
 * The (server, PgBouncer) pairs the pooler tests run on: every server behind the
 * newest PgBouncer installed, and the oldest and newest server behind each older
 * one (so each major runs once, and each PgBouncer on both ends of the range).
 * @template {{ major: number }} S
 * @param {S[]} servers
 * @returns {{ server: S, bin: string, version: string, killClient: boolean }[]}
 */
export function poolerPairs(servers) {
  const bins = pgbouncerBinaries()
  if (bins.length === 0) return []
  const newest = bins[bins.length - 1]
  const ends = [...new Set([servers[0], servers[servers.length - 1]])].filter(Boolean)
  return [
    ...bins.slice(0, -1).flatMap((b) => ends.map((server) => ({ server, ...b }))),
    ...servers.map((server) => ({ server, ...newest })),
  ].map((p) => ({ ...p, killClient: hasKillClient(p.version) }))
}

/** Why pooler tests are skipped here, or null when they can run. */
export function pgbouncerMissing() {
  if (pgbouncerBinary()) return null
  return 'PgBouncer is not installed (apt-get install -y pgbouncer, or set PGBOUNCER=/path/to/pgbouncer): the pooler tests are skipped'
}

let seq = 0

/**
 * @param {{ host: string, port: number, url: string }} server
 * @param {{ poolMode?: string, settings?: Record<string, string>, databases?: string[], bin?: string, authFile?: boolean }} [opts]
 */
export async function startPgBouncer(server, opts = {}) {
  const bin = opts.bin ?? pgbouncerBinary()
  if (!bin) throw new Error(String(pgbouncerMissing()))
  const root = mkdtempSync(join(tmpdir(), 'pgbouncer-'))
  const port = await freePort()
  const tag = `${process.pid}_${++seq}_${randomBytes(3).toString('hex')}`
  const authUser = `pgb_auth_${tag}`
  const authPassword = randomBytes(12).toString('hex')
  const adminPassword = randomBytes(12).toString('hex')
  const statsPassword = randomBytes(12).toString('hex')
  const fn = `pgbouncer_get_auth_${tag}`

  // The lookup function: SECURITY DEFINER, pinned search_path, only roles that can log in (and never a superuser).
  if (!opts.authFile) {
    const admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    try {
      await admin.query(`CREATE ROLE ${authUser} LOGIN PASSWORD '${authPassword}'`)
      await admin.query(`CREATE FUNCTION public.${fn}(p_usename text) RETURNS TABLE (usename name, passwd text)
      LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
      $$ SELECT rolname, rolpassword FROM pg_catalog.pg_authid
          WHERE rolname = p_usename AND rolcanlogin AND NOT rolsuper
            AND (rolvaliduntil IS NULL OR rolvaliduntil > now()) $$`)
      await admin.query(`REVOKE ALL ON FUNCTION public.${fn}(text) FROM PUBLIC`)
      await admin.query(`GRANT EXECUTE ON FUNCTION public.${fn}(text) TO ${authUser}`)
    } finally {
      await admin.end()
    }
  }

  const logFile = join(root, 'pgbouncer.log')
  const ini = [
    '[databases]',
    ...(opts.databases ?? []),
    `* = host=${server.host} port=${server.port}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    `unix_socket_dir = ${root}`,
    'auth_type = scram-sha-256',
    `auth_file = ${join(root, 'userlist.txt')}`,
    ...(opts.authFile ? [] : [`auth_user = ${authUser}`, `auth_query = SELECT usename, passwd FROM public.${fn}($1)`]),
    `pool_mode = ${opts.poolMode ?? 'transaction'}`,
    'admin_users = pgb_admin',
    'stats_users = pgb_stats',
    `logfile = ${logFile}`,
    `pidfile = ${join(root, 'pgbouncer.pid')}`,
    'max_client_conn = 1000',
    'default_pool_size = 20',
    'server_idle_timeout = 600',
    'ignore_startup_parameters = extra_float_digits,options',
    ...Object.entries(opts.settings ?? {}).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n')
  writeFileSync(join(root, 'pgbouncer.ini'), ini)
  const asRoot = process.getuid?.() === 0
  const consoleLines = [`"pgb_admin" "${adminPassword}"`, `"pgb_stats" "${statsPassword}"`]
  if (!opts.authFile) consoleLines.unshift(`"${authUser}" "${authPassword}"`)
  /** @param {string} lines */
  const writeUserlist = (lines) => {
    const file = join(root, 'userlist.txt')
    writeFileSync(file, [...consoleLines, ...(lines ? [lines] : []), ''].join('\n'), { mode: 0o600 })
    if (asRoot) execFileSync('chown', ['postgres:', file])
  }
  writeUserlist('')
  if (asRoot) execFileSync('chown', ['-R', 'postgres:', root])

  const child = spawn(bin, [...(asRoot ? ['-u', 'postgres'] : []), join(root, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (/** @type {Buffer} */ d) => (stderr += d))
  /** @type {Promise<never>} */
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) =>
      reject(
        new Error(
          `pgbouncer exited with ${code}: ${stderr}${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`,
        ),
      ),
    ),
  )
  exited.catch(() => {})

  const adminUrl = `postgresql://pgb_admin:${adminPassword}@127.0.0.1:${port}/pgbouncer`
  const statsUrl = `postgresql://pgb_stats:${statsPassword}@127.0.0.1:${port}/pgbouncer`
  /** @param {string} command @returns {Promise<Record<string, unknown>[]>} */
  const runConsole = async (command) => {
    const c = new pg.Client({ connectionString: adminUrl })
    c.on('error', () => {})
    await c.connect()
    try {
      return (await c.query(command)).rows
    } finally {
      await c.end().catch(() => {})
    }
  }
  await Promise.race([waitReady(runConsole), exited])
  const version = String((await runConsole('SHOW VERSION'))[0]?.version ?? '')

  return {
    host: '127.0.0.1',
    port,
    version,
    logFile,
    adminUrl,
    statsUrl,
    statsPassword,
    console: runConsole,
    writeUserlist,
    async reload() {
      await runConsole('RELOAD')
    },
    /** @param {string} user @param {string} password */
    async connect(user, password, applicationName = 'pooled-app') {
      return connectClient({
        host: '127.0.0.1',
        port,
        user,
        password,
        database: 'postgres',
        application_name: applicationName,
      })
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r))
        child.kill('SIGQUIT') // immediate shutdown
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await gone
        clearTimeout(t)
      }
      rmSync(root, { recursive: true, force: true })
      const c = new pg.Client({ connectionString: server.url })
      c.on('error', () => {})
      await c.connect().catch(() => {})
      if (!opts.authFile) {
        await c.query(`DROP FUNCTION IF EXISTS public.${fn}(text)`).catch(() => {})
        await c.query(`DROP ROLE IF EXISTS ${authUser}`).catch(() => {})
      }
      await c.end().catch(() => {})
    },
  }
}

/** @param {(c: string) => Promise<unknown>} run */
async function waitReady(run, limitMs = 15_000) {
  const end = Date.now() + limitMs
  for (;;) {
    try {
      await run('SHOW VERSION')
      return
    } catch (e) {
      if (Date.now() > end) throw e
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}
