import { idleState, loginRole as role } from '../harness/fixtures.js'
import { describe, expect, it, vi } from 'vitest'
import { adoptionFindings, type AdoptionFacts } from '../../src/postgres/adoption.js'
import { findConfigDrift } from '../../src/domain/config-drift.js'
import type { Observation } from '../../src/domain/family.js'
import { planClose, planOpen, planSetup } from '../../src/domain/plan.js'
import {
  describeSync,
  parseSetconfig,
  settingDifferences,
  syncConfig,
  type RoleConfig,
  type RoleSetting,
} from '../../src/domain/settings.js'
import { renderStep, settingValueSql, splitGucList } from '../../src/postgres/statements.js'
import type { FamilyState } from '../../src/domain/state.js'

const RUN = { runId: '1001', runAttempt: '1', workflow: 'deploy', repository: 'acme/shop', actor: 'dev' }
const cfg = (over = {}) => ({
  group: 'app',
  logins: ['app_a', 'app_b'] as [string, string],
  rotationId: null,
  terminate: false,
  force: false,
  run: RUN,
  ...over,
})
const ctx = () => ({ now: new Date('2026-11-29T12:00:00.000Z'), newRotationId: vi.fn(() => 'r-new') })

function setting(name: string, value: string, database: string | null = null): RoleSetting {
  return { database, name, value }
}
function config(settings: RoleSetting[], connectionLimit = -1): RoleConfig {
  return { settings, connectionLimit, validUntil: null }
}
function obs(
  state: FamilyState | null,
  configs: Record<string, RoleConfig>,
  over: Partial<Observation> = {},
): Observation {
  return {
    serverVersion: 180000,
    scramIterations: 4096,
    admin: { name: 'admin', superuser: true, createrole: true, signalBackend: true, adminOption: {} },
    group: role('app', { member: false, canSet: false, inherits: false, defaultRole: null }),
    logins: { app_a: role('app_a', { canLogin: state?.active === 'app_a' }), app_b: role('app_b') },
    state: state ? { kind: 'ok', state } : { kind: 'none' },
    sessions: [],
    configs,
    ...over,
  }
}
const sql = (steps: ReturnType<typeof planOpen>['steps']) =>
  steps
    .filter((s) => s.kind !== 'enable-login' && s.kind !== 'disable-login' && s.kind !== 'write-state')
    .map((s) => renderStep(s, 180000).sql)

const APP = config(
  [setting('search_path', 'myschema, public'), setting('statement_timeout', '5s'), setting('work_mem', '8MB', 'other')],
  80,
)

describe('list-valued settings are rendered element by element, as pg_dump does', () => {
  it.each([
    ['myschema, public', ["'myschema'", "'public'"]],
    ['"$user", public', ["'$user'", "'public'"]],
    ['"My Schema", "a,b", "q""uote"', ["'My Schema'", "'a,b'", `'q"uote'`]],
    ['MixedCase', ["'MixedCase'"]],
    ['""', ["''"]],
    ['  a ,b  ', ["'a'", "'b'"]],
  ])('search_path stored as %s', (stored, elements) => {
    expect(settingValueSql('search_path', stored)).toBe(elements.join(', '))
  })

  it('splits like SplitGUCList and refuses broken lists', () => {
    expect(splitGucList('a, "b c",d')).toEqual(['a', 'b c', 'd'])
    expect(splitGucList('')).toEqual([])
    expect(splitGucList('a,')).toBeNull()
    expect(splitGucList('"a')).toBeNull()
    expect(splitGucList('a b')).toBeNull()
  })

  it.each(['temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries', 'Search_Path'])(
    '%s is a list too',
    (name) => {
      expect(settingValueSql(name, 'x, y')).toBe("'x', 'y'")
    },
  )

  it('other settings are one literal, quotes and backslashes escaped; a broken list falls back to one literal', () => {
    expect(settingValueSql('statement_timeout', '5s')).toBe("'5s'")
    expect(settingValueSql('application_name', "it's")).toBe("'it''s'")
    expect(settingValueSql('myapp.note', 'a\\b')).toBe(" E'a\\\\b'")
    expect(settingValueSql('search_path', '"broken')).toBe(`'"broken'`)
  })

  it('renders ALTER ROLE ... [IN DATABASE ...] SET/RESET with quoted identifiers, and CONNECTION LIMIT', () => {
    expect(
      renderStep(
        { kind: 'set-setting', role: 'app_a', database: null, name: 'search_path', value: 'myschema, public' },
        180000,
      ).sql,
    ).toBe(`ALTER ROLE "app_a" SET "search_path" TO 'myschema', 'public'`)
    expect(
      renderStep({ kind: 'set-setting', role: 'app"b', database: 'my db', name: 'work_mem', value: '8MB' }, 180000).sql,
    ).toBe(`ALTER ROLE "app""b" IN DATABASE "my db" SET "work_mem" TO '8MB'`)
    expect(
      renderStep({ kind: 'reset-setting', role: 'app_a', database: 'other', name: 'myapp.tenant' }, 180000).sql,
    ).toBe(`ALTER ROLE "app_a" IN DATABASE "other" RESET "myapp.tenant"`)
    expect(renderStep({ kind: 'set-connection-limit', role: 'app_a', limit: 80 }, 180000).sql).toBe(
      `ALTER ROLE "app_a" CONNECTION LIMIT 80`,
    )
  })

  it('parses setconfig entries at the first =', () => {
    expect(parseSetconfig('myapp.expr=a=b', 'db')).toEqual({ database: 'db', name: 'myapp.expr', value: 'a=b' })
    expect(parseSetconfig('nonsense', null)).toBeNull()
  })
})

