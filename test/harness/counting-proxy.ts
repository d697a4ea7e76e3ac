/**
 * A TCP proxy in front of a server that counts the connections it accepts and
 * how many of them carried a startup message (a login) rather than only an
 * SSLRequest: a client that falls back to plaintext on a second connection
 * shows up as accepted > logins. On plaintext connections it also counts the
 * client's round trips after the login: each simple query ('Q') and each Sync
 * ('S', the end of an extended-protocol query) is one wait for the server.
 */
import net from 'node:net'

export interface CountingProxy {
  port: number
  /** TCP connections accepted. */
  readonly accepted: number
  /** Connections on which a startup message followed (whether or not after an SSLRequest). */
  readonly logins: number
  /** Simple queries and Syncs sent after the startup message, on every plaintext connection. */
  readonly roundTrips: number
  /** The text of each simple query counted in roundTrips (extended-protocol queries are not listed). */
  readonly queries: readonly string[]
  reset(): void
  close(): Promise<void>
}

const SSL_REQUEST = 80877103
const PROTOCOL_3 = 196608

export async function startCountingProxy(upstream: { host: string; port: number }): Promise<CountingProxy> {
  const counts = { accepted: 0, logins: 0, roundTrips: 0, queries: [] as string[] }
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    counts.accepted++
    const server = net.connect(upstream.port, upstream.host)
    for (const s of [client, server]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        server.destroy()
      })
    }
    // Follow the client's first messages (untyped: length, then code) until a startup message or TLS,
    // then its typed messages (type byte, then length) to count the round trips.
    let head = Buffer.alloc(0)
    let stage: 'startup' | 'typed' | 'opaque' = 'startup'
    client.on('data', (d: Buffer) => {
      if (stage === 'opaque') return
      head = Buffer.concat([head, d])
      while (stage === 'startup' && head.length >= 8) {
        const len = head.readInt32BE(0)
        const code = head.readInt32BE(4)
        if (code === PROTOCOL_3) counts.logins++
        if (code !== SSL_REQUEST && code !== PROTOCOL_3) stage = 'opaque'
        else if (code === PROTOCOL_3) stage = 'typed'
        head = head.subarray(len)
      }
      while (stage === 'typed' && head.length >= 5) {
        const type = String.fromCharCode(head[0])
        const len = head.readInt32BE(1)
        if (head.length < 1 + len) break
        if (type === 'Q') {
          counts.roundTrips++
          counts.queries.push(head.subarray(5, len).toString('utf8').replace(/\0$/, ''))
        } else if (type === 'S') counts.roundTrips++
        head = head.subarray(1 + len)
      }
    })
    client.pipe(server)
    server.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return counts.accepted
    },
    get logins() {
      return counts.logins
    },
    get roundTrips() {
      return counts.roundTrips
    },
    get queries() {
      return counts.queries
    },
    reset() {
      counts.accepted = 0
      counts.logins = 0
      counts.roundTrips = 0
      counts.queries = []
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
