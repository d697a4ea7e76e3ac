import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  familyName,
  loginAs,
  loginError,
  phase,
  readServerFile,
  servers,
  withAdmin,
  writeServerFile,
} from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

/** Every setting of a role, per database ('' = role-wide), as stored: [database, "name=value"]. */
async function storedSettings(server: TestServer, role: string): Promise<[string, string][]> {
  return withAdmin(server, async (c) => {
    const { rows } = await c.query(
      `SELECT coalesce(d.datname, '') AS db, u.c FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
         LEFT JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) AS u(c)
        WHERE r.rolname = $1 ORDER BY 1, 2`,
      [role],
    )
    return rows.map((r) => [r.db, r.c])
  })
}

async function connLimit(server: TestServer, role: string): Promise<number> {
  return withAdmin(
    server,
    async (c) => (await c.query('SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', [role])).rows[0].rolconnlimit,
  )
}

async function show(c: pg.Client, ...names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const n of names) out[n] = (await c.query(`SELECT current_setting($1) AS v`, [n])).rows[0].v
  return out
}

const withoutRole = (s: [string, string][]) => s.filter(([, c]) => !c.startsWith('role='))

/** A single login as a team has it today: settings role-wide and in another database, a connection limit, tables in its own schema. */
async function legacyLogin(
  server: TestServer,
  role: string,
  password: string,
  other: string,
  schema: string,
): Promise<void> {
  await withAdmin(server, async (c) => {
    await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT 80`)
    await c.query(`CREATE DATABASE ${other}`)
    await c.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`)
    await c.query(`CREATE SCHEMA "My Schema ${role}" AUTHORIZATION ${role}`)
    await c.query(`CREATE TABLE ${schema}.widgets (id int)`)
    await c.query(`ALTER TABLE ${schema}.widgets OWNER TO ${role}`)
    await c.query(`INSERT INTO ${schema}.widgets SELECT generate_series(1, 3)`)
    await c.query(`ALTER ROLE ${role} SET search_path = ${schema}, "My Schema ${role}", public`)
    await c.query(`ALTER ROLE ${role} SET statement_timeout = '5s'`)
    await c.query(`ALTER ROLE ${role} SET myapp.tenant = 'it''s "acme"'`)
    await c.query(`ALTER ROLE ${role} IN DATABASE ${other} SET work_mem = '8MB'`)
    await c.query(`ALTER ROLE ${role} IN DATABASE ${other} SET search_path = '$user', public`)
  })
}

