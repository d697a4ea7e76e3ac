/**
 * A server that speaks just enough of PostgreSQL's protocol to ask a client for
 * its password: SSLRequest answered 'S' (TLS with a self-signed certificate
 * from tls.ts) or 'N', the startup message read, then one authentication
 * request. It records whether a password (or any SASL response) arrived, and
 * then refuses the login. It stands for an impostor, or a server downgraded
 * by someone in the middle, not for PostgreSQL.
 */
import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'

export interface FakePostgres {
  port: number
  /** Password messages received ('p'): cleartext passwords, MD5 hashes or SASL responses. */
  passwords: string[]
  /** Connections accepted. */
  connections: number
  /** Connections that ended up on TLS. */
  tlsConnections: number
  /** Startup messages read (a client that got this far would send its password next). */
  startups: number
  close(): Promise<void>
}

export interface FakeOptions {
  /** Certificate and key files: answer 'S' and speak TLS; without them answer 'N'. */
  cert?: { cert: string; key: string }
  /** The authentication request: cleartext password, MD5, SCRAM (without -PLUS), or none (AuthenticationOk). */
  auth: 'cleartext' | 'md5' | 'scram' | 'none'
  /** Bytes sent right after the 'S', in the same packet: what a man in the middle injects (CVE-2021-23222). */
  inject?: Buffer
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const message = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), int32(body.length + 4), body])

function authRequest(auth: FakeOptions['auth']): Buffer {
  if (auth === 'cleartext') return message('R', int32(3))
  if (auth === 'md5') return message('R', Buffer.concat([int32(5), Buffer.from([1, 2, 3, 4])]))
  if (auth === 'scram') return message('R', Buffer.concat([int32(10), Buffer.from('SCRAM-SHA-256\0\0')]))
  return Buffer.concat([message('R', int32(0)), message('Z', Buffer.from('I'))])
}

const fatal = (code: string, text: string) => message('E', Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`))

export async function startFakePostgres(opts: FakeOptions): Promise<FakePostgres> {
  const state = { passwords: [] as string[], connections: 0, tlsConnections: 0, startups: 0 }
  const sockets = new Set<net.Socket>()
  const secure = opts.cert
    ? tls.createSecureContext({ cert: readFileSync(opts.cert.cert), key: readFileSync(opts.cert.key) })
    : null

  /** Reads whole messages from a stream: the first one has no type byte (startup). */
  const converse = (s: net.Socket) => {
    let buf = Buffer.alloc(0)
    let startup = true
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        if (startup) {
          if (buf.length < 4) return
          const len = buf.readInt32BE(0)
          if (buf.length < len) return
          buf = buf.subarray(len)
          startup = false
          state.startups++
          s.write(authRequest(opts.auth))
          continue
        }
        if (buf.length < 5) return
        const len = buf.readInt32BE(1)
        if (buf.length < len + 1) return
        const type = String.fromCharCode(buf[0])
        const body = buf.subarray(5, len + 1)
        buf = buf.subarray(len + 1)
        if (type === 'p') {
          state.passwords.push(body.toString('latin1'))
          s.end(fatal('28P01', 'password authentication failed'))
        } else if (type === 'X') s.end()
        else if (type === 'Q') s.end(fatal('0A000', 'this fake server answers no query'))
      }
    })
    s.on('error', () => {})
  }

  const server = net.createServer((socket) => {
    state.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.once('readable', function first() {
      const head = socket.read(8) as Buffer | null
      if (!head) return socket.once('readable', first)
      if (head.readInt32BE(4) === 80877103) {
        if (!secure) {
          socket.write('N')
          return converse(socket)
        }
        socket.write(Buffer.concat([Buffer.from('S'), opts.inject ?? Buffer.alloc(0)]))
        const t = new tls.TLSSocket(socket, { isServer: true, secureContext: secure })
        t.on('secure', () => state.tlsConnections++)
        return converse(t)
      }
      socket.unshift(head)
      // A TLS ClientHello first (sslnegotiation=direct): TLS from the first byte, with no ALPN,
      // as a TLS service that is not PostgreSQL (or PostgreSQL before 17) answers it.
      if (secure && head[0] === 0x16) {
        const t = new tls.TLSSocket(socket, { isServer: true, secureContext: secure })
        t.on('secure', () => state.tlsConnections++)
        return converse(t)
      }
      converse(socket)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get passwords() {
      return state.passwords
    },
    get connections() {
      return state.connections
    },
    get tlsConnections() {
      return state.tlsConnections
    },
    get startups() {
      return state.startups
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