describe('syncConfig: the target ends up with the source settings and connection limit', () => {
  it('sets what is missing or different, resets what the source lacks, never touches role', () => {
    const target = config([
      setting('role', 'app'),
      setting('statement_timeout', '1s'),
      setting('lock_timeout', '2s'),
      setting('work_mem', '8MB', 'other'),
    ])
    const s = syncConfig(config([setting('role', 'other'), ...APP.settings], 80), 'app_b', target)
    expect(s.steps).toEqual([
      { kind: 'set-setting', role: 'app_b', database: null, name: 'search_path', value: 'myschema, public' },
      { kind: 'set-setting', role: 'app_b', database: null, name: 'statement_timeout', value: '5s' },
      { kind: 'reset-setting', role: 'app_b', database: null, name: 'lock_timeout' },
      { kind: 'set-connection-limit', role: 'app_b', limit: 80 },
    ])
    expect(describeSync('app_a', 'app_b', s)).toBe(
      'Copied the configuration of "app_a" to "app_b": set search_path=myschema, public, statement_timeout=5s; reset lock_timeout (not on "app_a"); connection limit 80.',
    )
  })

  it('does nothing when they already match (names compare case-insensitively)', () => {
    const s = syncConfig(
      APP,
      'app_b',
      config(
        [
          setting('role', 'app'),
          setting('Statement_Timeout', '5s'),
          setting('search_path', 'myschema, public'),
          setting('work_mem', '8MB', 'other'),
        ],
        80,
      ),
    )
    expect(s.steps).toEqual([])
    expect(describeSync('app_a', 'app_b', s)).toBeNull()
  })

  it('a setting in one database is not the same as the role-wide one', () => {
    expect(
      settingDifferences(config([setting('work_mem', '8MB')]), config([setting('work_mem', '8MB', 'other')])),
    ).toEqual([
      { setting: 'work_mem', a: '8MB', b: null },
      { setting: 'work_mem in database "other"', a: null, b: '8MB' },
    ])
  })
})

