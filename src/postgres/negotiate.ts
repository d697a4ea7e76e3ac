/**
 * The start of a PostgreSQL connection, done the way libpq does it, before
 * node-postgres takes over the socket:
 *
 * - TLS: one TCP connection. The SSLRequest goes out on the socket; on 'S' the
 *   same socket is upgraded with tls.connect({ socket }), on 'N' the connection
 *   carries on in plaintext on it (sslmode=prefer), or fails (require and up).
 *   node-postgres alone cannot fall back on the same socket, so prefer used to
 *   cost a second connection to every server without TLS.
 * - Authentication: the server's request (cleartext, MD5, SASL, none) is
 *   checked against `require_auth` and `channel_binding` before the password
 *   is handed to node-postgres, so a server that asks for the password in a
 *   form the URI forbids never receives it.
 */
import type { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import net from 'node:net'
import type tls from 'node:tls'
import type { AuthMethod, AuthPolicy } from './uri-params.js'

export interface StreamPlan {
  host: string
  port: number
  /** TLS options, or false for plaintext. */
  ssl: false | true | tls.ConnectionOptions
  /** Plaintext on the same socket when the server answers 'N' (sslmode=prefer). */
  optional: boolean
  /** sslnegotiation=direct: TLS (ALPN "postgresql") from the first byte, no SSLRequest. */
  direct: boolean
  keepAliveMs?: number
}

export interface ReadyStream {
  stream: net.Socket
  encrypted: boolean
}

// node:tls is loaded when a server answers 'S', not before: a few ms a plaintext connection does not pay.
const lazyRequire = createRequire(import.meta.url)
const loadTls = () => lazyRequire('node:tls') as typeof tls

// Int32 length 8, then the SSLRequest code 1234.5679.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

/** Connects and negotiates TLS within `timeoutMs`; the stream is handed to pg as a connected socket. */
export function openStream(plan: StreamPlan, timeoutMs: number): Promise<ReadyStream> {
  return new Promise<ReadyStream>((resolve, reject) => {
    let current: net.Socket
    let settled = false
    const fail = (e: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      current.destroy()
      reject(e)
    }
    const done = (stream: net.Socket, encrypted: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // `fail` stays attached (a no-op now): an error before pg attaches its own listener must not crash.
      resolve({ stream: handOver(stream, paused), encrypted })
    }
    let paused = false
    const timer = setTimeout(() => fail(new Error('timeout expired')), timeoutMs > 0 ? timeoutMs : 2 ** 31 - 1)
    timer.unref?.()
    const socket = plan.host.startsWith('/')
      ? net.connect({ path: `${plan.host}/.s.PGSQL.${plan.port}` })
      : net.connect({ host: plan.host, port: plan.port })
    current = socket
    socket.setNoDelay(true)
    if (plan.keepAliveMs !== undefined) socket.setKeepAlive(true, plan.keepAliveMs)
    socket.on('error', fail)
    const upgrade = () => {
      const options: tls.ConnectionOptions = { socket, host: plan.host, ...(plan.ssl === true ? {} : plan.ssl) }
      // SNI must not be an IP address (RFC 6066, section 3); pg does the same.
      if (net.isIP(plan.host) === 0 && !plan.host.startsWith('/')) options.servername = plan.host
      if (plan.direct) options.ALPNProtocols = ['postgresql']
      const secure = loadTls().connect(options)
      current = secure
      secure.on('error', fail)
      secure.once('secureConnect', () => secured(secure, plan.direct, fail, done))
    }
    socket.once('connect', () => {
      if (!plan.ssl) return done(socket, false)
      if (plan.direct) return upgrade()
      socket.write(SSL_REQUEST)
      socket.once('data', (chunk: Buffer) => {
        socket.pause()
        paused = true
        // More than the one-byte answer: data a man in the middle injected (CVE-2021-23222).
        if (chunk.length !== 1) return fail(new Error('received unexpected data after the answer to the SSL request'))
        const answer = String.fromCharCode(chunk[0])
        if (answer === 'S') {
          paused = false
          return upgrade()
        }
        if (answer === 'N') {
          if (plan.optional) return done(socket, false)
          return fail(new Error('The server does not support SSL connections'))
        }
        return fail(new Error('There was an error establishing an SSL connection'))
      })
    })
  })
}

/**
 * As libpq: a direct TLS connection counts only when the server selected ALPN "postgresql";
 * without it the peer may be another TLS service with a valid certificate for the host (ALPACA).
 */
function secured(
  secure: tls.TLSSocket,
  direct: boolean,
  fail: (e: Error) => void,
  done: (stream: net.Socket, encrypted: boolean) => void,
): void {
  if (!direct || secure.alpnProtocol === 'postgresql') return done(secure, true)
  fail(
    new Error(
      'sslnegotiation=direct: the server did not select the ALPN protocol "postgresql" (PostgreSQL 17 or later does; a TLS service that is not PostgreSQL does not), so nothing was sent',
    ),
  )
}

/**
 * pg calls connect() on the stream it is given and waits for 'connect'; this
 * socket is connected already, so connect() only announces it (after pg has
 * attached its parser, which the same tick does) and resumes reading.
 */
function handOver(stream: net.Socket, paused: boolean): net.Socket {
  stream.connect = (() => {
    process.nextTick(() => {
      if (paused) stream.resume()
      stream.emit('connect')
    })
    return stream
  }) as typeof stream.connect
  return stream
}

/** Why the connection refused to authenticate: the password was not sent. */
export class AuthRefused extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AuthRefused'
  }
}

