/**
 * A stand-in for a PgBouncer admin console that stalls: a TCP server speaking
 * just enough of the PostgreSQL protocol (SSLRequest answered 'N', startup
 * answered AuthenticationOk, simple queries answered with empty SHOW results
 * and a PgBouncer version) and then, at the point the test chooses, goes
 * silent while keeping the connection open, as a hung pooler or a network
 * black hole does. Tests use it to prove that no phase waits on a console
 * without a limit.
 */
import net from 'node:net'

export interface FakeConsoleOptions {
  /** Never answer the startup message (a console that accepts TCP and says nothing). */
  silentStartup?: boolean
  /** How many queries to answer (over all connections) before going silent; default: none. */
  answer?: number
  /** The version SHOW VERSION reports. */
  version?: string
  /** Answer any other statement with an empty result, as a PostgreSQL server would a SET (a stand-in for a database server that stalls later). */
  anySql?: boolean
  /** Rows of SHOW DATABASES (name, force_user): a database entry that forces a user. */
  databases?: { name: string; force_user: string }[]
}

export interface FakeConsole {
  host: string
  port: number
  /** A pgbouncer-urls entry for it. */
  url: string
  /** The label phases use for it in messages ("127.0.0.1:port"). */
  label: string
  /** Resolves when the console first leaves a message unanswered (the stall has begun). */
  stalled: Promise<void>
  /** Connections accepted, and how many of them the client has closed so far. */
  stats: { accepted: number; closed: number; answered: number; unanswered: string[] }
  close(): Promise<void>
}

/** Columns of the empty answers: what src/postgres/poolers.ts checks for. */
const COLUMNS: Record<string, string[]> = {
  'SHOW CLIENTS': ['type', 'user', 'database', 'state', 'addr', 'port', 'application_name', 'id'],
  'SHOW SERVERS': ['type', 'user', 'database', 'state', 'addr', 'port', 'remote_pid', 'link'],
  'SHOW POOLS': ['database', 'user', 'pool_mode'],
  'SHOW DATABASES': ['name', 'host', 'port', 'database', 'force_user'],
}

export async function fakeConsole(opts: FakeConsoleOptions = {}): Promise<FakeConsole> {
  const stats = { accepted: 0, closed: 0, answered: 0, unanswered: [] as string[] }
  let markStalled: () => void = () => {}
  const stalled = new Promise<void>((resolve) => (markStalled = resolve))
  const sockets = new Set<net.Socket>()
  const budget = opts.answer ?? 0
  const version = opts.version ?? 'PgBouncer 1.25.2'

  const server = net.createServer((socket) => {
    stats.accepted++
    sockets.add(socket)
    socket.on('close', () => {
      stats.closed++
      sockets.delete(socket)
    })
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    let started = false
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      for (;;) {
        if (!started) {
          if (buf.length < 8) return
          const len = buf.readInt32BE(0)
          if (buf.length < len) return
          const code = buf.readInt32BE(4)
          buf = buf.subarray(len)
          if (code === 80877103 || code === 80877104) {
            socket.write('N') // no TLS, no GSS: carry on in plaintext
            continue
          }
          started = true
          if (opts.silentStartup) {
            stats.unanswered.push('startup')
            markStalled()
            return
          }
          socket.write(Buffer.concat([msg('R', int32(0)), msg('K', Buffer.concat([int32(4242), int32(1)])), ready()]))
          continue
        }
        if (buf.length < 5) return
        const type = String.fromCharCode(buf[0])
        const len = buf.readInt32BE(1)
        if (buf.length < len + 1) return
        const body = buf.subarray(5, len + 1)
        buf = buf.subarray(len + 1)
        if (type === 'X') {
          socket.end()
          return
        }
        if (type !== 'Q') continue
        const sql = body.toString('utf8').replace(/\0$/, '').trim()
        if (stats.answered >= budget) {
          stats.unanswered.push(sql)
          markStalled()
          continue // silence: the connection stays open, nothing comes back
        }
        stats.answered++
        socket.write(answer(sql, version, opts.databases ?? [], Boolean(opts.anySql)))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    host: '127.0.0.1',
    port,
    url: `postgresql://pgbouncer:console-pw@127.0.0.1:${port}/pgbouncer`,
    label: `127.0.0.1:${port}`,
    stalled,
    stats,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function answer(
  sql: string,
  version: string,
  databases: { name: string; force_user: string }[],
  anySql: boolean,
): Buffer {
  const command = sql.replace(/;$/, '').toUpperCase()
  if (command === 'SHOW VERSION') return rows(['version'], [[version]], 'SHOW')
  if (command === 'SHOW DATABASES')
    return rows(
      COLUMNS[command],
      databases.map((d) => [d.name, '127.0.0.1', '5432', d.name, d.force_user]),
      'SHOW',
    )
  const columns = COLUMNS[command]
  if (columns) return rows(columns, [], 'SHOW')
  if (anySql) return Buffer.concat([msg('C', cstr('SELECT 0')), ready()])
  return Buffer.concat([msg('E', errorFields(`unknown command: ${sql}`)), ready()])
}

function rows(columns: string[], values: string[][], tag: string): Buffer {
  const desc = Buffer.concat([
    int16(columns.length),
    ...columns.map((c) => Buffer.concat([cstr(c), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)])),
  ])
  const data = values.map((row) =>
    msg(
      'D',
      Buffer.concat([
        int16(row.length),
        ...row.map((v) => Buffer.concat([int32(Buffer.byteLength(v)), Buffer.from(v)])),
      ]),
    ),
  )
  return Buffer.concat([msg('T', desc), ...data, msg('C', cstr(tag)), ready()])
}

function errorFields(message: string): Buffer {
  return Buffer.concat([
    Buffer.from('S'),
    cstr('ERROR'),
    Buffer.from('C'),
    cstr('08P01'),
    Buffer.from('M'),
    cstr(message),
    Buffer.from([0]),
  ])
}

const ready = () => msg('Z', Buffer.from('I'))
const cstr = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0])])
function int32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
function int16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}
function msg(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body])
}
