/**
 * The story of a phase for the log at the default level: one line per change it made
 * (created, enabled, disabled, copied a setting, recorded the state), the notes and
 * warnings of its summary that were not printed while it ran, and one closing line with
 * the outcome. Pure: a front end (the Action adapter, a CLI) prints what it returns.
 */
import type { PhaseResult } from './result.js'

const IDENT = '"((?:[^"]|"")*)"'
const unquote = (s: string) => `"${s.replace(/""/g, '"')}"`

/** [pattern, description] for each statement shape src/postgres/statements.ts renders (display form). */
const SHAPES: [RegExp, (m: RegExpExecArray) => string][] = [
  [new RegExp(`^CREATE ROLE ${IDENT} NOLOGIN$`), (m) => `Created role ${unquote(m[1])} (NOLOGIN).`],
  [
    new RegExp(`^GRANT ${IDENT} TO ${IDENT}`),
    (m) => `Made ${unquote(m[2])} a member of ${unquote(m[1])} (inherits its privileges, may SET ROLE to it).`,
  ],
  [
    new RegExp(`^ALTER ROLE ${IDENT} SET role = '((?:[^']|'')*)'$`),
    (m) => `Set the default role of ${unquote(m[1])} to "${m[2].replace(/''/g, "'")}".`,
  ],
  [new RegExp(`^ALTER ROLE ${IDENT} WITH LOGIN PASSWORD `), (m) => `Enabled ${unquote(m[1])} with a new password.`],
  [
    new RegExp(`^ALTER ROLE ${IDENT} WITH NOLOGIN PASSWORD `),
    (m) => `Disabled ${unquote(m[1])} (NOLOGIN, and a random password nobody knows).`,
  ],
  [new RegExp(`^COMMENT ON ROLE ${IDENT} IS `), (m) => `Recorded the rotation state on ${unquote(m[1])}.`],
  [
    new RegExp(`^ALTER ROLE ${IDENT}(?: IN DATABASE ${IDENT})? SET ${IDENT} TO `),
    (m) =>
      `Copied the setting ${m[3].replace(/""/g, '"')} to ${unquote(m[1])}${m[2] ? ` in database ${unquote(m[2])}` : ''}.`,
  ],
  [
    new RegExp(`^ALTER ROLE ${IDENT}(?: IN DATABASE ${IDENT})? RESET ${IDENT}$`),
    (m) =>
      `Removed the setting ${m[3].replace(/""/g, '"')} from ${unquote(m[1])}${m[2] ? ` in database ${unquote(m[2])}` : ''}.`,
  ],
  [
    new RegExp(`^ALTER ROLE ${IDENT} CONNECTION LIMIT (-?\\d+)$`),
    (m) => `Set the connection limit of ${unquote(m[1])} to ${m[2]}.`,
  ],
  [
    new RegExp(`^REASSIGN OWNED BY (.*) TO ${IDENT}$`),
    (m) => `Moved the objects owned by ${m[1]} to ${unquote(m[2])}.`,
  ],
]

/** One sentence for an executed statement (its display form, secrets already '***'). */
export function describeChange(display: string): string {
  for (const [re, say] of SHAPES) {
    const m = re.exec(display)
    if (m) return say(m)
  }
  return `Ran: ${display.length > 200 ? `${display.slice(0, 200)}…` : display}`
}

/** One sentence per executed statement, in order. */
export function describeChanges(changes: readonly string[]): string[] {
  return changes.map(describeChange)
}

export interface PhaseStory {
  /** Lines for the log, in order. */
  info: string[]
  /** The summary's warnings that the log has not shown yet. */
  warnings: string[]
}

/** A note that the summary shows as a warning. */
const isWarning = (note: string) => /^Warning\b/i.test(note)

/**
 * What the log should say after the phase: its changes, the notes and warnings of the
 * summary that `printed` (the messages already logged while the phase ran) does not hold,
 * and the outcome in one line.
 */
export function phaseStory(r: PhaseResult, printed: ReadonlySet<string> = new Set()): PhaseStory {
  const info: string[] = []
  const warnings: string[] = []
  const changes = describeChanges(r.changes)
  if (changes.length) info.push(`${r.phase}: ${changes.length} change${changes.length === 1 ? '' : 's'}, committed:`)
  info.push(...changes.map((c) => `  ${c}`))
  for (const note of r.notes) {
    if (printed.has(note)) continue
    if (isWarning(note)) warnings.push(note)
    else info.push(note)
  }
  info.push(outcome(r))
  return { info, warnings }
}

function outcome(r: PhaseResult): string {
  const o = r.outputs
  const parts: string[] = []
  if (o.state) parts.push(`state ${o.state}`)
  if (o.username) parts.push(`login to use: "${o.username}"${o.state === 'open' ? ' (incoming)' : ''}`)
  if (o.previousUsername)
    parts.push(
      `${r.phase === 'abort' ? 'aborted' : o.state === 'open' ? 'outgoing (still active until close)' : 'previous'}: "${o.previousUsername}"`,
    )
  if (o.rotationId) parts.push(`rotation ${o.rotationId}`)
  if (o.remainingConnections !== undefined) parts.push(`${o.remainingConnections} sessions of the old login left`)
  const verdict = r.failure
    ? 'failed'
    : r.changes.length || r.phase === 'unseal' || r.phase === 'status'
      ? 'done'
      : 'done, nothing changed'
  return `${r.phase} ${verdict}${parts.length ? `: ${parts.join(', ')}` : ''}.`
}