const ASKED: Record<AuthMethod, string> = {
  password: 'a cleartext password',
  md5: 'an MD5-hashed password',
  'scram-sha-256': 'SCRAM-SHA-256 authentication',
  gss: 'GSSAPI authentication',
  sspi: 'SSPI authentication',
  none: 'no authentication',
}

/**
 * Watches node-postgres's connection for the server's authentication request
 * and releases the password only when the policy allows that method. Attach it
 * before client.connect(): its listeners then run before pg's own.
 */
export class AuthGuard {
  #method: AuthMethod | null = null
  #saslMechanism: string | null = null
  #saslFinal = false
  #refused: AuthRefused | null = null

  constructor(
    private readonly policy: AuthPolicy,
    private readonly encrypted: boolean,
    private readonly secret: () => Promise<string | undefined>,
  ) {}

  /** Channel binding is used whenever TLS is, unless channel_binding=disable (libpq's prefer). */
  get bind(): boolean {
    return this.encrypted && this.policy.channelBinding !== 'disable'
  }

  attach(connection: EventEmitter & { stream?: net.Socket }): void {
    const check = (method: AuthMethod, extra?: () => string | null) => {
      this.#method = method
      const problem = this.#problem(method) ?? extra?.() ?? null
      if (problem) this.#refuse(connection, problem)
    }
    connection.on('authenticationCleartextPassword', () => check('password'))
    connection.on('authenticationMD5Password', () => check('md5'))
    connection.on('authenticationSASL', (msg: { mechanisms: string[] }) =>
      check('scram-sha-256', () => {
        this.#saslMechanism = this.bind && msg.mechanisms.includes('SCRAM-SHA-256-PLUS') ? 'SCRAM-SHA-256-PLUS' : null
        if (this.policy.channelBinding === 'require' && !this.#saslMechanism)
          return this.encrypted
            ? 'channel_binding=require, but the server did not offer SCRAM-SHA-256-PLUS (authentication with channel binding)'
            : 'channel_binding=require, but the connection is not encrypted (channel binding needs TLS)'
        return null
      }),
    )
    connection.on('authenticationSASLFinal', () => {
      this.#saslFinal = true
    })
    connection.on('authenticationOk', () => {
      if (this.#method === null) return check('none')
      if (this.#method === 'scram-sha-256' && !this.#saslFinal)
        return this.#refuse(
          connection,
          'the server ended SCRAM authentication without proving that it knows the password',
        )
    })
  }

  /** pg's password: the secret, once the server's request passed the policy. */
  password = async (): Promise<string | undefined> => {
    if (this.#refused) throw this.#refused
    if (this.#method === null) throw new AuthRefused('internal: the password was asked for before the server asked')
    return this.secret()
  }

  #problem(method: AuthMethod): string | null {
    const { allowed, requireAuth, channelBinding } = this.policy
    if (allowed && !allowed.has(method)) return `require_auth=${requireAuth}, but the server asked for ${ASKED[method]}`
    if (channelBinding === 'require' && method !== 'scram-sha-256')
      return `channel_binding=require, but the server asked for ${ASKED[method]}, which has no channel binding`
    return null
  }

  #refuse(connection: EventEmitter & { stream?: net.Socket }, problem: string): void {
    if (this.#refused) return
    this.#refused = new AuthRefused(`${problem}; the password was not sent`)
    connection.emit('error', this.#refused)
    connection.stream?.destroy()
  }
}