describe('plans carry the configuration along', () => {
  it('setup with adopt: true copies the single login settings and connection limit to both logins, in its transaction', () => {
    const o = obs(
      null,
      { app: config([...APP.settings], 80) },
      {
        group: role('app', { canLogin: true, member: false, canSet: false, inherits: false, defaultRole: null }),
        logins: { app_a: null, app_b: null },
      },
    )
    const p = planSetup(o, cfg({ adopt: true }), ctx())
    const statements = sql(p.steps)
    for (const l of ['app_a', 'app_b']) {
      expect(statements).toContain(`ALTER ROLE "${l}" SET "search_path" TO 'myschema', 'public'`)
      expect(statements).toContain(`ALTER ROLE "${l}" SET "statement_timeout" TO '5s'`)
      expect(statements).toContain(`ALTER ROLE "${l}" IN DATABASE "other" SET "work_mem" TO '8MB'`)
      expect(statements).toContain(`ALTER ROLE "${l}" CONNECTION LIMIT 80`)
      expect(statements).toContain(`ALTER ROLE "${l}" SET role = 'app'`)
    }
    expect(p.steps.at(-1)!.kind).toBe('write-state')
    expect(p.notes.join(' ')).toMatch(/Copied the configuration of "app" to "app_a": set search_path=myschema, public/)
  })

  it('open makes the incoming login match the outgoing one before enabling it', () => {
    const o = obs(idleState(), {
      app: config([]),
      app_a: config([setting('role', 'app'), ...APP.settings, setting('idle_session_timeout', '10min')], 80),
      app_b: config([setting('role', 'app'), ...APP.settings, setting('lock_timeout', '1s')], 80),
    })
    const p = planOpen(o, cfg(), ctx())
    expect(sql(p.steps)).toEqual([
      `ALTER ROLE "app_b" SET "idle_session_timeout" TO '10min'`,
      `ALTER ROLE "app_b" RESET "lock_timeout"`,
    ])
    expect(p.steps.map((s) => s.kind)).toEqual(['set-setting', 'reset-setting', 'enable-login', 'write-state'])
    expect(p.notes).toContain(
      'Copied the configuration of "app_a" to "app_b": set idle_session_timeout=10min; reset lock_timeout (not on "app_a").',
    )
  })

  it('open after adoption copies from the adopted login (the group role)', () => {
    const adopted = idleState({ active: 'app', adoptedFrom: 'app', passwordSetAt: {} })
    const o = obs(adopted, {
      app: config([setting('statement_timeout', '7s')], 5),
      app_a: config([setting('role', 'app')]),
      app_b: config([setting('role', 'app')]),
    })
    const p = planOpen(o, cfg(), ctx())
    expect(sql(p.steps)).toEqual([
      `ALTER ROLE "app_a" SET "statement_timeout" TO '7s'`,
      `ALTER ROLE "app_a" CONNECTION LIMIT 5`,
    ])
  })

  it('an observation without configuration copies nothing', () => {
    const o = obs(idleState(), {})
    delete o.configs
    expect(planOpen(o, cfg(), ctx()).steps.map((s) => s.kind)).toEqual(['enable-login', 'write-state'])
  })

  it('the close that disables the adopted login removes its settings from the group role, and only that close', () => {
    const adoptedOpen = idleState({
      active: 'app',
      adoptedFrom: 'app',
      passwordSetAt: {},
      rotation: { id: 'r-1', incoming: 'app_a', openedAt: '2026-11-29T11:00:00.000Z', openedBy: RUN },
    })
    const configs = {
      app: config([setting('statement_timeout', '5s'), setting('work_mem', '8MB', 'other')], 80),
      app_a: config(
        [setting('role', 'app'), setting('statement_timeout', '5s'), setting('work_mem', '8MB', 'other')],
        80,
      ),
    }
    const p = planClose(obs(adoptedOpen, configs), cfg(), ctx())
    expect(sql(p.steps)).toEqual([
      `ALTER ROLE "app" RESET "statement_timeout"`,
      `ALTER ROLE "app" IN DATABASE "other" RESET "work_mem"`,
    ])
    expect(p.notes.join(' ')).toMatch(
      /Removed the settings of "app".*statement_timeout=5s, work_mem=8MB \(in database "other"\)/,
    )
    const later = idleState({
      rotation: { id: 'r-2', incoming: 'app_b', openedAt: '2026-11-29T11:00:00.000Z', openedBy: RUN },
    })
    expect(sql(planClose(obs(later, configs), cfg(), ctx()).steps)).toEqual([])
  })
})

describe("findConfigDrift: what makes one login's sessions differ from the other's", () => {
  const ok = {
    app: config([]),
    app_a: config([setting('role', 'app'), ...APP.settings], 80),
    app_b: config([setting('role', 'app'), ...APP.settings], 80),
  }

  it('nothing when both logins carry the same settings and limit and the group carries none', () => {
    expect(findConfigDrift(obs(idleState(), ok), 'app', ['app_a', 'app_b'])).toEqual([])
  })

  it('settings on the group role, unless it is still the adopted active login', () => {
    const configs = { ...ok, app: config([setting('statement_timeout', '5s')]) }
    expect(findConfigDrift(obs(idleState(), configs), 'app', ['app_a', 'app_b'])).toEqual([
      expect.objectContaining({
        kind: 'group-settings',
        role: 'app',
        detail: expect.stringContaining('statement_timeout=5s'),
      }),
    ])
    const adopted = idleState({ active: 'app', adoptedFrom: 'app', passwordSetAt: {} })
    expect(
      findConfigDrift(obs(adopted, { ...configs, app: config([...APP.settings], 80) }), 'app', ['app_a', 'app_b']),
    ).toEqual([])
  })

  it('settings and connection limits that differ from the active login, reported on the other login', () => {
    const configs = {
      ...ok,
      app_b: config([setting('role', 'app'), setting('search_path', 'public'), setting('statement_timeout', '5s')], 10),
    }
    const d = findConfigDrift(obs(idleState(), configs), 'app', ['app_a', 'app_b'])
    expect(d.map((x) => [x.kind, x.role])).toEqual([
      ['settings-differ', 'app_b'],
      ['connection-limit-differs', 'app_b'],
    ])
    expect(d[0].detail).toBe(
      'settings differ from the active login "app_a": search_path "public" here, "myschema, public" on "app_a"; work_mem in database "other" not set here, "8MB" on "app_a"; the next open that hands out "app_b" copies them from "app_a"',
    )
    expect(d[1].detail).toBe('connection limit 10, but 80 on the active login "app_a"')
  })

  it('a per-database role setting naming another role, a VALID UNTIL, direct grants and memberships', () => {
    const configs = {
      ...ok,
      app_b: {
        ...ok.app_b,
        settings: [...ok.app_b.settings, setting('role', 'postgres', 'other')],
        validUntil: '2027-01-01T00:00:00+00:00',
      },
    }
    const d = findConfigDrift(
      obs(idleState(), configs),
      'app',
      ['app_a', 'app_b'],
      [{ login: 'app_a', kind: 'table', database: 'appdb', objects: 4, examples: ['s.a', 's.b', 's.c'] }],
      [{ login: 'app_b', role: 'reporting' }],
    )
    expect(d.map((x) => [x.kind, x.role])).toEqual([
      ['missing-default-role', 'app_b'],
      ['valid-until', 'app_b'],
      ['direct-privileges', 'app_a'],
      ['direct-membership', 'app_b'],
    ])
    expect(d[2].detail).toMatch(
      /table privileges granted to it directly in database "appdb" on 4 object\(s\) \(s\.a, s\.b, s\.c and 1 more\)/,
    )
  })
})

