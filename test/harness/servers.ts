/**
 * Gives the test run its PostgreSQL servers, one per major, started once per run:
 *  1. PG_TEST_URL (a superuser URI): that one server;
 *  2. else testcontainers, when a container runtime answers (postgres:<major> images);
 *  3. else the embedded binaries shipped in npm packages (what runs on machines without Docker).
 * PG_MAJORS (e.g. "14,18") narrows the majors; PG_TEST_DRIVER=embedded|testcontainers forces a driver.
 */
import pg from 'pg'
import { installedMajors, MAJORS, startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'

export interface TestServer {
  major: number
  version: string
  url: string
  host: string
  port: number
  /** The admin (superuser) password inside url. */
  password: string
  /** How the server was provided: url, testcontainers or embedded. */
  driver: string
  /** Path of the server log, when the harness owns the server. */
  logFile?: string
  /** The container's id (testcontainers): its log and processes are reached through the container runtime. */
  containerId?: string
}

/** An embedded server (ours, or one a test started itself) as the tests address it. */
export function embeddedTestServer(s: EmbeddedServer): TestServer {
  return {
    major: s.major,
    version: s.version,
    url: s.url,
    host: s.host,
    port: s.port,
    password: s.password,
    driver: 'embedded',
    logFile: s.logFile,
  }
}

export interface ServerSet {
  servers: TestServer[]
  stop(): Promise<void>
  /** Restart one server (embedded only); used by fault tests. */
  restart?(major: number): Promise<void>
}

export function wantedMajors(): number[] {
  const env = process.env.PG_MAJORS?.trim()
  if (!env) return [...MAJORS]
  return env
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n))
}

export async function provideServers(): Promise<ServerSet> {
  if (process.env.PG_TEST_URL) return fromUrl(process.env.PG_TEST_URL)
  const driver = process.env.PG_TEST_DRIVER
  if (driver !== 'embedded' && (driver === 'testcontainers' || (await containerRuntimeAnswers())))
    return fromContainers()
  return fromEmbedded()
}

async function fromUrl(url: string): Promise<ServerSet> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  const { rows } = await c.query(`SELECT current_setting('server_version_num')::int AS n, version() AS v`)
  await c.end()
  const u = new URL(url.replace(/^postgres(ql)?:/, 'http:'))
  return {
    servers: [
      {
        major: Math.floor(rows[0].n / 10000),
        version: rows[0].v,
        url,
        host: u.hostname,
        port: Number(u.port || 5432),
        password: decodeURIComponent(u.password),
        driver: 'url',
      },
    ],
    stop: async () => {},
  }
}

async function containerRuntimeAnswers(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !(await import('node:fs')).existsSync('/var/run/docker.sock')) return false
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    await getContainerRuntimeClient()
    return true
  } catch {
    return false
  }
}

async function fromContainers(): Promise<ServerSet> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const password = 'postgres-test'
  const started = await Promise.all(
    wantedMajors().map((major) =>
      new GenericContainer(`postgres:${major}`)
        .withEnvironment({
          POSTGRES_PASSWORD: password,
          POSTGRES_INITDB_ARGS: '--auth=scram-sha-256',
          POSTGRES_HOST_AUTH_METHOD: 'scram-sha-256',
        })
        .withCommand(['postgres', '-c', 'max_connections=200', '-c', 'fsync=off'])
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start()
        .then((c) => ({ major, c })),
    ),
  )
  return {
    servers: started.map(({ major, c }) => {
      const host = c.getHost()
      const port = c.getMappedPort(5432)
      return {
        major,
        version: `PostgreSQL ${major} (container)`,
        url: `postgresql://postgres:${password}@${host}:${port}/postgres`,
        host,
        port,
        password,
        driver: 'testcontainers',
        containerId: c.getId(),
      }
    }),
    stop: async () => {
      await Promise.all(started.map(({ c }) => c.stop()))
    },
  }
}

async function fromEmbedded(): Promise<ServerSet> {
  const have = installedMajors()
  const majors = wantedMajors().filter((m) => have.includes(m))
  if (majors.length === 0) {
    throw new Error(
      `No PostgreSQL server for the tests: set PG_TEST_URL, run a container runtime, or install the embedded binaries (npm ci on linux-x64). Wanted majors ${wantedMajors().join(',')}, installed ${have.join(',') || 'none'}.`,
    )
  }
  // Start them one after another: initdb is CPU-bound and the machine may have two cores.
  const servers: EmbeddedServer[] = []
  for (const m of majors) servers.push(await startEmbedded(m))
  return {
    servers: servers.map(embeddedTestServer),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()))
    },
    restart: async (major) => {
      await servers.find((s) => s.major === major)!.restart()
    },
  }
}

/** Whether serverLog can read this server's log: a file the harness wrote, or the container's output. */
export function canReadServerLog(server: TestServer): boolean {
  return Boolean(server.logFile || server.containerId)
}

/**
 * The server's log so far: the embedded server's log file, or what the container's server wrote to
 * stdout and stderr (read through the container runtime, as `docker logs` shows it).
 */
export async function serverLog(server: TestServer): Promise<string> {
  if (server.logFile) return (await import('node:fs')).readFileSync(server.logFile, 'utf8')
  if (!server.containerId) throw new Error(`the ${server.driver} server's log is not reachable from the tests`)
  const { getContainerRuntimeClient } = await import('testcontainers')
  const client = await getContainerRuntimeClient()
  const raw = (await client.container
    .getById(server.containerId)
    .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer
  // Without a TTY the engine multiplexes both streams: frames of an 8-byte header (stream, 0, 0, 0,
  // payload length big-endian) and the payload. Join the payloads so no line is split by a header.
  const parts: Buffer[] = []
  for (let at = 0; at + 8 <= raw.length;) {
    const size = raw.readUInt32BE(at + 4)
    parts.push(raw.subarray(at + 8, at + 8 + size))
    at += 8 + size
  }
  return Buffer.concat(parts).toString('utf8')
}

/**
 * Whether a test may send a signal to one of the server's backends: an embedded server's processes
 * only when the tests run as root (the server runs as another user), a container's always (as root inside it).
 */
export function canSignalBackends(server: TestServer): boolean {
  return (server.driver === 'embedded' && process.getuid?.() === 0) || Boolean(server.containerId)
}

/** Sends a signal to a backend, pid as pg_stat_activity shows it (inside the container for a container). */
export async function signalBackend(server: TestServer, pid: number, signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
  if (!server.containerId) {
    process.kill(pid, signal)
    return
  }
  const { getContainerRuntimeClient } = await import('testcontainers')
  const client = await getContainerRuntimeClient()
  const r = await client.container.exec(client.container.getById(server.containerId), [
    'bash',
    '-c',
    `kill -s ${signal.slice(3)} ${Number(pid)}`,
  ])
  if (r.exitCode !== 0) throw new Error(`kill -s ${signal} ${pid} in the container failed: ${r.output}`)
}
