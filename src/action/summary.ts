import { markdownCode, markdownText } from '../domain/escape.js'
import { describeSessions } from '../domain/family.js'
import type { PoolerView } from '../domain/drain-rule.js'
import type { PhaseResult, StatusReport } from '../domain/result.js'
import { describeWrittenBack } from '../domain/state.js'

/** The job summary of a phase, as Markdown. Holds no secret: statements are already redacted. */
export function renderSummary(r: PhaseResult): string {
  const lines: string[] = []
  const verdict = r.failure ? 'failed' : 'done'
  lines.push(`### PostgreSQL credential rotation: \`${r.phase}\` ${verdict}`, '')
  const o = r.outputs
  const facts: [string, string | undefined][] = [
    ['group role', r.group],
    ['state', o.state],
    ...loginFacts(r),
    ['rotation', o.rotationId],
    ['remaining connections', o.remainingConnections?.toString()],
    ['drained', o.drained?.toString()],
  ]
  for (const [k, v] of facts) if (v !== undefined) lines.push(`- **${k}**: ${esc(v)}`)
  lines.push('')

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
    lines.push(
      `| ${esc(l.name)} | login | ${yesNo(l.canLogin)} | ${esc(describeSessions(r.sessions, l.name))} | ${yesNo(l.member && l.canSet)} | ${l.defaultRole === null ? '(none)' : esc(l.defaultRole)} |`,
    )
  }
  lines.push('')
  if (r.failure) lines.push(`**${esc(r.failure)}**`, '')
  if (r.poolers?.length)
    lines.push(
      ...renderPoolers(
        r.poolers,
        r.roles.logins.map((l) => l.name),
      ),
    )
  if (r.status) lines.push(...renderStatus(r.status))
  if (r.changes.length) {
    lines.push(
      '<details><summary>What changed</summary>',
      '',
      '```sql',
      ...r.changes.map((c) => `${c};`),
      '```',
      '',
      '</details>',
      '',
    )
  } else {
    lines.push('No role was changed.', '')
  }
  if (r.notes.length) lines.push(...r.notes.map((n) => `> ${esc(n)}`), '')
  return lines.join('\n')
}

/**
 * username and previous-username, named as the state names them: while a rotation is open,
 * the state's active login is the outgoing one and username is the incoming login to use now.
 */
function loginFacts(r: PhaseResult): [string, string | undefined][] {
  const o = r.outputs
  if (o.state === 'open')
    return [
      ['login to use now (incoming)', o.username],
      ['active login (outgoing, until close)', o.previousUsername],
    ]
  return [
    ['active login', o.username],
    [r.phase === 'abort' ? 'aborted login' : 'previous login', o.previousUsername],
  ]
}

function renderStatus(st: StatusReport): string[] {
  const out = [`**${esc(st.group)}**: ${esc(st.description)}`, '']
  if (st.rotation)
    out.push(
      `Open rotation ${markdownCode(st.rotation.id)} since ${esc(st.rotation.openedAt)}${st.rotation.openedBy.runId ? ` (workflow run ${esc(st.rotation.openedBy.runId)}${st.rotation.openedBy.actor ? ` by ${esc(st.rotation.openedBy.actor)}` : ''})` : ''}.`,
      '',
    )
  if (st.writtenBack) out.push(`> ${esc(describeWrittenBack(st.writtenBack))}`, '')
  const rotated = Object.entries(st.passwordSetAt)
  if (rotated.length)
    out.push('| login | password last set |', '|---|---|', ...rotated.map(([l, t]) => `| ${esc(l)} | ${esc(t)} |`), '')
  if (st.sessions.length) {
    out.push('| login | server | database | application | client | sessions |', '|---|---|---|---|---|---|')
    for (const x of st.sessions)
      out.push(
        `| ${esc(x.login)} | ${esc(x.server)} | ${x.database === null ? '' : markdownCode(x.database, true)} | ${markdownCode(x.applicationName, true)} | ${x.addrHidden ? 'hidden (grant pg_read_all_stats to see it)' : x.clientAddr === null ? 'local' : markdownCode(x.clientAddr, true)} | ${x.count} |`,
      )
    out.push('')
  }
  if (st.replicas?.length) {
    out.push('| replica | replay behind | last replayed transaction | recovery_min_apply_delay |', '|---|---|---|---|')
    for (const r of st.replicas)
      out.push(
        `| ${esc(r.replica)} | ${r.behindBytes} bytes | ${r.lastReplayAgeS === null ? 'none yet' : `${r.lastReplayAgeS} s ago`} | ${markdownCode(r.applyDelay, true)} |`,
      )
    out.push('')
  }
  if (st.poolers?.length) {
    out.push(
      ...renderPoolers(
        st.poolers,
        Object.keys(st.canLogin).filter((l) => l !== st.group),
      ),
    )
    for (const p of st.poolers)
      for (const f of p.forcedUsers)
        out.push(
          `> Pooler ${esc(p.label)}: database entry ${code(f.database)} forces user ${code(f.user)}; the server sees only that user, so drain and close cannot tell its clients' logins apart.`,
          '',
        )
  }
  if (st.drift.length) {
    out.push(
      '**Drift**',
      '',
      '| role | problem | detail |',
      '|---|---|---|',
      ...st.drift.map((d) => `| ${esc(d.role)} | ${d.kind} | ${esc(d.detail)} |`),
      '',
    )
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
  const outcome = committed
    ? 'Some changes were made before the failure (a commit, GitHub secrets written, or sessions ended): the message above says which.'
    : 'Nothing was changed.'
  return `### PostgreSQL credential rotation: \`${phase || '(no phase)'}\` failed\n\n**${esc(message)}**\n\n${outcome}\n`
}

/** Per pooler: version, and clients and server connections of each login. */
function renderPoolers(views: PoolerView[], logins: string[]): string[] {
  const out = ['| pooler | version | login | clients | server connections (in use) |', '|---|---|---|---|---|']
  for (const v of views) {
    if (v.error !== undefined) {
      out.push(`| ${esc(v.label)} | not readable: ${code(v.error)} | | | |`)
      continue
    }
    const modes =
      'poolModes' in v ? ` (${(v as PoolerView & { poolModes: string[] }).poolModes.map(esc).join(', ')})` : ''
    for (const l of logins)
      out.push(
        `| ${esc(v.label)} | ${esc(v.version)}${modes} | ${esc(l)} | ${v.clients[l] ?? 0} | ${v.servers[l]?.total ?? 0} (${v.servers[l]?.inUse ?? 0}) |`,
      )
  }
  out.push('')
  return out
}

/** Server text in a code span (backticks cannot close it). */
function code(s: string): string {
  return `\`${s
    .replace(/`/g, "'")
    .replace(/[\r\n]+/g, ' ')
    .replace(/\|/g, '\\|')}\``
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no'
}

/** Every text that is not the action's own: role names, server text, anything read from the state comment. */
function esc(s: string): string {
  return markdownText(s)
}
