/**
 * The result of a phase for a person at a terminal: what the job summary says, as plain
 * lines and aligned columns, each change as a sentence (src/domain/story.ts), the SQL with
 * --verbose. Every text that is not the CLI's own (role names, server text,
 * statements) is masked and has its control characters escaped; outputs keep the action's
 * names, so what a person reads matches the --json keys and the action's outputs.
 */
import { describeSessions } from '../domain/family.js'
import type { PoolerView } from '../domain/drain-rule.js'
import { OUTPUT_NAMES, type PhaseOutputs, type PhaseResult, type StatusReport } from '../domain/result.js'
import { describeWrittenBack } from '../domain/state.js'
import { describeChanges } from '../domain/story.js'
import type { Masker } from './mask.js'
import { terminalText, type Style } from './reporter.js'

/** `sql`: list the statements executed (redacted) after the sentences that describe them (--verbose). */
export function renderResult(r: PhaseResult, masker: Masker, style: Style, sql = false): string {
  const t = (s: string) => terminalText(masker.mask(s)).replace(/\n/g, ' ')
  const verdict = r.failure ? style.red('failed') : style.green('done')
  const out = [`${style.bold(r.phase)} ${verdict}`, ...outputLines(r, masker, t), '']
  if (!r.offline) {
    out.push(style.bold('Roles'), ...table(roleRows(r).map((row) => row.map(t))), '')
    if (r.poolers?.length) out.push(style.bold('Poolers'), ...poolerTable(r.poolers, loginNames(r), t), '')
  }
  if (r.status) out.push(...statusLines(r.status, t, style))
  if (!r.offline) {
    if (r.changes.length) out.push(style.bold('Changes'), ...describeChanges(r.changes).map((c) => `  ${t(c)}`), '')
    else out.push('No role was changed.', '')
    if (sql && r.changes.length) out.push(style.bold('Statements'), ...r.changes.map((c) => `  ${t(c)};`), '')
  }
  for (const n of r.notes) out.push(`${style.dim('note:')} ${t(n)}`)
  return `${out.join('\n').replace(/\n+$/, '')}\n`
}

/** The group role, then every output the phase set, by its action name (status: rendered below instead). */
function outputLines(r: PhaseResult, masker: Masker, t: (s: string) => string): string[] {
  const rows: string[][] = [['group role', t(r.group)]]
  for (const [field, name] of Object.entries(OUTPUT_NAMES) as [keyof PhaseOutputs, string][]) {
    const value = r.outputs[field]
    if (value === undefined) continue
    const text = String(value)
    // A value holding a hidden secret (the password, database-url, pgbouncer-userlist's verifiers) is hidden whole.
    rows.push([name, masker.mask(text) !== text ? '***  (--show-secrets prints it)' : t(text)])
  }
  return table(rows)
}

function loginNames(r: PhaseResult): string[] {
  return r.roles.logins.map((l) => l.name)
}

function roleRows(r: PhaseResult): string[][] {
  const rows = [['role', 'kind', 'can log in', 'sessions', 'member of group', 'default role']]
  const g = r.roles.group
  rows.push([r.group, 'group', g ? yesNo(g.canLogin) : 'missing', '', '', ''])
  for (const l of r.roles.logins) {
    if ('missing' in l) rows.push([l.name, 'login', 'missing', '', '', ''])
    else
      rows.push([
        l.name,
        'login',
        yesNo(l.canLogin),
        describeSessions(r.sessions, l.name),
        yesNo(l.member && l.canSet),
        l.defaultRole ?? '(none)',
      ])
  }
  return rows
}

function statusLines(st: StatusReport, t: (s: string) => string, style: Style): string[] {
  const out = [`${style.bold(t(st.group))}: ${t(st.description)}`]
  if (st.rotation) {
    const by = st.rotation.openedBy.runId
      ? ` (run ${st.rotation.openedBy.runId}${st.rotation.openedBy.actor ? ` by ${st.rotation.openedBy.actor}` : ''})`
      : ''
    out.push(t(`Open rotation ${st.rotation.id} since ${st.rotation.openedAt}${by}.`))
  }
  if (st.writtenBack) out.push(t(describeWrittenBack(st.writtenBack)))
  out.push('')
  const rotated = Object.entries(st.passwordSetAt)
  if (rotated.length) out.push(...table([['login', 'password last set'], ...rotated].map((row) => row.map(t))), '')
  if (st.sessions.length) {
    const rows = [['login', 'server', 'database', 'application', 'client', 'sessions']]
    for (const x of st.sessions)
      rows.push([x.login, x.server, x.database ?? '', x.applicationName, x.clientAddr ?? 'local', String(x.count)])
    out.push(style.bold('Sessions'), ...table(rows.map((row) => row.map(t))), '')
  }
  if (st.poolers?.length) {
    const logins = Object.keys(st.canLogin).filter((l) => l !== st.group)
    out.push(style.bold('Poolers'), ...poolerTable(st.poolers, logins, t), '')
    for (const p of st.poolers)
      for (const f of p.forcedUsers)
        out.push(
          t(
            `Pooler ${p.label}: database entry ${f.database} forces user ${f.user}; the server sees only that user, so drain and close cannot tell its clients' logins apart.`,
          ),
        )
  }
  if (st.drift.length)
    out.push(
      style.bold('Drift'),
      ...table(
        [['role', 'problem', 'detail'], ...st.drift.map((d) => [d.role, d.kind, d.detail])].map((r) => r.map(t)),
      ),
      '',
    )
  else out.push('No drift.', '')
  return out
}

function poolerTable(views: PoolerView[], logins: string[], t: (s: string) => string): string[] {
  const rows = [['pooler', 'version', 'login', 'clients', 'server connections (in use)']]
  for (const v of views) {
    if (v.error !== undefined) {
      rows.push([v.label, `not readable: ${v.error}`, '', '', ''])
      continue
    }
    const modes = 'poolModes' in v ? ` (${(v as PoolerView & { poolModes: string[] }).poolModes.join(', ')})` : ''
    for (const l of logins)
      rows.push([
        v.label,
        `${v.version}${modes}`,
        l,
        String(v.clients[l] ?? 0),
        `${v.servers[l]?.total ?? 0} (${v.servers[l]?.inUse ?? 0})`,
      ])
  }
  return table(rows.map((row) => row.map(t)))
}

/** Rows as aligned columns, two spaces in, two between. */
function table(rows: string[][]): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)))
  return rows.map((row) =>
    `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - [...cell].length))).join('  ')}`.trimEnd(),
  )
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no'
}
