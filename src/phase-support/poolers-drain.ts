/** verify-drain's use of pgbouncer-urls: each poll's judgement, terminate-after, and the failure message. */
import { looksPooled, type DrainJudgement } from '../domain/drain-rule.js'
import { oneLine } from '../domain/escape.js'
import { parseVersion, POOLER_INPUT, supportsKillClient } from '../postgres/poolers.js'
import { killPoolerClients, killRefusal, pollPooled, probeKillRights, readBackends } from '../postgres/pooled.js'
import type { PhaseDeps } from './deps.js'

export async function pooledCounts(deps: PhaseDeps, outgoing: string, incoming: string): Promise<DrainJudgement> {
  return (await pollPooled(deps, outgoing, incoming)).judgement
}

/**
 * terminate-after with poolers: the outgoing login's pooler clients are ended
 * with KILL_CLIENT; a pooler that has such clients and no KILL_CLIENT makes
 * verify-drain refuse (returns why) instead of ending only the server side.
 */
export async function pooledTermination(deps: PhaseDeps, outgoing: string): Promise<string | null> {
  const readings = await deps.poolers.read()
  const unreadable = readings.filter((r) => r.error !== undefined)
  if (unreadable.length)
    return `${POOLER_INPUT}: ${unreadable.map((r) => `pooler ${r.label}: ${r.error}`).join('; ')}, so its clients cannot be ended`
  const refusal = killRefusal(readings, outgoing, await probeKillRights(deps, readings, [outgoing]))
  if (refusal) return refusal
  const n = await killPoolerClients(deps, readings, outgoing)
  if (n) deps.reporter.warning(`terminate-after: ended ${n} pooler client(s) of "${outgoing}" with KILL_CLIENT.`)
  return null
}

/** Why verify-drain failed with poolers; `when` is "after 15m" or "at the first look". */
export function poolerFailure(
  j: DrainJudgement,
  outgoing: string,
  incoming: string,
  fresh: number,
  min: number,
  when: string,
): string {
  if (j.unreadable.length) {
    return `${POOLER_INPUT}: ${j.unreadable.map((u) => `pooler ${u}`).join('; ')}; without it "${outgoing}" cannot be shown drained (${when})`
  }
  const o = j.outgoing
  if (o.count > 0) {
    const perPooler = j.views
      .filter((v) => (v.clients[outgoing] ?? 0) > 0)
      .map((v) => `${v.label}: ${v.clients[outgoing]}`)
    const parts = [
      o.clients ? `${o.clients} client(s) logged in to the poolers (${perPooler.join(', ')})` : '',
      o.unpooled ? `${o.unpooled} session(s) that no listed pooler holds` : '',
      o.clients === 0 && o.heldInUse
        ? `${o.heldInUse} pooled server connection(s) in use by another login's clients (a database entry forces this user)`
        : '',
    ].filter(Boolean)
    return `"${outgoing}" still has ${o.count} connection(s) ${when}: ${parts.join(', ')}`
  }
  return `"${incoming}" has ${fresh} connection(s), fewer than min-new-connections (${min}), ${when}`
}

/** Without pgbouncer-urls: when the remaining sessions look like a pooler's idle server connections, say so. */
export async function unpooledHint(deps: PhaseDeps, outgoing: string): Promise<string> {
  if (deps.poolers.count) return ''
  try {
    const addr = looksPooled(await readBackends(deps.session.client, [outgoing]), outgoing)
    if (!addr) return ''
    return ` (all idle and all from ${addr}, as a connection pooler's idle server connections are: if a pooler such as PgBouncer is in front of the database, list its admin console in ${POOLER_INPUT} so verify-drain counts its clients instead; see docs/poolers.md)`
  } catch {
    return ''
  }
}

/**
 * What to run when the drain failed: close with terminate ends the old login's
 * sessions, but behind a pooler without KILL_CLIENT that still has its clients
 * it refuses, so the advice names force instead.
 */
export function closeAdvice(pooled: DrainJudgement | null, outgoing: string): string {
  const stuck = (pooled?.views ?? []).filter(
    (v) => (v.clients[outgoing] ?? 0) > 0 && !supportsKillClient(parseVersion(v.version)),
  )
  if (stuck.length === 0) return 'close with terminate: true'
  const where = stuck.map((v) => `${v.label} (${oneLine(v.version)})`).join(', ')
  return `close with force: true (terminate would refuse: ${where} cannot end pooler clients without KILL_CLIENT)`
}
