import { describeSessions } from './family.js'
import type { PhaseResult } from './result.js'

/** The job summary of a phase, as Markdown. Holds no secret: statements are already redacted. */
export function renderSummary(r: PhaseResult): string {
  const lines: string[] = []
  const verdict = r.failure ? 'failed' : 'done'
  lines.push(`### PostgreSQL credential rotation: \`${r.phase}\` ${verdict}`, '')
  const o = r.outputs
  const facts: [string, string | undefined][] = [
    ['group role', r.group],
    ['state', o.state],
    ['active login', o.username],
    ['outgoing login', o.previousUsername],
    ['rotation', o.rotationId],
    ['remaining connections', o.remainingConnections?.toString()],
    ['drained', o.drained?.toString()],
  ]
  lines.push(...facts.filter(([, v]) => v !== undefined).map(([k, v]) => `- **${k}**: ${esc(v!)}`), '')

  lines.push('| role | kind | can log in | sessions | member of group | default role |', '|---|---|---|---|---|---|')
  const g = r.roles.group
  lines.push(`| ${esc(r.group)} | group | ${g ? yesNo(g.canLogin) : 'missing'} | | | |`)
  for (const l of r.roles.logins) {
    if ('missing' in l) {
      lines.push(`| ${esc(l.name)} | login | missing | | | |`)
      continue
    }
    lines.push(`| ${esc(l.name)} | login | ${yesNo(l.canLogin)} | ${esc(describeSessions(r.sessions, l.name))} | ${yesNo(l.member && l.canSet)} | ${l.defaultRole === null ? '(none)' : esc(l.defaultRole)} |`)
  }
  lines.push('')
  if (r.failure) lines.push(`**${esc(r.failure)}**`, '')
  if (r.changes.length) {
    lines.push('<details><summary>What changed</summary>', '', '```sql', ...r.changes.map((c) => `${c};`), '```', '', '</details>', '')
  } else {
    lines.push('No role was changed.', '')
  }
  if (r.notes.length) lines.push(...r.notes.map((n) => `> ${esc(n)}`), '')
  return lines.join('\n')
}

/** The summary of a phase that failed before it had a result. */
export function renderFailureSummary(phase: string, message: string): string {
  return `### PostgreSQL credential rotation: \`${phase || '(no phase)'}\` failed\n\n**${esc(message)}**\n\nNothing was changed.\n`
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no'
}

function esc(s: string): string {
  return s.replace(/[|<>]/g, (c) => `&#${c.charCodeAt(0)};`)
}
