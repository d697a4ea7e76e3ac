/**
 * Hostile role names, against real PostgreSQL: quotes, spaces, capitals,
 * semicolons, comments, backslashes, dollar quotes and non-ASCII go through a
 * whole rotation as exactly those names, nothing else is executed, and names
 * PostgreSQL would truncate or reserve are refused before anything changes.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { escapeIdentifier } from 'pg'
import { expect, it } from 'vitest'
import { runAction } from '../../scripts/lib/run-action.mjs'
import type { TestServer } from '../harness/servers.js'
import { describeEachServer, loginAs, loginError, phase, withAdmin } from '../harness/helpers.js'

const tag = () => randomBytes(4).toString('hex')
const bytes = (s: string) => Buffer.byteLength(s, 'utf8')
const byName = (x: { rolname: string }, y: { rolname: string }) =>
  x.rolname < y.rolname ? -1 : x.rolname > y.rolname ? 1 : 0

interface Hostile {
  label: string
  role: string
  logins: [string, string]
  sentinel: string
  tag: string
}

/**
 * Each family carries a tag in every name and in every injected payload, so a
 * payload that ran (creating or dropping a role) shows up among the roles whose
 * name contains the tag. The sentinel is created first; the payloads try to drop it.
 */
function hostileFamilies(): Hostile[] {
  const families: Omit<Hostile, 'sentinel'>[] = []
  {
    const t = tag()
    // the issue's example, and its login-roles `a'b;--,c"d\`
    families.push({
      label: `quotes, semicolon, comment, backslash, $$, non-ASCII`,
      tag: t,
      role: `Ärger "x"; DROP ROLE sentinel_${t}; --\\ $$`,
      logins: [`a'b;--${t}`, `c"d\\${t}`],
    })
  }
  {
    const t = tag()
    families.push({
      label: 'capitals and spaces; logins that differ only in case',
      tag: t,
      role: `My App ${t}`,
      logins: [`Login ${t}`, `login ${t}`],
    })
  }
  {
    const t = tag()
    families.push({
      label: 'dollar quotes and E-string escapes',
      tag: t,
      role: `$$;DROP ROLE sentinel_${t};$$`,
      logins: [`\\'; DROP ROLE sentinel_${t}; --`, `E'\\\\' || 'x${t}'`],
    })
  }
  {
    const t = tag()
    families.push({
      label: 'closing double quote, literal quote, unicode and emoji',
      tag: t,
      role: `"); DROP ROLE "sentinel_${t}"; --ü`,
      logins: [`'); CREATE ROLE "pwn_${t}"; --`, `🔑 ünï ${t}`],
    })
  }
  {
    const t = tag()
    families.push({
      label: 'URL syntax (@ : / ? # % + & =)',
      tag: t,
      role: `grp/${t}?#=`,
      logins: [`u@h:p/${t}?a=b#c%2F+`, `v ü&=${t} :@`],
    })
  }
  {
    const t = tag()
    // a comma is fine in the group name (only login-roles is split on commas)
    families.push({
      label: 'a comma in the group name',
      tag: t,
      role: `a,b c;DROP ROLE sentinel_${t}`,
      logins: [`x y ${t}`, `x;y ${t}`],
    })
  }
  return families.map((f) => ({ ...f, sentinel: `sentinel_${f.tag}` }))
}

async function rolesWithTag(server: TestServer, t: string): Promise<string[]> {
  return withAdmin(server, async (c) =>
    (await c.query(`SELECT rolname FROM pg_roles WHERE strpos(rolname, $1) > 0 ORDER BY 1`, [t])).rows.map(
      (r) => r.rolname as string,
    ),
  )
}

/**
 * The number of roles other than plain lower-case identifiers. Other test files
 * run at the same time against the same servers and create roles with plain
 * names (app_1a2b3c4d, rotator_...), so the whole pg_roles count is not stable;
 * every hostile name here is not plain, so it counts them, and anything a
 * payload made of their fragments could create.
 */
