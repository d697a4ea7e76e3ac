import { describe, expect, it } from 'vitest'
import type { Phase } from '../../src/inputs/config.js'
import type { PhaseResult } from '../../src/domain/result.js'
import { renderFailureSummary, renderSummary } from '../../src/action/summary.js'
import { loginRole as role } from '../harness/fixtures.js'

const PASSWORD = 'Xq7-Secret_pw.~abcdefghijklmnop'
const DATABASE_URL = `postgresql://app_b:${PASSWORD}@db.example.com:5432/appdb?sslmode=require`

function result(over: Partial<PhaseResult> = {}): PhaseResult {
  return {
    phase: 'open',
    group: 'app',
    outputs: {
      username: 'app_b',
      password: PASSWORD,
      databaseUrl: DATABASE_URL,
      previousUsername: 'app_a',
      rotationId: 'r-1',
      state: 'open',
    },
    changes: [
      `ALTER ROLE "app_b" WITH LOGIN PASSWORD '***'`,
      `COMMENT ON ROLE "app" IS '{"tool":"pg-credential-rotation"}'`,
    ],
    notes: [],
    roles: {
      group: role('app', { member: false, canSet: false, inherits: false, defaultRole: null }),
      logins: [role('app_a', { canLogin: true }), role('app_b', { canLogin: true })],
    },
    sessions: [
      { login: 'app_a', database: 'appdb', applicationName: 'web', clientAddr: '10.0.0.1', count: 2 },
      { login: 'app_a', database: 'reports', applicationName: 'bi', clientAddr: '10.0.0.2', count: 1 },
    ],
    ...over,
  }
}

/** The table rows of the summary (header, separator and one row per role). */
function tableRows(md: string): string[] {
  return md.split('\n').filter((l) => l.startsWith('|'))
}

describe('renderSummary', () => {
  it.each(['setup', 'open', 'verify-drain', 'close'] as Phase[])(
    'never contains the password or the database URL (%s)',
    (phase) => {
      for (const failure of [undefined, 'Not drained: something']) {
        const md = renderSummary(result({ phase, failure }))
        expect(md).not.toContain(PASSWORD)
        expect(md).not.toContain(encodeURIComponent(PASSWORD))
        expect(md).not.toContain(DATABASE_URL)
        expect(md).not.toContain('db.example.com')
      }
    },
  )

  it('names the phase and says it is done', () => {
    expect(renderSummary(result()).split('\n')[0]).toBe('### PostgreSQL credential rotation: `open` done')
  })

  it('says failed and shows the failure in bold when the phase must fail', () => {
    const md = renderSummary(result({ phase: 'verify-drain', failure: 'Not drained: "app_a" still has 3 sessions.' }))
    expect(md.split('\n')[0]).toBe('### PostgreSQL credential rotation: `verify-drain` failed')
    expect(md).toContain('**Not drained: "app_a" still has 3 sessions.**')
  })

  it('lists the facts it has, and omits those it does not', () => {
    const md = renderSummary(result())
    expect(md).toContain('- **group role**: app')
    expect(md).toContain('- **state**: open')
    expect(md).toContain('- **login to use now (incoming)**: app_b')
    expect(md).toContain('- **active login (outgoing, until close)**: app_a')
    expect(md).toContain('- **rotation**: r-1')
    expect(md).not.toContain('remaining connections')
    expect(md).not.toContain('**drained**')
  })

  it('shows zero remaining connections and drained: false rather than omitting them', () => {
    const md = renderSummary(result({ outputs: { state: 'open', remainingConnections: 0, drained: false } }))
    expect(md).toContain('- **remaining connections**: 0')
    expect(md).toContain('- **drained**: false')
  })

  it('tabulates the group and each login: can log in, sessions by database, membership, default role', () => {
    const md = renderSummary(result())
    expect(tableRows(md)).toEqual([
      '| role | kind | can log in | sessions | member of group | default role |',
      '|---|---|---|---|---|---|',
      '| app | group | no | | | |',
      '| app_a | login | yes | 3 (appdb: 2, reports: 1) | yes | app |',
      '| app_b | login | yes | 0 | yes | app |',
    ])
  })

  it('marks missing roles, a membership without SET, and a login without default role', () => {
    const md = renderSummary(
      result({
        roles: {
          group: null,
          logins: [{ name: 'app_a', missing: true }, role('app_b', { canSet: false, defaultRole: null })],
        },
        sessions: [],
      }),
    )
    expect(tableRows(md).slice(2)).toEqual([
      '| app | group | missing | | | |',
      '| app_a | login | missing | | | |',
      '| app_b | login | no | 0 | no | (none) |',
    ])
  })

  it('escapes | (and < >) in role names so the table keeps its columns', () => {
    const md = renderSummary(
      result({
        group: 'gr|oup',
        roles: {
          group: role('gr|oup'),
          logins: [role('a|b', { defaultRole: 'gr|oup' }), { name: '<b>x|y</b>', missing: true }],
        },
        outputs: { state: 'idle', username: 'a|b' },
        sessions: [{ login: 'a|b', database: 'd|b', applicationName: '', clientAddr: null, count: 1 }],
      }),
    )
    const rows = tableRows(md)
    // GFM splits cells on pipes that are not backslash-escaped.
    for (const r of rows) expect(r.split(/(?<!\\)\|/)).toHaveLength(8)
    expect(rows[2]).toBe('| gr\\|oup | group | no | | | |')
    expect(rows[3]).toBe('| a\\|b | login | no | 1 (d\\|b: 1) | yes | gr\\|oup |')
    expect(rows[4]).toBe('| \\<b\\>x\\|y\\</b\\> | login | missing | | | |')
    expect(md).toContain('- **active login**: a\\|b')
    expect(md).not.toContain('<b>')
  })

  it('shows the executed statements, each ending with a semicolon, in a folded SQL block', () => {
    const md = renderSummary(result())
    expect(md).toContain('<details><summary>What changed</summary>')
    expect(md).toContain(
      `\`\`\`sql\nALTER ROLE "app_b" WITH LOGIN PASSWORD '***';\nCOMMENT ON ROLE "app" IS '{"tool":"pg-credential-rotation"}';\n\`\`\``,
    )
    expect(md).not.toContain('No role was changed.')
  })

  it('says "No role was changed." when nothing changed', () => {
    const md = renderSummary(
      result({
        changes: [],
        phase: 'verify-drain',
        outputs: { state: 'open', drained: true, remainingConnections: 0 },
      }),
    )
    expect(md).toContain('No role was changed.')
    expect(md).not.toContain('What changed')
    expect(md).not.toContain('```')
  })

  it('quotes notes, escaped', () => {
    const md = renderSummary(result({ notes: ['Nothing to do: the family is already set up.', 'a|b <c>'] }))
    expect(md).toContain('> Nothing to do: the family is already set up.')
    expect(md).toContain('> a\\|b \\<c\\>')
  })
})

