/**
 * A local stand-in for GitHub's REST API secrets endpoints: it answers the public-key
 * requests with a Curve25519 key pair of its own and opens every sealed box it
 * receives with the private key, as GitHub does, so tests can read back what was written.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createRequire } from 'node:module'

// libsodium-wrappers' ES-module build is broken (see loadSodium in src/github/secrets.ts): use the CommonJS one.
type Sodium = typeof import('libsodium-wrappers')
const sodium = createRequire(import.meta.url)('libsodium-wrappers') as Sodium

export const KEY_ID = '3380204578043523366'

export interface Recorded {
  method: string
  /** Path after the API prefix, still percent-encoded. */
  path: string
  headers: IncomingHttpHeaders
  body: { encrypted_value?: string; key_id?: string } | null
}

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang' | 'drop'

export interface FakeGitHub {
  apiUrl: string
  requests: Recorded[]
  /** Decrypted secrets by scope ('repo' or 'env:<name>'), name -> plaintext. */
  stored: Map<string, Map<string, string>>
  close(): Promise<void>
}

/** An intercept: every secret write (PUT) refused with 403, as for a token without Secrets: write. */
export const refuseWrites = (method: string): Reply | undefined =>
  method === 'PUT' ? { status: 403, body: { message: 'Resource not accessible by integration' } } : undefined

/**
 * Plays GitHub's secrets endpoints with a Curve25519 key pair of its own and opens
 * every sealed box it receives with the private key, as GitHub does.
 * `intercept` may answer a request instead (count: how many requests before it hit this method and path),
 * or hold it until the test lets it go (see `holdFirstWrite`).
 */
export async function fakeGitHub(opts: {
  token: string
  /** owner/name */
  repository?: string
  prefix?: string
  environments?: string[]
  /** May answer later (a promise): the request waits until it settles; undefined then answers as GitHub would. */
  intercept?: (method: string, path: string, count: number) => Reply | undefined | Promise<Reply | undefined>
}): Promise<FakeGitHub> {
  const TOKEN = opts.token
  const repo = (opts.repository ?? 'octo-org/shop').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const prefix = opts.prefix ?? ''
  const keys = sodium.crypto_box_keypair()
  const requests: Recorded[] = []
  const stored = new Map<string, Map<string, string>>()
  const counts = new Map<string, number>()
  const sockets = new Set<Socket>()

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const url = req.url ?? ''
      const path = url.startsWith(prefix) ? url.slice(prefix.length) : `(outside ${prefix})${url}`
      const method = req.method ?? ''
      requests.push({ method, path, headers: req.headers, body: text ? JSON.parse(text) : null })
      const key = `${method} ${path}`
      const count = counts.get(key) ?? 0
      counts.set(key, count + 1)

      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        res.end(body === undefined ? '' : JSON.stringify(body))
      }
      const intercepted = await opts.intercept?.(method, path, count)
      if (intercepted === 'hang') return
      if (intercepted === 'drop') return req.socket.destroy()
      if (intercepted) return send(intercepted.status, intercepted.body, intercepted.headers)

      const auth = req.headers.authorization ?? ''
      if (auth !== `token ${TOKEN}` && auth !== `Bearer ${TOKEN}`) {
        return send(401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        })
      }
      const m = new RegExp(`^/repos/${repo}/(?:actions/secrets|environments/([^/]+)/secrets)/([^/]+)$`).exec(path)
      if (!m) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })
      const env = m[1] === undefined ? undefined : decodeURIComponent(m[1])
      if (env !== undefined && !(opts.environments ?? []).includes(env)) return send(404, { message: 'Not Found' })
      const scope = env === undefined ? 'repo' : `env:${env}`
      if (method === 'GET' && m[2] === 'public-key')
        return send(200, { key_id: KEY_ID, key: sodium.to_base64(keys.publicKey, sodium.base64_variants.ORIGINAL) })
      if (method === 'PUT' && m[2] !== 'public-key') {
        const body = JSON.parse(text) as { encrypted_value: string; key_id: string }
        if (body.key_id !== KEY_ID) return send(422, { message: 'Bad key_id' })
        const sealed = sodium.from_base64(body.encrypted_value, sodium.base64_variants.ORIGINAL)
        const plain = sodium.to_string(sodium.crypto_box_seal_open(sealed, keys.publicKey, keys.privateKey))
        const secrets = stored.get(scope) ?? new Map<string, string>()
        stored.set(scope, secrets)
        const existed = secrets.has(m[2])
        secrets.set(m[2], plain)
        return send(existed ? 204 : 201, existed ? undefined : {})
      }
      return send(404, { message: 'Not Found' })
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    apiUrl: `http://127.0.0.1:${port}${prefix}`,
    requests,
    stored,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * An intercept that holds the first secret write (PUT) until `release()`: a phase that writes
 * to GitHub under its lock stays in its transaction, deterministically, while the test acts.
 * `held` resolves when the write arrived and is being held.
 */
export function holdFirstWrite(): {
  intercept: (method: string, path: string, count: number) => Promise<undefined> | undefined
  held: Promise<void>
  release: () => void
} {
  let arrived!: () => void
  let release!: () => void
  const held = new Promise<void>((r) => (arrived = r))
  const released = new Promise<undefined>((r) => (release = () => r(undefined)))
  let first = true
  return {
    held,
    release,
    intercept: (method) => {
      if (method !== 'PUT' || !first) return undefined
      first = false
      arrived()
      return released
    },
  }
}
