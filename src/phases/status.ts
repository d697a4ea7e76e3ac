import type { Config } from '../inputs/config.js'
import { findConfigDrift } from '../domain/config-drift.js'
import { findDrift, type Ownership } from '../domain/drift.js'
import { observe, readDirectGrants } from '../postgres/observe.js'
import type { PhaseResult, StatusReport } from '../domain/result.js'
import { READ_OWNERSHIP } from '../postgres/statements.js'
import { describeState, describeWrittenBack, loginsNow, publicRotation } from '../domain/state.js'
import { resultWithFamily, type PhaseDeps } from '../phase-support/deps.js'
import { poolerStatus } from '../phase-support/poolers-status.js'
import { replicaStatus } from '../phase-support/replicas-wait.js'

/** Read-only: which login is active, which can log in, the open rotation, sessions, last rotations, drift. */
export async function status(cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const client = deps.session.client
  const obs = await observe(client, { group: cfg.group, logins: cfg.logins })
  const ownership: Ownership[] = (await client.query(READ_OWNERSHIP, [cfg.logins])).rows
  const direct = await readDirectGrants(client, cfg.group, cfg.logins)
  const drift = [
    ...findDrift(obs, cfg.group, cfg.logins, ownership),
    ...findConfigDrift(obs, cfg.group, cfg.logins, direct.grants, direct.memberships),
  ]
  const state = obs.state.kind === 'ok' ? obs.state.state : null
  const result = await resultWithFamily(
    cfg,
    deps,
    {
      ...(state ? loginsNow(state) : {}),
      state: state?.rotation ? 'open' : 'idle',
      rotationId: state?.rotation?.id,
    },
    [],
    [],
  )
  const roles: [string, boolean][] = obs.group ? [[cfg.group, obs.group.canLogin]] : []
  for (const l of cfg.logins) {
    const r = obs.logins[l]
    if (r) roles.push([l, r.canLogin])
  }
  const report: StatusReport = {
    group: cfg.group,
    state: state ? (state.rotation ? 'open' : 'idle') : obs.state.kind === 'invalid' ? 'unreadable' : 'not set up',
    description:
      obs.state.kind === 'invalid'
        ? `state comment ${obs.state.tampered ? 'tampered with' : 'unreadable'}: ${obs.state.reason}`
        : describeState(state),
    active: state?.active ?? null,
    canLogin: Object.fromEntries(roles),
    rotation: publicRotation(state?.rotation ?? null),
    lastClosed: state?.lastClosed ?? null,
    lastAborted: state?.lastAborted ?? null,
    passwordSetAt: state?.passwordSetAt ?? {},
    writtenBack: state?.writtenBack ?? null,
    sessions: result.sessions.map((s) => ({
      login: s.login,
      server: s.server ?? 'primary',
      database: s.database,
      applicationName: s.applicationName,
      clientAddr: s.clientAddr,
      ...(s.addrHidden ? { addrHidden: true } : {}),
      count: s.count,
    })),
    drift,
    ...(await peerStatus(cfg, deps)),
  }
  if (obs.state.kind === 'invalid')
    deps.reporter.warning(
      `The state comment on role "${cfg.group}" ${obs.state.tampered ? 'was tampered with' : 'cannot be read'}: ${obs.state.reason}. Other phases refuse to act until it is reset.`,
    )
  if (report.writtenBack) deps.reporter.warning(describeWrittenBack(report.writtenBack))
  if (drift.length) deps.reporter.warning(`Drift: ${drift.map((d) => `${d.role}: ${d.detail}`).join('; ')}`)
  return { ...result, status: report }
}

/** What status shows of the servers in front of and beside the primary: pgbouncer-urls and replica-urls. */
async function peerStatus(cfg: Config, deps: PhaseDeps): Promise<Pick<StatusReport, 'poolers' | 'replicas'>> {
  return {
    ...(deps.poolers.count ? { poolers: await poolerStatus(deps, [cfg.group, ...cfg.logins]) } : {}),
    ...(deps.replicas.count ? { replicas: await replicaStatus(deps) } : {}),
  }
}
