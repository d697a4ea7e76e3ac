/**
 * Role configuration that a session depends on and that belongs to the role it
 * logs in as (not the role it switches to with SET role): role settings
 * (ALTER ROLE ... [IN DATABASE ...] SET) and the connection limit. Pure: the
 * decisions of what to copy, what to reset and what counts as drift.
 */
import type { Step } from '../postgres/statements.js'
import { oneLine } from './escape.js'

export interface RoleSetting {
  /** null for a role-wide setting; else the database of an IN DATABASE setting. */
  database: string | null
  name: string
  /** The value as pg_db_role_setting stores it (list settings already quoted element by element). */
  value: string
}

export interface RoleConfig {
  settings: RoleSetting[]
  /** -1 for no limit. */
  connectionLimit: number
  /** ISO time, 'infinity', or null. */
  validUntil: string | null
}

/** The setting that makes a login's sessions run as the group; set by setup, never copied. */
const ROLE_SETTING = 'role'

/** "name=value" as in pg_db_role_setting.setconfig; null when there is no '='. */
export function parseSetconfig(entry: string, database: string | null): RoleSetting | null {
  const eq = entry.indexOf('=')
  if (eq <= 0) return null
  return { database, name: entry.slice(0, eq), value: entry.slice(eq + 1) }
}

function key(s: Pick<RoleSetting, 'database' | 'name'>): string {
  return `${s.database ?? ''}\u0000${s.name.toLowerCase()}`
}

export function isRoleSetting(s: Pick<RoleSetting, 'name'>): boolean {
  return s.name.toLowerCase() === ROLE_SETTING
}

/** The settings a login copies (everything but `role`). */
export function portableSettings(config: RoleConfig | undefined): RoleSetting[] {
  return (config?.settings ?? []).filter((s) => !isRoleSetting(s))
}

/** `name (in database "other")` */
export function describeSettingName(s: Pick<RoleSetting, 'database' | 'name'>): string {
  return `${oneLine(s.name)}${s.database === null ? '' : ` (in database "${oneLine(s.database)}")`}`
}

/** "search_path=myschema, public" or "work_mem=8MB (in database "other")" */
export function describeSetting(s: RoleSetting): string {
  return `${oneLine(s.name)}=${oneLine(s.value)}${s.database === null ? '' : ` (in database "${oneLine(s.database)}")`}`
}

export interface SyncPlan {
  steps: Step[]
  copied: RoleSetting[]
  reset: RoleSetting[]
  connectionLimit: number | null
}

/**
 * The steps that make `target` carry the same settings (except `role`) and
 * connection limit as `source`: settings it lacks or holds with another value
 * are set, settings the source does not have are reset. Empty when they match.
 */
export function syncConfig(source: RoleConfig, target: string, current: RoleConfig | undefined): SyncPlan {
  const want = portableSettings(source)
  const have = new Map(portableSettings(current).map((s) => [key(s), s]))
  const wanted = new Set(want.map(key))
  const steps: Step[] = []
  const copied: RoleSetting[] = []
  const reset: RoleSetting[] = []
  for (const s of want) {
    if (have.get(key(s))?.value === s.value) continue
    steps.push({ kind: 'set-setting', role: target, database: s.database, name: s.name, value: s.value })
    copied.push(s)
  }
  for (const s of have.values()) {
    if (wanted.has(key(s))) continue
    steps.push({ kind: 'reset-setting', role: target, database: s.database, name: s.name })
    reset.push(s)
  }
  let connectionLimit: number | null = null
  if ((current?.connectionLimit ?? -1) !== source.connectionLimit) {
    connectionLimit = source.connectionLimit
    steps.push({ kind: 'set-connection-limit', role: target, limit: source.connectionLimit })
  }
  return { steps, copied, reset, connectionLimit }
}

/** One sentence for the log and summary: what a sync changed on `target`, or null when nothing. */
export function describeSync(source: string, target: string, sync: SyncPlan): string | null {
  if (sync.steps.length === 0) return null
  const parts: string[] = []
  if (sync.copied.length) parts.push(`set ${sync.copied.map(describeSetting).join(', ')}`)
  if (sync.reset.length) parts.push(`reset ${sync.reset.map(describeSettingName).join(', ')} (not on "${source}")`)
  if (sync.connectionLimit !== null)
    parts.push(`connection limit ${sync.connectionLimit === -1 ? 'none' : sync.connectionLimit}`)
  return `Copied the configuration of "${source}" to "${target}": ${parts.join('; ')}.`
}

/** Steps removing every setting of a role (the group role once no session logs in as it). */
export function resetAll(role: string, config: RoleConfig | undefined): { steps: Step[]; removed: RoleSetting[] } {
  const removed = config?.settings ?? []
  return {
    steps: removed.map((s) => ({ kind: 'reset-setting' as const, role, database: s.database, name: s.name })),
    removed,
  }
}

/** Settings that differ between two roles (except `role`): [name, value on a, value on b]. */
export function settingDifferences(
  a: RoleConfig | undefined,
  b: RoleConfig | undefined,
): { setting: string; a: string | null; b: string | null }[] {
  const left = new Map(portableSettings(a).map((s) => [key(s), s]))
  const right = new Map(portableSettings(b).map((s) => [key(s), s]))
  const out: { setting: string; a: string | null; b: string | null }[] = []
  for (const k of new Set([...left.keys(), ...right.keys()])) {
    const x = left.get(k)
    const y = right.get(k)
    const s = x ?? y
    if (!s || x?.value === y?.value) continue
    out.push({
      setting: `${oneLine(s.name)}${s.database === null ? '' : ` in database "${oneLine(s.database)}"`}`,
      a: x?.value ?? null,
      b: y?.value ?? null,
    })
  }
  return out.sort((p, q) => p.setting.localeCompare(q.setting))
}

/**
 * Steps and notes that make each target login match `source` (the single
 * login being adopted, or the outgoing login of a rotation). Nothing when the
 * observation carries no configuration.
 */
export function followConfig(
  configs: Record<string, RoleConfig> | undefined,
  source: string,
  targets: readonly string[],
): { steps: Step[]; notes: string[] } {
  const from = configs?.[source]
  if (!configs || !from) return { steps: [], notes: [] }
  const steps: Step[] = []
  const notes: string[] = []
  for (const target of targets) {
    const sync = syncConfig(from, target, configs[target])
    steps.push(...sync.steps)
    const note = describeSync(source, target, sync)
    if (note) notes.push(note)
  }
  return { steps, notes }
}

/** Steps and a note removing the settings of a former login that became NOLOGIN (the adopted group role). */
export function retireSettings(
  configs: Record<string, RoleConfig> | undefined,
  role: string,
  movedTo: string,
): { steps: Step[]; notes: string[] } {
  const { steps, removed } = resetAll(role, configs?.[role])
  if (!steps.length) return { steps, notes: [] }
  return {
    steps,
    notes: [
      `Removed the settings of "${role}", which no session logs in as any more (they live on the login roles, "${movedTo}" among them): ${removed.map(describeSetting).join(', ')}.`,
    ],
  }
}
