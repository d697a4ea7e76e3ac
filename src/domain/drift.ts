import { describeForeignGrantee, foreignGrantees, type Observation } from './family.js'
import type { FamilyState } from './state.js'

export type DriftKind =
  | 'missing-role'
  | 'owns-objects'
  | 'not-member'
  | 'cannot-set'
  | 'missing-default-role'
  | 'unexpected-login'
  | 'active-cannot-login'
  | 'unreadable-state'
  | 'foreign-admin'
  | 'unexpected-member'
  // configuration (src/domain/config-drift.ts)
  | 'group-settings'
  | 'settings-differ'
  | 'connection-limit-differs'
  | 'direct-privileges'
  | 'direct-membership'
  | 'valid-until'

export interface Drift {
  kind: DriftKind
  role: string
  detail: string
}

export interface Ownership {
  role: string
  /** '' for shared objects (databases, tablespaces). */
  database: string
  objects: number
}

/**
 * Where the family differs from what the rotation relies on. Pure: from an
 * observation and the objects each role owns (pg_shdepend).
 */
export function findDrift(obs: Observation, group: string, logins: readonly string[], ownership: Ownership[]): Drift[] {
  const drift: Drift[] = []
  const state: FamilyState | null = obs.state.kind === 'ok' ? obs.state.state : null
  if (obs.state.kind === 'invalid') drift.push({ kind: 'unreadable-state', role: group, detail: obs.state.reason })
  if (!obs.group) drift.push({ kind: 'missing-role', role: group, detail: 'the group role does not exist' })
  for (const l of logins) {
    const r = obs.logins[l]
    if (!r) {
      drift.push({ kind: 'missing-role', role: l, detail: 'the login role does not exist' })
      continue
    }
    if (!r.member) drift.push({ kind: 'not-member', role: l, detail: `not a member of "${group}"` })
    else if (!r.canSet)
      drift.push({ kind: 'cannot-set', role: l, detail: `its membership in "${group}" does not allow SET ROLE` })
    if (r.defaultRole !== group)
      drift.push({
        kind: 'missing-default-role',
        role: l,
        detail: r.defaultRole === null ? 'no SET role default' : `SET role default is "${r.defaultRole}"`,
      })
  }
  for (const o of ownership) {
    if (logins.includes(o.role)) {
      drift.push({
        kind: 'owns-objects',
        role: o.role,
        detail: `owns ${o.objects} object(s) ${o.database ? `in database "${o.database}"` : '(shared: databases or tablespaces)'}; run setup with fix-ownership: true`,
      })
    }
  }
  if (state) {
    const expected = new Set([state.active, ...(state.rotation ? [state.rotation.incoming] : [])])
    const roles = [[group, obs.group] as const, ...logins.map((l) => [l, obs.logins[l]] as const)]
    for (const [name, r] of roles) {
      if (!r) continue
      if (r.canLogin && !expected.has(name))
        drift.push({
          kind: 'unexpected-login',
          role: name,
          detail: `can log in, but the state says only ${[...expected].join(' and ')} should`,
        })
      if (!r.canLogin && expected.has(name))
        drift.push({
          kind: 'active-cannot-login',
          role: name,
          detail: 'the state says it is in use, but it is NOLOGIN',
        })
    }
  }
  drift.push(...foreignControl(obs, group, logins))
  return drift
}

/** Roles other than the admin or a superuser that hold ADMIN OPTION on, or are unexpected members of, the family's roles. */
function foreignControl(obs: Observation, group: string, logins: readonly string[]): Drift[] {
  return foreignGrantees(obs, group, logins).map((f) => ({
    kind: f.kind,
    role: f.role,
    detail:
      f.kind === 'foreign-admin'
        ? `${describeForeignGrantee(f)}: it may change its password and LOGIN (PostgreSQL 16+) and grant it`
        : `${describeForeignGrantee(f)}: it may act as it${f.role === group ? " and use the group's privileges" : ''}`,
  }))
}
