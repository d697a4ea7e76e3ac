/**
 * Configuration drift: what makes a session of one login behave differently
 * from a session of the other, or from what a DBA expects. Pure: from an
 * observation (with role configs) and the direct grants read by status.
 */
import type { Drift } from './drift.js'
import type { Observation } from './family.js'
import { oneLine } from './escape.js'
import { describeSetting, isRoleSetting, settingDifferences, type RoleConfig } from './settings.js'

/** Privileges of one kind granted to a login directly (READ_DIRECT_GRANTS). */
export interface DirectGrant {
  login: string
  kind: string
  database: string
  objects: number
  examples: string[]
}

/** A login's direct membership in a role other than the group (READ_LOGIN_MEMBERSHIPS). */
export interface DirectMembership {
  login: string
  role: string
}

export function findConfigDrift(
  obs: Observation,
  group: string,
  logins: readonly string[],
  grants: DirectGrant[] = [],
  memberships: DirectMembership[] = [],
): Drift[] {
  const configs = obs.configs ?? {}
  const state = obs.state.kind === 'ok' ? obs.state.state : null
  const reference = state?.active ?? logins[0]
  const drift: Drift[] = [...groupSettings(configs[group], group, reference)]
  for (const login of logins) {
    const own = configs[login]
    if (!own) continue
    for (const s of own.settings) {
      if (isRoleSetting(s) && s.database !== null && s.value !== group) {
        drift.push({
          kind: 'missing-default-role',
          role: login,
          detail: `in database "${oneLine(s.database)}" its SET role default is "${oneLine(s.value)}", not "${group}"`,
        })
      }
    }
    if (login !== reference && configs[reference]) drift.push(...differences(configs[reference], own, reference, login))
    if (own.validUntil !== null && own.validUntil !== 'infinity') {
      drift.push({
        kind: 'valid-until',
        role: login,
        detail: `VALID UNTIL ${own.validUntil}: every password open issues to it expires then; rotation replaces passwords, so remove it (ALTER ROLE ... VALID UNTIL 'infinity')`,
      })
    }
  }
  for (const g of grants) {
    const more = g.objects > g.examples.length ? ` and ${g.objects - g.examples.length} more` : ''
    drift.push({
      kind: 'direct-privileges',
      role: g.login,
      detail: `has ${g.kind} privileges granted to it directly in database "${oneLine(g.database)}" on ${g.objects} object(s) (${g.examples.map(oneLine).join(', ')}${more}); the other login lacks them: grant them to "${group}" and revoke them from the login`,
    })
  }
  for (const m of memberships) {
    drift.push({
      kind: 'direct-membership',
      role: m.login,
      detail: `is a member of "${oneLine(m.role)}" directly; the other login is not: grant "${oneLine(m.role)}" to "${group}" instead`,
    })
  }
  return drift
}

function groupSettings(config: RoleConfig | undefined, group: string, active: string): Drift[] {
  // While the adopted group role is still the active login its settings apply to its sessions.
  if (!config?.settings.length || active === group) return []
  return [
    {
      kind: 'group-settings',
      role: group,
      detail: `has settings that never apply to a session (settings apply to the role a session logs in as, and sessions log in as the logins): ${config.settings.map(describeSetting).join(', ')}; set them on the active login (the next open copies them to the other) and reset them here`,
    },
  ]
}

function differences(ref: RoleConfig, own: RoleConfig, reference: string, login: string): Drift[] {
  const out: Drift[] = []
  const diffs = settingDifferences(ref, own)
  if (diffs.length) {
    const shown = (v: string | null) => (v === null ? 'not set' : `"${oneLine(v)}"`)
    out.push({
      kind: 'settings-differ',
      role: login,
      detail: `settings differ from the active login "${reference}": ${diffs.map((d) => `${d.setting} ${shown(d.b)} here, ${shown(d.a)} on "${reference}"`).join('; ')}; the next open that hands out "${login}" copies them from "${reference}"`,
    })
  }
  if (ref.connectionLimit !== own.connectionLimit) {
    const shown = (n: number) => (n === -1 ? 'none' : String(n))
    out.push({
      kind: 'connection-limit-differs',
      role: login,
      detail: `connection limit ${shown(own.connectionLimit)}, but ${shown(ref.connectionLimit)} on the active login "${reference}"`,
    })
  }
  return out
}
