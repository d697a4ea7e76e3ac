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
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { connectClient } from './pg-client.mjs'
import { freePort } from './embedded-postgres.mjs'

/** The pgbouncer binary, or null when it is not installed. */
export function pgbouncerBinary() {
  // PGBOUNCER=none: behave as where it is not installed (to check that the tests skip cleanly).
  if (process.env.PGBOUNCER === 'none') return null
  const candidates = [
    process.env.PGBOUNCER,
    '/usr/sbin/pgbouncer',
    '/usr/bin/pgbouncer',
    '/usr/local/bin/pgbouncer',
    '/usr/local/sbin/pgbouncer',
  ]
  for (const c of candidates) if (c && existsSync(c)) return c
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

/** Why pooler tests are skipped here, or null when they can run. */
export function pgbouncerMissing() {
  if (pgbouncerBinary()) return null
  return 'PgBouncer is not installed (apt-get install -y pgbouncer, or set PGBOUNCER=/path/to/pgbouncer): the pooler tests are skipped'
}

let seq = 0

/**
 * @param {{ host: string, port: number, url: string }} server
 * @param {{ poolMode?: string, settings?: Record<string, string>, databases?: string[] }} [opts]
 */
export async function startPgBouncer(server, opts = {}) {
  const bin = pgbouncerBinary()
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
    `auth_user = ${authUser}`,
    `auth_query = SELECT usename, passwd FROM public.${fn}($1)`,
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
  writeFileSync(
    join(root, 'userlist.txt'),
    [`"${authUser}" "${authPassword}"`, `"pgb_admin" "${adminPassword}"`, `"pgb_stats" "${statsPassword}"`, ''].join(
      '\n',
    ),
    { mode: 0o600 },
  )
  const asRoot = process.getuid?.() === 0
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
      await c.query(`DROP FUNCTION IF EXISTS public.${fn}(text)`).catch(() => {})
      await c.query(`DROP ROLE IF EXISTS ${authUser}`).catch(() => {})
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