describe('adoptionFindings: what else changes for the application, as warnings', () => {
  const base: AdoptionFacts = {
    database: 'appdb',
    replication: false,
    hbaRules: [],
    sessionUserMentions: [],
    defaultAcls: 0,
    config: config([]),
  }
  const NOW_ = new Date('2026-11-29T12:00:00Z')

  it('nothing to warn about: notes say what was checked', () => {
    const f = adoptionFindings(base, 'app', ['app_a', 'app_b'], NOW_)
    expect(f.warnings).toEqual([])
    expect(f.notes).toEqual([
      'No policy, function, column default or view in database "appdb" that "app" owns or that names it mentions session_user (which becomes the login\'s name); other databases were not checked.',
    ])
  })

  it('pg_hba rules naming the role, VALID UNTIL, REPLICATION, session_user mentions', () => {
    const f = adoptionFindings(
      {
        ...base,
        replication: true,
        hbaRules: [
          { line_number: 97, type: 'hostssl', database: 'appdb', address: '10.0.0.0', auth_method: 'scram-sha-256' },
        ],
        config: { ...config([]), validUntil: '2026-01-01T00:00:00+00:00' },
        sessionUserMentions: [
          { kind: 'policy', name: 'public.orders policy own_rows' },
          { kind: 'column default', name: 'public.audit.who\n::error::x' },
        ],
        defaultAcls: 2,
      },
      'app',
      ['app_a', 'app_b'],
      NOW_,
    )
    expect(f.warnings).toHaveLength(4)
    expect(f.warnings[0]).toBe(
      'pg_hba.conf names "app" on line 97 (hostssl appdb 10.0.0.0 scram-sha-256): "app_a" and "app_b" do not match those rules. Add them, or use +app (its members), and reload the configuration before the first open.',
    )
    expect(f.warnings[1]).toMatch(/^"app" has VALID UNTIL 2026-01-01T00:00:00\+00:00 \(already passed\)/)
    expect(f.warnings[2]).toMatch(/REPLICATION/)
    expect(f.warnings[3]).toContain(
      'policy public.orders policy own_rows, column default public.audit.who\\n::error::x',
    )
    expect(f.warnings.join(' ')).not.toMatch(/\n/)
    expect(f.notes.join(' ')).toMatch(/2 default privilege rule\(s\) are defined for "app"/)
  })

  it('says so when the admin may not read pg_hba_file_rules', () => {
    expect(adoptionFindings({ ...base, hbaRules: null }, 'app', ['app_a', 'app_b'], NOW_).notes[0]).toMatch(
      /^Adoption check skipped: the admin may not read pg_hba_file_rules/,
    )
  })
})

describe('a setting value holding a line break', () => {
  it('is sent as it is, but shown on one line in logs and summaries', () => {
    const st = renderStep(
      { kind: 'set-setting', role: 'app_b', database: null, name: 'myapp.note', value: 'a\n::error::b' },
      180000,
    )
    expect(st.sql).toBe(`ALTER ROLE "app_b" SET "myapp.note" TO 'a\n::error::b'`)
    expect(st.display).toBe(`ALTER ROLE "app_b" SET "myapp.note" TO 'a\\n::error::b'`)
  })
})
