// @ts-check
/**
 * A stand-in application under load, for the load tests and scripts: a pg.Pool
 * of `workers` connections (50 by default), every worker running a short query
 * and a write every `tickMs`, connections recycled every `maxLifetimeSeconds`.
 * It reads its credentials from a config that `deploy()` swaps, as a redeploy
 * does: a new pool is built from the new credentials, checked (readiness probe
 * plus the new release's migration), traffic moves to it, and the old pool is
 * ended once nothing runs or waits on it any more (pg-pool's end() never
 * serves requests already queued, so traffic has to move first).
 *
 * Everything is counted: queries that succeeded and failed, per second and per
 * login; connection attempts that failed; errors of idle connections. Every
 * object the application creates lives in its own schema (`schema`), so a test
 * can check who owns it.
 *
 * Plain JavaScript so that both vitest tests and node scripts can use it.
 */
import pg from 'pg'

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

/**
 * @typedef {{ url: string } | { user: string, password: string }} Credentials
 * @typedef {{ ok: number, failed: number, connectFailed: number, connects: number }} Bucket
 * @typedef {{
 *   pool: pg.Pool,
 *   user: string,
 *   version: number,
 *   inflight: number,
 *   endedAt: number | null,
 * }} PoolEntry
 */

/** The login a set of credentials logs in as. */
export function userOf(/** @type {Credentials} */ creds) {
  if ('url' in creds) return decodeURIComponent(new URL(creds.url.replace(/^postgres(ql)?:/, 'http:')).username)
  return creds.user
}

/**
 * @param {{
 *   host?: string, port?: number, database?: string,
 *   credentials: Credentials,
 *   group: string,
 *   schema: string,
 *   workers?: number,
 *   tickMs?: number,
 *   maxLifetimeSeconds?: number,
 *   graceMs?: number,
 *   connectionTimeoutMillis?: number,
 *   applicationName?: string,
 *   secrets?: string[],
 *   query?: string,
 * }} options
 */