async function nonPlainRoleCount(server: TestServer): Promise<number> {
  return withAdmin(
    server,
    async (c) =>
      (await c.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname !~ '^[a-z_][a-z0-9_]*$'`)).rows[0].n,
  )
}

async function whoAmI(
  server: TestServer,
  user: string,
  password: string,
): Promise<{ current_user: string; session_user: string }> {
  const c = await loginAs(server, user, password)
  try {
    return (await c.query('SELECT current_user, session_user')).rows[0]
  } finally {
    await c.end()
  }
}

describeEachServer('hostile role names', (server) => {
  it.each(hostileFamilies())('a full rotation with $label', async (h) => {
    for (const n of [h.role, ...h.logins]) expect(bytes(n), n).toBeLessThanOrEqual(63)
    await withAdmin(server, (c) => c.query(`CREATE ROLE ${h.sentinel} NOLOGIN`))
    const nonPlainBefore = await nonPlainRoleCount(server)
    const inputs = { role: h.role, 'login-roles': h.logins.join(',') }

    const s = await phase(server, { ...inputs, phase: 'setup' })
    expect(s.outputs.username).toBe(h.logins[0])
    expect(s.changes).toContain(`CREATE ROLE ${escapeIdentifier(h.role)} NOLOGIN`)
    expect(await whoAmI(server, h.logins[0], s.outputs.password!)).toEqual({
      current_user: h.role,
      session_user: h.logins[0],
    })
    expect(await loginError(server, h.logins[1], s.outputs.password!)).not.toBeNull()

    const o = await phase(server, { ...inputs, phase: 'open' })
    expect(o.outputs).toMatchObject({ username: h.logins[1], previousUsername: h.logins[0], state: 'open' })
    expect(await whoAmI(server, h.logins[1], o.outputs.password!)).toEqual({
      current_user: h.role,
      session_user: h.logins[1],
    })
    expect(await loginError(server, h.logins[0], s.outputs.password!)).toBeNull()

    // the application moves over; the old session drains
    const old = await loginAs(server, h.logins[0], s.outputs.password!)
    setTimeout(() => void old.end(), 300)
    const d = await phase(server, {
      ...inputs,
      phase: 'verify-drain',
      'rotation-id': o.outputs.rotationId!,
      interval: '100ms',
    })
    expect(d.outputs).toMatchObject({ drained: true, remainingConnections: 0, previousUsername: h.logins[0] })
    expect(d.log.lines.join('\n')).toContain(`"${h.logins[0]}"`)

    const c = await phase(server, { ...inputs, phase: 'close', 'rotation-id': o.outputs.rotationId! })
    expect(c.outputs).toMatchObject({ username: h.logins[1], previousUsername: h.logins[0], state: 'idle' })
    expect(await loginError(server, h.logins[0], s.outputs.password!)).not.toBeNull()
    expect(await whoAmI(server, h.logins[1], o.outputs.password!)).toEqual({
      current_user: h.role,
      session_user: h.logins[1],
    })

    const st = await phase(server, { ...inputs, phase: 'status' })
    expect(st.status).toMatchObject({
      state: 'idle',
      active: h.logins[1],
      drift: [],
      canLogin: { [h.role]: false, [h.logins[0]]: false, [h.logins[1]]: true },
    })

    // exactly these names, as given: state, settings and memberships
    await withAdmin(server, async (a) => {
      const comment = (
        await a.query(`SELECT shobj_description(oid, 'pg_authid') AS s FROM pg_roles WHERE rolname = $1`, [h.role])
      ).rows[0].s
      expect(JSON.parse(comment)).toMatchObject({ logins: h.logins, active: h.logins[1], rotation: null })
      const settings = (
        await a.query(
          `SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = ANY($1) ORDER BY 1`,
          [h.logins],
        )
      ).rows
      expect([...settings].sort(byName)).toEqual(
        [...h.logins].sort().map((l) => ({ rolname: l, setconfig: [`role=${h.role}`] })),
      )
      const members = (
        await a.query(
          `SELECT m.rolname FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.roleid WHERE g.rolname = $1 ORDER BY 1`,
          [h.role],
        )
      ).rows.map((r) => r.rolname)
      expect([...members].sort()).toEqual([...h.logins].sort())
    })

    // nothing else ran: the sentinel is still there, and the only new roles are the family
    expect((await rolesWithTag(server, h.tag)).sort()).toEqual([h.sentinel, h.role, ...h.logins].sort())
    expect(await nonPlainRoleCount(server)).toBe(nonPlainBefore + 3)
  })

  it('a hostile-name rotation through dist/index.js; database-url percent-encodes the user name', async () => {
    const t = tag()
    const sentinel = `sentinel_${t}`
    const role = `Ärger "x"; DROP ROLE ${sentinel}; --\\ $$`
    const logins: [string, string] = [`a'b;--@:/?#%+&= ${t}`, `c"d\\ ü$$ ${t}`]
    for (const n of [role, ...logins]) expect(bytes(n)).toBeLessThanOrEqual(63)
    await withAdmin(server, (c) => c.query(`CREATE ROLE ${sentinel} NOLOGIN`))
    const nonPlainBefore = await nonPlainRoleCount(server)
    const base = { 'admin-url': server.url, role, 'login-roles': logins.join(',') }

    const checkUrl = async (url: string, user: string, password: string) => {
      const u = new URL(url.replace(/^postgresql:/, 'http:'))
      expect(decodeURIComponent(u.username)).toBe(user)
      expect(decodeURIComponent(u.password)).toBe(password)
      expect(u.hostname).toBe(server.host)
      expect(Number(u.port)).toBe(server.port)
      expect(u.pathname).toBe('/postgres')
      // and an application given only the URL gets in, as the group
      const c = new pg.Client({ connectionString: url })
      c.on('error', () => {})
      await c.connect()
      try {
        expect((await c.query('SELECT current_user, session_user')).rows[0]).toEqual({
          current_user: role,
          session_user: user,
        })
      } finally {
        await c.end()
      }
    }

    const setup = await runAction({ ...base, phase: 'setup' })
    expect(setup.code, setup.stdout + setup.stderr).toBe(0)
    expect(setup.outputs.username).toBe(logins[0])
    await checkUrl(setup.outputs['database-url'], logins[0], setup.outputs.password)

    const open = await runAction({ ...base, phase: 'open' })
    expect(open.code, open.stdout + open.stderr).toBe(0)
    expect(open.outputs).toMatchObject({ username: logins[1], 'previous-username': logins[0], state: 'open' })
    // usernames cross jobs: no mask may hide them
    for (const name of ['username', 'previous-username'])
      expect(open.masks.some((m) => open.outputs[name].includes(m))).toBe(false)
    await checkUrl(open.outputs['database-url'], logins[1], open.outputs.password)

    const drain = await runAction({
      ...base,
      phase: 'verify-drain',
      'rotation-id': open.outputs['rotation-id'],
      timeout: '10s',
      interval: '100ms',
    })
    expect(drain.code, drain.stdout + drain.stderr).toBe(0)
    expect(drain.outputs).toMatchObject({ drained: 'true', 'previous-username': logins[0] })

    const close = await runAction({ ...base, phase: 'close', 'rotation-id': open.outputs['rotation-id'] })
    expect(close.code, close.stdout + close.stderr).toBe(0)
    expect(close.outputs).toMatchObject({ username: logins[1], 'previous-username': logins[0], state: 'idle' })

    expect(await loginError(server, logins[0], setup.outputs.password)).not.toBeNull()
    expect(await whoAmI(server, logins[1], open.outputs.password)).toEqual({
      current_user: role,
      session_user: logins[1],
    })
    expect((await rolesWithTag(server, t)).sort()).toEqual([sentinel, role, ...logins].sort())
    expect(
      await withAdmin(
        server,
        async (c) => (await c.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [role])).rows[0].n,
      ),
    ).toBe(1)
    expect(await nonPlainRoleCount(server)).toBe(nonPlainBefore + 3)
  })

  // ---- refused before anything changes -----------------------------------------

  const unreachable = 'postgresql://nobody:nothing@127.0.0.1:1/postgres'

  /** Refused with an InputError naming the input, before any connection (an unreachable admin-url proves it) and with nothing created. */
  async function expectRejectedName(inputs: Record<string, string>, input: string, message: RegExp, t: string) {
    const nonPlainBefore = await nonPlainRoleCount(server)
    for (const p of ['setup', 'open', 'status']) {
      const err = await phase(server, { ...inputs, phase: p }).then(
        () => null,
        (e: Error) => e,
      )
      expect(err?.name, `${p}: ${err?.message}`).toBe('InputError')
      expect(err!.message).toContain(`input '${input}'`)
      expect(err!.message).toMatch(message)
      const offline = await phase(server, { ...inputs, phase: p, 'admin-url': unreachable }).then(
        () => null,
        (e: Error) => e,
      )
      expect(offline?.name, `${p} with an unreachable server: ${offline?.message}`).toBe('InputError')
    }
    expect(await rolesWithTag(server, t)).toEqual([])
    expect(await nonPlainRoleCount(server)).toBe(nonPlainBefore)
  }

  it('a role name over 63 bytes but not 63 characters (multi-byte) is refused, naming the input', async () => {
    const t = tag()
    const role = `${t}${'é'.repeat(28)}` // 36 characters, 64 bytes
    expect(role.length).toBeLessThan(63)
    expect(bytes(role)).toBe(64)
    await expectRejectedName({ role, 'login-roles': `x_${t}_a,x_${t}_b` }, 'role', /64 bytes.*truncate/, t)
    const emoji = `${t}${'x'.repeat(52)}🔑` // 61 characters (UTF-16: 62), 64 bytes
    expect(bytes(emoji)).toBe(64)
    await expectRejectedName({ role: emoji, 'login-roles': `x_${t}_a,x_${t}_b` }, 'role', /64 bytes/, t)
  })

  it('a login role name over 63 bytes is refused, naming login-roles; a default login name that would be is refused naming role', async () => {
    const t = tag()
    const long = `${t}${'ß'.repeat(28)}`
    expect(bytes(long)).toBe(64)
    await expectRejectedName({ role: `g_${t}`, 'login-roles': `ok_${t},${long}` }, 'login-roles', /64 bytes/, t)
    // 62 bytes: fine as a group name, but its default logins <role>_a are 64 bytes
    const role = `${t}${'ä'.repeat(27)}`
    expect(bytes(role)).toBe(62)
    await expectRejectedName({ role }, 'role', /64 bytes/, t)
  })

  it('names holding control characters (tab, line break) are refused before anything changes: a line break could start a runner command', async () => {
    const t = tag()
    await expectRejectedName({ role: `a\tb_${t}`, 'login-roles': `x_${t}_a,x_${t}_b` }, 'role', /control character/, t)
    await expectRejectedName(
      { role: `g_${t}`, 'login-roles': `ok_${t},x\n::error::y_${t}` },
      'login-roles',
      /control character/,
      t,
    )
  })

  it('names of exactly 63 bytes with multi-byte characters are kept whole, not truncated', async () => {
    const t = tag()
    const role = `${t}${'ä'.repeat(27)}x` // 63 bytes
    const logins: [string, string] = [`${t}${'ö'.repeat(27)}a`, `${t}🔑${'b'.repeat(51)}`]
    for (const n of [role, ...logins]) expect(bytes(n)).toBe(63)
    const inputs = { role, 'login-roles': logins.join(',') }
    const s = await phase(server, { ...inputs, phase: 'setup' })
    const o = await phase(server, { ...inputs, phase: 'open' })
    expect(await whoAmI(server, logins[1], o.outputs.password!)).toEqual({
      current_user: role,
      session_user: logins[1],
    })
    await phase(server, { ...inputs, phase: 'close', 'rotation-id': o.outputs.rotationId! })
    expect(await loginError(server, logins[0], s.outputs.password!)).not.toBeNull()
    expect((await rolesWithTag(server, t)).sort()).toEqual([role, ...logins].sort())
  })

  it('names starting with pg_ are refused, for the group and for the logins', async () => {
    const t = tag()
    await expectRejectedName({ role: `pg_${t}` }, 'role', /starting with 'pg_' are reserved/, t)
    await expectRejectedName(
      { role: `g_${t}`, 'login-roles': `pg_${t}_a,x_${t}_b` },
      'login-roles',
      /starting with 'pg_' are reserved/,
      t,
    )
    await expectRejectedName(
      { role: `g_${t}`, 'login-roles': `x_${t}_a,pg_signal_backend` },
      'login-roles',
      /starting with 'pg_'/,
      t,
    )
  })
})
