/**
 * A login's sessions one by one, wherever the application reaches: the
 * primary, every replica in replica-urls, and every client logged in to a
 * pooler in pgbouncer-urls. close and abort read them before their
 * transaction and again after their commit (sessions can log in while the
 * transaction runs), and end them there with terminate.
 */
import { clientsToKill, judgeLogin, type BackendSession } from '../domain/drain-rule.js'
import { idOf, type LoginSession, type SessionGroup } from '../domain/family.js'
import { supportsKillClient, type PoolerReading } from '../postgres/poolers.js'
import { killRefusal, probeKillRights, readBackends } from '../postgres/pooled.js'
import { TERMINATE_SESSIONS } from '../postgres/statements.js'
import type { PhaseDeps } from './deps.js'

export { describeLoginSessions, type LoginSession } from '../domain/family.js'

export interface LoginSessions {
  sessions: LoginSession[]
  /** Poolers that could not be read ("host:port: reason"): their clients are unknown. */
  unreadable: string[]
  readings: PoolerReading[]
}

/**
 * The sessions of these logins that someone uses, from what was read: backends
 * that a listed pooler holds for its clients are not counted (the clients are,
 * and a pooler's idle server connections are ended separately), unless no
 * client of that login is on a pooler (a database entry forcing the user).
 */
export function loginSessionsFrom(
  logins: readonly string[],
  primary: BackendSession[],
  readings: PoolerReading[],
  replicas: (BackendSession & { server: string })[],
): LoginSessions {
  const sessions: LoginSession[] = []
  for (const login of logins) {
    const j = judgeLogin(login, primary, readings)
    const held = new Map<number, boolean>()
    for (const r of readings)
      for (const s of r.snapshot?.servers ?? [])
        if (s.user === login) held.set(s.remotePid, held.get(s.remotePid) || s.inUse)
    for (const b of primary.filter((x) => x.login === login)) {
      const inUse = held.get(b.pid)
      if (inUse === false || (inUse === true && j.clients > 0)) continue
      sessions.push(backendSession('primary', b))
    }
    for (const r of readings)
      for (const c of r.snapshot?.clients.filter((x) => x.user === login) ?? [])
        sessions.push({
          where: `pooler ${r.label}`,
          key: `pooler ${r.label}#${c.id ?? `${c.addr ?? ''}:${c.port ?? ''}@${c.connectTime ?? ''}`}`,
          login,
          database: c.database,
          applicationName: c.applicationName,
          clientAddr: c.addr,
        })
    for (const b of replicas.filter((x) => x.login === login)) sessions.push(backendSession(b.server, b))
  }
  const unreadable = readings.filter((r) => r.error !== undefined).map((r) => `${r.label}: ${r.error}`)
  return { sessions, unreadable, readings }
}

/** A backend as a login session; its key holds backend_start too, so a backend reusing an ended one's pid is new. */
export function backendSession(where: string, b: BackendSession): LoginSession {
  return {
    where,
    key: `${where}#${b.pid}@${b.started ?? ''}`,
    login: b.login,
    database: b.database,
    applicationName: b.applicationName,
    clientAddr: b.clientAddr,
    ...(b.addrHidden ? { addrHidden: true } : {}),
  }
}

/** Reads them now: the primary, the poolers (when listed), the replicas (when listed). */
export async function readLoginSessions(deps: PhaseDeps, logins: readonly string[]): Promise<LoginSessions> {
  const primary = await readBackends(deps.session.client, logins)
  const readings = deps.poolers.count ? await deps.poolers.read() : []
  const replicas = deps.replicas.count ? await deps.replicas.backends(logins) : []
  return loginSessionsFrom(logins, primary, readings, replicas)
}

/** Replica backends as the session groups a plan and a summary count. */
export function groupBackends(backends: (BackendSession & { server: string })[]): SessionGroup[] {
  const out: SessionGroup[] = []
  for (const b of backends) {
    const g = out.find(
      (x) =>
        x.server === b.server &&
        x.login === b.login &&
        x.database === b.database &&
        x.applicationName === b.applicationName &&
        x.clientAddr === b.clientAddr &&
        Boolean(x.addrHidden) === Boolean(b.addrHidden),
    )
    if (g) g.count++
    else
      out.push({
        server: b.server,
        login: b.login,
        database: b.database,
        applicationName: b.applicationName,
        clientAddr: b.clientAddr,
        ...(b.addrHidden ? { addrHidden: true } : {}),
        count: 1,
      })
  }
  return out
}

/**
 * After the commit that disabled the login (it can no longer log in): ends its
 * sessions everywhere, KILL_CLIENT on the poolers where the console may, and
 * reads again until none is left or the limit passes (a session that was
 * authenticating at the commit can still appear). Returns what was ended and
 * what is left, with the reason a pooler could not end its clients.
 */
export async function endLoginEverywhere(
  deps: PhaseDeps,
  login: string,
  limitMs = 5000,
): Promise<{ ended: LoginSession[]; left: LoginSessions; refusals: string[] }> {
  const ended = new Map<string, LoginSession>()
  const refusals = new Set<string>()
  const end = deps.now().getTime() + limitMs
  for (;;) {
    const now = await readLoginSessions(deps, [login])
    const done = () => ({ ended: [...ended.values()], left: now, refusals: [...refusals] })
    if (now.sessions.length === 0 || deps.now().getTime() >= end) return done()
    const fresh = now.sessions.filter((s) => !ended.has(s.key))
    const acted: LoginSession[] = []
    const onPoolers = fresh.filter((s) => s.where.startsWith('pooler '))
    if (onPoolers.length) {
      const rights = await probeKillRights(deps, now.readings, [login])
      const refusal = killRefusal(now.readings, login, rights)
      if (refusal) refusals.add(refusal)
      for (const k of clientsToKill(now.readings, login, supportsKillClient)) {
        if (!k.supported || rights[k.label]) continue
        const mine = onPoolers.filter((s) => s.where === `pooler ${k.label}`)
        if (mine.length === 0) continue
        await deps.poolers.killClients(k.label, mine.map(idOf))
        acted.push(...mine)
      }
    }
    const servers = fresh.filter((s) => !s.where.startsWith('pooler '))
    if (servers.some((s) => s.where === 'primary')) await deps.session.client.query(TERMINATE_SESSIONS, [login])
    if (servers.some((s) => s.where !== 'primary') && deps.replicas.count) await deps.replicas.terminate(login)
    acted.push(...servers)
    for (const s of acted) ended.set(s.key, s)
    // Nothing more to end, and nothing ended still on its way out: what is left stays.
    if (acted.length === 0 && !now.sessions.some((s) => ended.has(s.key))) return done()
    await deps.sleep(50)
  }
}