export async function startApp(options) {
  const o = {
    host: '127.0.0.1',
    database: 'postgres',
    workers: 50,
    tickMs: 40,
    maxLifetimeSeconds: 3,
    graceMs: 500,
    connectionTimeoutMillis: 10_000,
    applicationName: 'load-app',
    ...options,
  }
  const schema = pg.escapeIdentifier(o.schema)
  const t0 = Date.now()
  /** @type {Map<number, Bucket>} */
  const buckets = new Map()
  const bucket = () => {
    const s = Math.floor((Date.now() - t0) / 1000)
    let b = buckets.get(s)
    if (!b) buckets.set(s, (b = { ok: 0, failed: 0, connectFailed: 0, connects: 0 }))
    return b
  }
  const totals = { ok: 0, failed: 0, connectFailed: 0, idleErrors: 0 }
  /** @type {Record<string, number>} connections opened, per login */
  const connects = {}
  /** @type {Record<string, number>} successful queries, per session_user */
  const okBy = {}
  /** @type {{ at: number, user: string, message: string }[]} connection attempts that failed */
  const connectFailures = []
  /** @type {string[]} */
  const errors = []
  /** @type {{ at: number, user: string, version: number, oldEndedAt: number | null }[]} */
  const deploys = []
  /** @type {Promise<void>[]} */
  const retiring = []
  const secrets = o.secrets ?? []
  const redact = (/** @type {string} */ s) =>
    secrets.filter((x) => x.length >= 6).reduce((t, x) => t.split(x).join('***'), s)

  const noteError = (/** @type {string} */ what) => {
    if (errors.length < 20) errors.push(`${((Date.now() - t0) / 1000).toFixed(2)}s ${redact(what)}`)
  }
  const fail = (/** @type {string} */ what) => {
    totals.failed++
    bucket().failed++
    noteError(what)
  }

  /** @param {Credentials} creds @param {number} version @returns {PoolEntry} */
  const makePool = (creds, version) => {
    const user = userOf(creds)
    const pool = new pg.Pool({
      ...('url' in creds
        ? { connectionString: creds.url }
        : { host: o.host, port: o.port, database: o.database, user: creds.user, password: creds.password }),
      application_name: o.applicationName,
      max: o.workers,
      maxLifetimeSeconds: o.maxLifetimeSeconds,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: o.connectionTimeoutMillis,
    })
    pool.on('connect', (client) => {
      connects[user] = (connects[user] ?? 0) + 1
      bucket().connects++
      // A connection dropped by the server while a worker holds it between two queries emits
      // 'error' on the client, not the pool: count it instead of crashing the process.
      client.on('error', (e) => {
        totals.idleErrors++
        noteError(`connection of ${user} dropped while checked out: ${e.message}`)
      })
    })
    // An idle connection the server dropped: no query failed, but the application would notice.
    pool.on('error', (e) => {
      totals.idleErrors++
      noteError(`idle connection of ${user}: ${e.message}`)
    })
    return { pool, user, version, inflight: 0, endedAt: null }
  }

  /** A connection from the pool; a failure is counted as a failed connection attempt. @param {PoolEntry} entry */
  const checkout = async (entry) => {
    try {
      return await entry.pool.connect()
    } catch (e) {
      totals.connectFailed++
      bucket().connectFailed++
      connectFailures.push({ at: Date.now(), user: entry.user, message: redact(/** @type {Error} */ (e).message) })
      throw e
    }
  }

  /** The release's migration, run by the release itself with its own login. @param {pg.PoolClient} c @param {number} v */
  const migrate = async (c, v) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.events (id bigserial PRIMARY KEY, worker int NOT NULL, login name NOT NULL DEFAULT session_user, at timestamptz NOT NULL DEFAULT now())`,
    )
    await c.query(
      `CREATE TABLE ${schema}.release_${v} (id serial PRIMARY KEY, deployed_by name NOT NULL DEFAULT session_user, note text)`,
    )
    await c.query(`CREATE INDEX ON ${schema}.release_${v} (deployed_by)`)
    await c.query(`CREATE VIEW ${schema}.release_${v}_view AS SELECT * FROM ${schema}.release_${v}`)
    await c.query(`CREATE SEQUENCE ${schema}.release_${v}_seq`)
    await c.query(`CREATE TYPE ${schema}.release_${v}_kind AS ENUM ('a', 'b')`)
    await c.query(`CREATE FUNCTION ${schema}.release_${v}_fn() RETURNS int LANGUAGE sql AS 'SELECT ${v}'`)
    await c.query(`INSERT INTO ${schema}.release_${v} (note) VALUES ('deployed')`)
  }

  /** Builds a pool and checks it serves as the group role, running the release's migration. @param {Credentials} creds @param {number} version */
  const ready = async (creds, version) => {
    const entry = makePool(creds, version)
    try {
      const c = await checkout(entry)
      try {
        const { rows } = await c.query('SELECT current_user AS cu')
        if (rows[0].cu !== o.group) throw new Error(`readiness: current_user is ${rows[0].cu}, not ${o.group}`)
        await migrate(c, version)
      } finally {
        c.release()
      }
    } catch (e) {
      noteError(`deploy of release ${version} as ${entry.user}: ${/** @type {Error} */ (e).message}`)
      await entry.pool.end().catch(() => {})
      throw e
    }
    return entry
  }

  let running = true
  let version = 0
  /** Workers that finished at least one tick; warm once all have (see warmedUp). */
  const ticked = new Set()
  /** @type {() => void} */
  let markWarm = () => {}
  /** @type {Promise<void>} */
  const warm = new Promise((resolve) => (markWarm = resolve))
  let current = await ready(o.credentials, version)

  /** @param {number} id */
  const worker = async (id) => {
    while (running) {
      // Workers tick together, so the pool really holds `workers` connections.
      await sleep(o.tickMs - (Date.now() % o.tickMs))
      if (!running) break
      const entry = current // the pool of the currently deployed config
      entry.inflight++
      /** @type {pg.PoolClient | undefined} */
      let client
      let step = 'connect'
      try {
        client = await checkout(entry)
        step = 'select'
        const { rows } = await client.query('SELECT current_user AS cu, session_user AS su')
        if (rows[0].cu !== o.group) throw new Error(`current_user is ${rows[0].cu}, not ${o.group}`)
        totals.ok++
        bucket().ok++
        okBy[rows[0].su] = (okBy[rows[0].su] ?? 0) + 1
        if (o.query) {
          // The application's own read, as it is written: unqualified names resolve through the login's search_path.
          step = 'query'
          await client.query(o.query)
          totals.ok++
          bucket().ok++
          okBy[rows[0].su]++
        }
        step = 'insert'
        await client.query(`INSERT INTO ${schema}.events (worker) VALUES ($1)`, [id])
        totals.ok++
        bucket().ok++
        okBy[rows[0].su]++
        client.release()
      } catch (e) {
        fail(`worker ${id} ${step} as ${entry.user}: ${/** @type {Error} */ (e).message}`)
        client?.release(/** @type {Error} */ (e))
      } finally {
        entry.inflight--
        if (ticked.size < o.workers && !ticked.has(id)) {
          ticked.add(id)
          if (ticked.size === o.workers) markWarm()
        }
      }
    }
  }
  const workers = Array.from({ length: o.workers }, (_, i) => worker(i))

  /** Ends a pool once traffic has moved away: nothing running on it, nothing queued. @param {PoolEntry} entry */
  const retire = async (entry) => {
    await sleep(o.graceMs)
    while (entry.inflight > 0 || entry.pool.waitingCount > 0) await sleep(10)
    await entry.pool.end()
    entry.endedAt = Date.now()
  }

  return {
    startedAt: t0,
    /** The login the deployed config uses. */
    get user() {
      return current.user
    },
    /**
     * Resolves once every worker has finished a tick: the pool holds its `workers` connections
     * and all of them run the load (what a fixed warm-up sleep waited for).
     */
    warmedUp() {
      return warm
    },
    /** The release number of the deployed config (0 at start, +1 per deploy). */
    get version() {
      return current.version
    },
    /**
     * Deploys new credentials: a new pool that passed its readiness probe and
     * migration takes the traffic; the old pool is ended in the background once
     * drained (see `retired`). Resolves when traffic has moved.
     * @param {Credentials} creds
     */
    async deploy(creds) {
      const next = await ready(creds, version + 1)
      version++
      const old = current
      current = next
      const record = {
        at: Date.now(),
        user: next.user,
        version: next.version,
        oldEndedAt: /** @type {number | null} */ (null),
      }
      deploys.push(record)
      const retired = retire(old).then(() => {
        record.oldEndedAt = old.endedAt
      })
      retiring.push(retired)
      return { user: next.user, version: next.version, retired }
    },
    /** Resolves when every pool replaced by a deploy has ended. */
    async retired() {
      await Promise.all(retiring)
    },
    stats() {
      const last = Math.floor((Date.now() - t0) / 1000)
      /** @type {(Bucket & { second: number })[]} */
      const perSecond = []
      for (let s = 0; s <= last; s++)
        perSecond.push({ second: s, ...(buckets.get(s) ?? { ok: 0, failed: 0, connectFailed: 0, connects: 0 }) })
      return {
        ...totals,
        connects: { ...connects },
        okBy: { ...okBy },
        connectFailures: [...connectFailures],
        deploys: deploys.map((d) => ({ ...d })),
        perSecond,
        errors: [...errors],
        pools: {
          user: current.user,
          total: current.pool.totalCount,
          idle: current.pool.idleCount,
          waiting: current.pool.waitingCount,
        },
      }
    },
    /** Stops the workers and ends every pool. */
    async stop() {
      if (!running) return
      running = false
      await Promise.all(workers)
      await Promise.all(retiring)
      await current.pool.end()
    },
  }
}