describe('renderFailureSummary', () => {
  it('names the phase, shows the message in bold, and says nothing was changed', () => {
    expect(renderFailureSummary('close', 'The outgoing login "app_a" still has 2 sessions.')).toBe(
      '### PostgreSQL credential rotation: `close` failed\n\n**The outgoing login "app_a" still has 2 sessions.**\n\nNothing was changed.\n',
    )
  })

  it('does not say nothing was changed when the failed phase committed something first', () => {
    const md = renderFailureSummary(
      'close',
      'GitHub secrets DATABASE_URL now hold the credentials of "app_b"; "app_a" is still enabled.',
      true,
    )
    expect(md).not.toMatch(/nothing was changed/i)
    expect(md).toContain('Some changes were made before the failure')
  })

  it('says "(no phase)" when the phase input was empty', () => {
    expect(renderFailureSummary('', "input 'phase': is required")).toContain('`(no phase)` failed')
  })

  it('escapes | < > in the message', () => {
    expect(renderFailureSummary('open', 'a|b <script>')).toContain('**a\\|b \\<script\\>**')
  })
})

describe('the status summary with replica-urls', () => {
  it('shows per replica how far its replay is behind, the age of its last replayed transaction and its apply delay', () => {
    const md = renderSummary(
      result({
        phase: 'status',
        status: {
          group: 'app',
          state: 'idle',
          description: 'idle, app_a active',
          active: 'app_a',
          canLogin: { app: false, app_a: true, app_b: false },
          rotation: null,
          lastClosed: null,
          lastAborted: null,
          passwordSetAt: {},
          writtenBack: null,
          sessions: [],
          drift: [],
          replicas: [
            {
              replica: 'replica 10.0.0.7:5432 (replica-urls line 1)',
              behindBytes: 0,
              lastReplayAgeS: 2,
              applyDelay: '0',
            },
            {
              replica: 'replica r|2:5432 (replica-urls line 2)',
              behindBytes: 136,
              lastReplayAgeS: null,
              applyDelay: '1h',
            },
          ],
        },
      }),
    )
    expect(md).toContain('| replica | replay behind | last replayed transaction | recovery_min_apply_delay |')
    expect(md).toContain('| replica 10.0.0.7:5432 (replica-urls line 1) | 0 bytes | 2 s ago | `0` |')
    expect(md).toContain('| replica r\\|2:5432 (replica-urls line 2) | 136 bytes | none yet | `1h` |')
  })

  it("keeps a replica's own text from splitting the table row (a | in its recovery_min_apply_delay)", () => {
    const replica = {
      replica: 'replica r:5432 (replica-urls line 1)',
      behindBytes: 0,
      lastReplayAgeS: 1,
      applyDelay: '1s|x',
    }
    const md = renderSummary(
      result({
        phase: 'status',
        status: {
          group: 'app',
          state: 'idle',
          description: 'idle, app_a active',
          active: 'app_a',
          canLogin: { app: false, app_a: true, app_b: false },
          rotation: null,
          lastClosed: null,
          lastAborted: null,
          passwordSetAt: {},
          writtenBack: null,
          sessions: [],
          drift: [],
          replicas: [replica],
        },
      }),
    )
    expect(md).toContain('| replica r:5432 (replica-urls line 1) | 0 bytes | 1 s ago | `1s\\|x` |')
  })
})
