/**
 * A TCP proxy in front of a server that counts the connections it accepts and
 * how many of them carried a startup message (a login) rather than only an
 * SSLRequest: a client that falls back to plaintext on a second connection
 * shows up as accepted > logins.
 */
import net from 'node:net'

export interface CountingProxy {
  port: number
  /** TCP connections accepted. */
  readonly accepted: number
  /** Connections on which a startup message followed (whether or not after an SSLRequest). */
  readonly logins: number
  reset(): void
  close(): Promise<void>
}

const SSL_REQUEST = 80877103
const PROTOCOL_3 = 196608

export async function startCountingProxy(upstream: { host: string; port: number }): Promise<CountingProxy> {
  const counts = { accepted: 0, logins: 0 }
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
    // Follow the client's first messages (untyped: length, then code) until a startup message or TLS.
    let head = Buffer.alloc(0)
    let watching = true
    client.on('data', (d: Buffer) => {
      if (!watching) return
      head = Buffer.concat([head, d])
      while (head.length >= 8) {
        const len = head.readInt32BE(0)
        const code = head.readInt32BE(4)
        if (code === PROTOCOL_3) counts.logins++
        if (code !== SSL_REQUEST) {
          watching = false
          return
        }
        head = head.subarray(len)
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
    reset() {
      counts.accepted = 0
      counts.logins = 0
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
