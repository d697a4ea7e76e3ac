/**
 * What else changes for the application when its single login is adopted
 * (setup with adopt: true): read-only checks whose findings are warnings, never
 * failures. The reads run after setup's transaction committed.
 */
import type { Client } from './db.js'
import { oneLine } from '../domain/escape.js'
import type { RoleConfig } from '../domain/settings.js'
import { READ_ADOPTION_ROLE, READ_HBA_RULES_FOR_ROLE, READ_SESSION_USER_MENTIONS } from './statements.js'

export interface HbaRule {
  line_number: number
  type: string
  database: string
  address: string | null
  auth_method: string
}

export interface AdoptionFacts {
  database: string
  replication: boolean
  /** Rules naming the role itself; null when the admin may not read pg_hba_file_rules. */
  hbaRules: HbaRule[] | null
  /** Up to 21 objects owned by the role or naming it whose definition mentions session_user. */
  sessionUserMentions: { kind: string; name: string }[]
  defaultAcls: number
  config: RoleConfig | undefined
}

export async function readAdoptionFacts(
  client: Client,
  group: string,
  config: RoleConfig | undefined,
): Promise<AdoptionFacts> {
  const role = (await client.query(READ_ADOPTION_ROLE, [group])).rows[0]
  let hbaRules: HbaRule[] | null = null
  if (role?.can_read_hba) {
    try {
      hbaRules = (await client.query(READ_HBA_RULES_FOR_ROLE, [group])).rows
    } catch {
      hbaRules = null // a managed service may refuse it even so
    }
  }
  const mentions = (await client.query(READ_SESSION_USER_MENTIONS, [group])).rows
  return {
    database: role?.database ?? '',
    replication: Boolean(role?.replication),
    hbaRules,
    sessionUserMentions: mentions,
    defaultAcls: role?.default_acls ?? 0,
    config,
  }
}

/** The warnings (first) and notes for setup's log and summary. Pure. */
export function adoptionFindings(
  f: AdoptionFacts,
  group: string,
  logins: readonly string[],
  now: Date,
): { warnings: string[]; notes: string[] } {
  const warnings: string[] = []
  const notes: string[] = []
  const both = logins.map((l) => `"${l}"`).join(' and ')
  if (f.hbaRules === null) {
    notes.push(
      `Adoption check skipped: the admin may not read pg_hba_file_rules (superuser only unless granted), so rules in pg_hba.conf that name "${group}" were not looked for. Check that ${both} (or +${group}) are allowed wherever "${group}" is.`,
    )
  } else if (f.hbaRules.length) {
    const rules = f.hbaRules
      .map((r) =>
        oneLine(`line ${r.line_number} (${r.type} ${r.database}${r.address ? ` ${r.address}` : ''} ${r.auth_method})`),
      )
      .join(', ')
    warnings.push(
      `pg_hba.conf names "${group}" on ${rules}: ${both} do not match those rules. Add them, or use +${group} (its members), and reload the configuration before the first open.`,
    )
  }
  const until = f.config?.validUntil
  if (until && until !== 'infinity') {
    const expired = Date.parse(until) <= now.getTime()
    warnings.push(
      `"${group}" has VALID UNTIL ${until}${expired ? ' (already passed)' : ''}: it keeps it while it is the active login, so finish the first rotation before then. The logins get no VALID UNTIL: their passwords are replaced by each rotation.`,
    )
  }
  if (f.replication)
    warnings.push(
      `"${group}" has REPLICATION, which is checked for the role a session logs in as: ${both} do not get it. Replication connections must keep another role.`,
    )
  if (f.sessionUserMentions.length) {
    const shown = f.sessionUserMentions
      .slice(0, 20)
      .map((m) => oneLine(`${m.kind} ${m.name}`))
      .join(', ')
    const more = f.sessionUserMentions.length > 20 ? ' and more' : ''
    warnings.push(
      `session_user becomes the login's name (${both}) instead of "${group}", and these objects in database "${oneLine(f.database)}" mention it: ${shown}${more}. Compare current_user (the group) where the role is meant, or accept either login.`,
    )
  } else {
    notes.push(
      `No policy, function, column default or view in database "${oneLine(f.database)}" that "${group}" owns or that names it mentions session_user (which becomes the login's name); other databases were not checked.`,
    )
  }
  if (f.defaultAcls > 0) {
    notes.push(
      `${f.defaultAcls} default privilege rule(s) are defined for "${group}" (ALTER DEFAULT PRIVILEGES FOR ROLE): they keep applying, because sessions of ${both} create objects as "${group}" (SET role); a session that switches to its login itself would create objects without them.`,
    )
  }
  return { warnings, notes }
}
