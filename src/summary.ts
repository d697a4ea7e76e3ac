import { describeSessions } from './family.js'
import type { PhaseResult, StatusReport } from './result.js'

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

  if (r.offline) {
    if (r.notes.length) lines.push(...r.notes.map((n) => `> ${esc(n)}`), '')
    return lines.join('\n')
  }
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
  if (r.status) lines.push(...renderStatus(r.status))
  if (r.changes.length) {
    lines.push('<details><summary>What changed</summary>', '', '```sql', ...r.changes.map((c) => `${c};`), '```', '', '</details>', '')
  } else {
    lines.push('No role was changed.', '')
  }
  if (r.notes.length) lines.push(...r.notes.map((n) => `> ${esc(n)}`), '')
  return lines.join('\n')
}

function renderStatus(st: StatusReport): string[] {
  const out = [`**${esc(st.group)}**: ${esc(st.description)}`, '']
  if (st.rotation) out.push(`Open rotation \`${st.rotation.id}\` since ${st.rotation.openedAt}${st.rotation.openedBy.runId ? ` (workflow run ${st.rotation.openedBy.runId}${st.rotation.openedBy.actor ? ` by ${esc(st.rotation.openedBy.actor)}` : ''})` : ''}.`, '')
  const rotated = Object.entries(st.passwordSetAt)
  if (rotated.length) out.push('| login | password last set |', '|---|---|', ...rotated.map(([l, t]) => `| ${esc(l)} | ${t} |`), '')
  if (st.sessions.length) {
    out.push('| login | server | database | application | client | sessions |', '|---|---|---|---|---|---|')
    for (const x of st.sessions) out.push(`| ${esc(x.login)} | ${esc(x.server)} | ${esc(x.database ?? '')} | ${esc(x.applicationName)} | ${esc(x.clientAddr ?? 'local')} | ${x.count} |`)
    out.push('')
  }
  if (st.drift.length) {
    out.push('**Drift**', '', '| role | problem | detail |', '|---|---|---|', ...st.drift.map((d) => `| ${esc(d.role)} | ${d.kind} | ${esc(d.detail)} |`), '')
  } else {
    out.push('No drift.', '')
  }
  return out
}

/**
 * The summary of a phase that failed before it had a result. `committed`: the
 * phase changed something durably before it failed (see wasCommitted); the
 * message says what, and the summary must not claim that nothing changed.
 */
export function renderFailureSummary(phase: string, message: string, committed = false): string {
  const outcome = committed ? 'Some changes were made before the failure (a commit, or GitHub secrets written): the message above says which.' : 'Nothing was changed.'
  return `### PostgreSQL credential rotation: \`${phase || '(no phase)'}\` failed\n\n**${esc(message)}**\n\n${outcome}\n`
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no'
}

function esc(s: string): string {
  return s.replace(/[|<>]/g, (c) => `&#${c.charCodeAt(0)};`)
}