describe.each(servers())('PostgreSQL $major: settings follow the rotation', (server) => {
  it('adopt: true gives both logins every setting (role-wide and per database) and the connection limit of the single login; sessions of either login see them', async () => {
    const role = familyName('legacy')
    const [a, b, other, schema] = [`${role}_a`, `${role}_b`, `other_${role}`, `ms_${role}`]
    await legacyLogin(server, role, 'legacy-password-1234', other, schema)
    const original = await storedSettings(server, role)
    expect(original).toHaveLength(5)

    const s = await phase(server, { phase: 'setup', role, adopt: 'true' })
    for (const l of [a, b]) {
      expect(withoutRole(await storedSettings(server, l))).toEqual(original)
      expect(await storedSettings(server, l)).toContainEqual(['', `role=${role}`])
      expect(await connLimit(server, l)).toBe(80)
    }
    expect(s.changes).toContain(`ALTER ROLE "${a}" SET "search_path" TO '${schema}', 'My Schema ${role}', 'public'`)
    expect(s.notes.join(' ')).toContain(`Copied the configuration of "${role}" to "${a}"`)
    // Until the first close the adopted login keeps its own settings: its sessions still need them.
    expect(await storedSettings(server, role)).toEqual(original)

    const seen = async (login: string, password: string) => {
      const main = await loginAs(server, login, password)
      const inOther = await loginAs(server, login, password, other)
      try {
        expect(await show(main, 'search_path', 'statement_timeout', 'myapp.tenant', 'role')).toEqual({
          search_path: `${schema}, "My Schema ${role}", public`,
          statement_timeout: '5s',
          'myapp.tenant': `it's "acme"`,
          role,
        })
        expect((await main.query('SELECT count(*)::int AS n FROM widgets')).rows[0].n).toBe(3)
        expect(await show(inOther, 'work_mem', 'search_path', 'statement_timeout')).toEqual({
          work_mem: '8MB',
          search_path: '"$user", public',
          statement_timeout: '5s',
        })
      } finally {
        await main.end()
        await inOther.end()
      }
    }
    const o1 = await phase(server, { phase: 'open', role })
    await seen(a, o1.outputs.password!)
    await phase(server, { phase: 'close', role, force: 'true' })
    // The adopted login is NOLOGIN now: its settings were moved, not left where no session sees them.
    expect(await storedSettings(server, role)).toEqual([])
    const o2 = await phase(server, { phase: 'open', role })
    expect(o2.outputs.username).toBe(b)
    await seen(b, o2.outputs.password!)
    expect(withoutRole(await storedSettings(server, b))).toEqual(original)
    expect(await connLimit(server, b)).toBe(80)
    await phase(server, { phase: 'close', role, force: 'true' })
    const st = await phase(server, { phase: 'status', role })
    expect(st.status!.drift).toEqual([])
  })

  it('open copies to the incoming login what a DBA set on the active one, and resets what only the incoming one had', async () => {
    const role = familyName()
    const [a, b] = [`${role}_a`, `${role}_b`]
    await phase(server, { phase: 'setup', role })
    await withAdmin(server, async (c) => {
      await c.query(`ALTER ROLE ${a} SET statement_timeout = '3s'`)
      await c.query(`ALTER ROLE ${a} IN DATABASE postgres SET lock_timeout = '4s'`)
      await c.query(`ALTER ROLE ${a} SET temp_tablespaces = pg_default, "pg_default"`)
      await c.query(`ALTER ROLE ${a} CONNECTION LIMIT 12`)
      await c.query(`ALTER ROLE ${b} SET idle_in_transaction_session_timeout = '1min'`)
      await c.query(`ALTER ROLE ${b} SET statement_timeout = '9s'`)
    })
    const o = await phase(server, { phase: 'open', role })
    expect(withoutRole(await storedSettings(server, b))).toEqual(withoutRole(await storedSettings(server, a)))
    expect(await connLimit(server, b)).toBe(12)
    expect(o.notes).toContain(
      `Copied the configuration of "${a}" to "${b}": set statement_timeout=3s, temp_tablespaces=pg_default, pg_default, lock_timeout=4s (in database "postgres"); reset idle_in_transaction_session_timeout (not on "${a}"); connection limit 12.`,
    )
    expect(o.changes).toContain(`ALTER ROLE "${b}" RESET "idle_in_transaction_session_timeout"`)
    const c = await loginAs(server, b, o.outputs.password!)
    try {
      expect(
        await show(c, 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'temp_tablespaces'),
      ).toEqual({
        statement_timeout: '3s',
        lock_timeout: '4s',
        idle_in_transaction_session_timeout: '0',
        temp_tablespaces: 'pg_default, pg_default',
      })
    } finally {
      await c.end()
    }
    await phase(server, { phase: 'close', role })
    // Nothing to copy when they already match: the next open changes only the password.
    const o2 = await phase(server, { phase: 'open', role })
    expect(o2.notes.join(' ')).not.toMatch(/Copied/)
    expect(o2.changes.filter((x) => !/PASSWORD|COMMENT ON|WITH (NO)?INHERIT/.test(x))).toEqual([])
  })

  it('status reports each kind of configuration drift, and none once it is repaired', async () => {
    const role = familyName()
    const [a, b, other] = [`${role}_a`, `${role}_b`, `${role}_x`]
    await phase(server, { phase: 'setup', role })
    const drifted = [
      `ALTER ROLE ${role} SET statement_timeout = '5s'`,
      `ALTER ROLE ${b} SET search_path = s_${role}, public`,
      `ALTER ROLE ${b} CONNECTION LIMIT 3`,
      `ALTER ROLE ${b} VALID UNTIL '2030-01-01 00:00:00+00'`,
      `ALTER ROLE ${a} IN DATABASE postgres SET role = ${other}`,
      `GRANT SELECT ON TABLE s_${role}.t TO ${a}`,
      `GRANT USAGE ON SCHEMA s_${role} TO ${a}`,
      `GRANT ${other} TO ${b}`,
    ]
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${other} NOLOGIN`)
      await c.query(`CREATE SCHEMA s_${role} AUTHORIZATION ${role}`)
      await c.query(`CREATE TABLE s_${role}.t (id int)`)
      for (const sql of drifted) await c.query(sql)
    })
    const st = await phase(server, { phase: 'status', role })
    const found = st.status!.drift.map((d) => `${d.kind} ${d.role}`)
    expect(found.sort()).toEqual(
      [
        `group-settings ${role}`,
        `settings-differ ${b}`,
        `connection-limit-differs ${b}`,
        `valid-until ${b}`,
        `missing-default-role ${a}`,
        `direct-privileges ${a}`,
        `direct-privileges ${a}`,
        `direct-membership ${b}`,
      ].sort(),
    )
    const detail = (kind: string) =>
      st
        .status!.drift.filter((d) => d.kind === kind)
        .map((d) => d.detail)
        .join(' / ')
    expect(detail('group-settings')).toContain('statement_timeout=5s')
    expect(detail('settings-differ')).toContain(`search_path "s_${role}, public" here, not set on "${a}"`)
    expect(detail('direct-privileges')).toContain(
      `table privileges granted to it directly in database "postgres" on 1 object(s) (s_${role}.t)`,
    )
    expect(detail('direct-privileges')).toContain(`schema privileges`)
    expect(detail('missing-default-role')).toContain(`in database "postgres" its SET role default is "${other}"`)
    expect(st.log.lines.join('\n')).toMatch(/warning: Drift: .*group role|warning: Drift: /)

    await withAdmin(server, async (c) => {
      await c.query(`ALTER ROLE ${role} RESET ALL`)
      await c.query(`ALTER ROLE ${b} RESET search_path`)
      await c.query(`ALTER ROLE ${b} CONNECTION LIMIT -1 VALID UNTIL 'infinity'`)
      await c.query(`ALTER ROLE ${a} IN DATABASE postgres RESET role`)
      await c.query(`REVOKE SELECT ON TABLE s_${role}.t FROM ${a}`)
      await c.query(`REVOKE USAGE ON SCHEMA s_${role} FROM ${a}`)
      await c.query(`REVOKE ${other} FROM ${b}`)
    })
    expect((await phase(server, { phase: 'status', role })).status!.drift).toEqual([])
  })

  it('setup with adopt: true warns, without failing, about what else changes: pg_hba rules naming the role, VALID UNTIL, session_user in policies and defaults, default privileges', async () => {
    const role = familyName('legacy')
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'legacy-password-1234' VALID UNTIL '2099-01-01 00:00:00+00'`)
      await c.query(`CREATE SCHEMA s_${role} AUTHORIZATION ${role}`)
      await c.query(`CREATE TABLE s_${role}.orders (id int, who name DEFAULT session_user)`)
      await c.query(`ALTER TABLE s_${role}.orders OWNER TO ${role}`)
      await c.query(`ALTER TABLE s_${role}.orders ENABLE ROW LEVEL SECURITY`)
      await c.query(`CREATE POLICY own_rows ON s_${role}.orders USING (who = session_user)`)
      await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${role} IN SCHEMA s_${role} GRANT SELECT ON TABLES TO PUBLIC`)
      // Owned by another role: listed because it names the adopted role; the second one is not.
      await c.query(`CREATE VIEW public.v_${role} AS SELECT session_user = '${role}' AS is_app`)
      await c.query(`CREATE VIEW public.w_${role} AS SELECT session_user AS who`)
    })
    // Through the server, as its superuser: the file is the server's (inside the container on the
    // testcontainers driver), not necessarily one on this machine.
    const hba = await withAdmin(server, async (c) => (await c.query('SHOW hba_file')).rows[0].hba_file as string)
    const original = await readServerFile(server, hba)
    // After every other rule: pg_hba_file_rules reads the file as it is on disk, and nothing reloads it.
    await writeServerFile(server, hba, `${original.replace(/\n?$/, '\n')}host all ${role} 10.99.0.0/16 scram-sha-256\n`)
    let s: Awaited<ReturnType<typeof phase>>
    try {
      s = await phase(server, { phase: 'setup', role, adopt: 'true' })
    } finally {
      await writeServerFile(server, hba, original)
    }
    const warnings = s.log.lines.filter((l) => l.startsWith('warning: Adoption: '))
    expect(warnings).toHaveLength(3)
    expect(warnings[0]).toMatch(
      new RegExp(
        `pg_hba.conf names "${role}" on line \\d+ \\(host all 10.99.0.0 scram-sha-256\\): "${role}_a" and "${role}_b" do not match those rules`,
      ),
    )
    expect(warnings[1]).toMatch(
      new RegExp(`"${role}" has VALID UNTIL 2099-01-01T00:00:00\\+00:00: it keeps it while it is the active login`),
    )
    expect(warnings[2]).toContain(
      `these objects in database "postgres" mention it: column default s_${role}.orders.who, policy s_${role}.orders policy own_rows, view public.v_${role}. Compare`,
    )
    expect(s.notes.filter((n) => n.startsWith('Warning (adoption): '))).toHaveLength(3)
    expect(s.notes.join(' ')).toContain(`1 default privilege rule(s) are defined for "${role}"`)
    expect(s.outputs).toMatchObject({ username: role, state: 'idle' })
    // The logins get no VALID UNTIL.
    expect((await phase(server, { phase: 'status', role })).status!.drift).toEqual([])
  })

  it('a CREATEROLE admin (not a superuser) adopts a login with its settings; the pg_hba check is skipped with a note', async () => {
    const role = familyName('legacy')
    const adminName = `rotator_${randomBytes(3).toString('hex')}`
    const adminPassword = randomBytes(12).toString('hex')
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${adminName} LOGIN CREATEROLE PASSWORD '${adminPassword}'`)
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'legacy-password-1234' CONNECTION LIMIT 7`)
      await c.query(`ALTER ROLE ${role} SET search_path = s_${role}, public`)
      await c.query(`ALTER ROLE ${role} IN DATABASE postgres SET statement_timeout = '6s'`)
      if (server.major >= 16) await c.query(`GRANT ${role} TO ${adminName} WITH ADMIN OPTION`)
    })
    const url = `postgresql://${adminName}:${adminPassword}@${server.host}:${server.port}/postgres`
    const s = await phase(server, { 'admin-url': url, phase: 'setup', role, adopt: 'true' })
    expect(s.notes.join(' ')).toMatch(/Adoption check skipped: the admin may not read pg_hba_file_rules/)
    for (const l of [`${role}_a`, `${role}_b`]) {
      expect(withoutRole(await storedSettings(server, l))).toEqual([
        ['', `search_path=s_${role}, public`],
        ['postgres', 'statement_timeout=6s'],
      ])
      expect(await connLimit(server, l)).toBe(7)
    }
    const o = await phase(server, { 'admin-url': url, phase: 'open', role })
    const c = await loginAs(server, o.outputs.username!, o.outputs.password!)
    try {
      expect(await show(c, 'search_path', 'statement_timeout')).toEqual({
        search_path: `s_${role}, public`,
        statement_timeout: '6s',
      })
    } finally {
      await c.end()
    }
    await phase(server, { 'admin-url': url, phase: 'close', role, force: 'true' })
    // A superuser-only setting on the active login: this admin cannot copy it, so open refuses and changes nothing.
    await withAdmin(server, (c2) => c2.query(`ALTER ROLE ${role}_a SET log_min_duration_statement = '1s'`))
    await expect(phase(server, { 'admin-url': url, phase: 'open', role })).rejects.toThrow(
      /may not set a role setting that the family carries.*log_min_duration_statement.*Nothing was changed/,
    )
    expect(await loginError(server, `${role}_b`, 'x'.repeat(16))).not.toBeNull()
    expect((await phase(server, { phase: 'status', role })).status).toMatchObject({
      state: 'idle',
      active: `${role}_a`,
    })
  })
})
