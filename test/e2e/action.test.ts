import { describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../../scripts/lib/run-action.mjs'
import { familyName, loginAs, loginError, ownerOf, servers, withAdmin } from '../harness/helpers.js'

/** What a runner would print of a step's log: everything but the mask commands themselves. */
function visible(r: ActionRun): string {
  return (r.stdout + r.stderr).replace(/^::add-mask::.*$/gm, '')
}

function expectSecretsHidden(r: ActionRun, secrets: string[]) {
  for (const s of secrets) {
    expect(r.masks).toContain(s)
    expect(visible(r)).not.toContain(s)
    expect(r.summary).not.toContain(s)
  }
}

describe.each(servers())('PostgreSQL $major: dist/index.js as the runner runs it', (server) => {
  it('setup, then open -> verify-drain -> close twice: passwords masked, usernames not, old password disabled, objects owned by the group', async () => {
    const role = familyName('e2e')
    const base = { 'admin-url': server.url, role }

    const setup = await runAction({ ...base, phase: 'setup' })
    expect(setup.code, setup.stdout + setup.stderr).toBe(0)
    expect(setup.outputs).toMatchObject({ username: `${role}_a`, state: 'idle' })
    expect(setup.outputs.password).toHaveLength(32)
    expect(setup.outputs['database-url']).toBe(
      `postgresql://${role}_a:${setup.outputs.password}@${server.host}:${server.port}/postgres`,
    )
    expectSecretsHidden(setup, [setup.outputs.password, setup.outputs['database-url'], server.password])
    expect(setup.masks).not.toContain(`${role}_a`)
    expect(setup.summary).toContain('PostgreSQL credential rotation: `setup` done')
    expect(setup.summary).toContain(`CREATE ROLE "${role}" NOLOGIN;`)

    await withAdmin(server, (c) => c.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`))
    let current = { user: setup.outputs.username, password: setup.outputs.password }
    let app = await loginAs(server, current.user, current.password)
    await app.query(`CREATE TABLE ${role}.made_by_${current.user} (id int)`)

    for (let round = 1; round <= 2; round++) {
      const open = await runAction({ ...base, phase: 'open' })
      expect(open.code, open.stdout + open.stderr).toBe(0)
      expect(open.outputs).toMatchObject({ 'previous-username': current.user, state: 'open' })
      expectSecretsHidden(open, [open.outputs.password, open.outputs['database-url']])
      // pgbouncer-userlist: two lines (a multi-line output), each line and each verifier masked.
      const lines = open.outputs['pgbouncer-userlist'].split('\n')
      expect(lines.map((l) => l.split(' ')[0]).sort()).toEqual([`"${role}_a"`, `"${role}_b"`])
      expectSecretsHidden(open, [...lines, ...lines.map((l) => l.split(' ')[1].slice(1, -1))])
      for (const name of ['username', 'previous-username', 'rotation-id', 'state']) {
        // A job output holding a masked value is dropped by the runner: these cross jobs, so none may contain one.
        expect(open.masks.some((m) => open.outputs[name].includes(m))).toBe(false)
      }
      const next = { user: open.outputs.username, password: open.outputs.password }
      const newApp = await loginAs(server, next.user, next.password)
      await newApp.query(`CREATE TABLE ${role}.made_by_${next.user}_${round} (id int)`)
      setTimeout(() => void app.end(), 400)

      const drain = await runAction({
        ...base,
        phase: 'verify-drain',
        'rotation-id': open.outputs['rotation-id'],
        interval: '100ms',
        timeout: '20s',
      })
      expect(drain.code, drain.stdout).toBe(0)
      expect(drain.outputs).toMatchObject({
        drained: 'true',
        'remaining-connections': '0',
        'previous-username': current.user,
        'rotation-id': open.outputs['rotation-id'],
      })

      const close = await runAction({ ...base, phase: 'close', 'rotation-id': open.outputs['rotation-id'] })
      expect(close.code, close.stdout).toBe(0)
      expect(close.outputs).toMatchObject({
        username: next.user,
        'previous-username': current.user,
        state: 'idle',
        'remaining-connections': '0',
      })
      expect(await loginError(server, current.user, current.password)).not.toBeNull()
      expect(await loginError(server, next.user, next.password)).toBeNull()
      current = next
      app = newApp
    }
    await app.end()
    const tables = await withAdmin(server, async (c) =>
      (await c.query(`SELECT tablename FROM pg_tables WHERE schemaname = $1`, [role])).rows.map(
        (r) => r.tablename as string,
      ),
    )
    expect(tables).toHaveLength(3)
    for (const t of tables) expect(await ownerOf(server, t)).toBe(role)
  })

  it('verify-drain that times out fails the step but still sets its outputs', async () => {
    const role = familyName('e2e')
    const base = { 'admin-url': server.url, role }
    const setup = await runAction({ ...base, phase: 'setup' })
    await runAction({ ...base, phase: 'open' })
    const app = await loginAs(server, setup.outputs.username, setup.outputs.password)
    try {
      const drain = await runAction({ ...base, phase: 'verify-drain', timeout: '1s', interval: '200ms' })
      expect(drain.code).toBe(1)
      expect(drain.outputs).toMatchObject({ drained: 'false', 'remaining-connections': '1', state: 'open' })
      expect(drain.stdout).toMatch(/::error::Not drained: "[^"]+_a" still has 1 \(postgres: 1\) sessions after 1s/)
      expect(drain.summary).toContain('`verify-drain` failed')
    } finally {
      await app.end()
    }
  })
})

describe('bad input fails early with a one-line error naming the input, and prints no secret', () => {
  const url = 'postgresql://admin:s3cr3t-Pa55@127.0.0.1:1/postgres'
  it.each([
    [{ phase: 'rotate', role: 'app' }, /^::error::input 'phase': 'rotate' is not a phase/m],
    [{ phase: 'open' }, /^::error::input 'role': is required/m],
    [
      { phase: 'open', role: 'app', 'login-roles': 'only_one' },
      /^::error::input 'login-roles': must name exactly two/m,
    ],
    [{ phase: 'verify-drain', role: 'app', timeout: '-5m' }, /^::error::input 'timeout': '-5m' is not a duration/m],
    [{ phase: 'open', role: 'a'.repeat(64) }, /^::error::input 'role': role name '.*' is 64 bytes/m],
  ])('%o', async (inputs, expected) => {
    const r = await runAction({ 'admin-url': url, ...inputs })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(expected)
    expect(visible(r)).not.toContain('s3cr3t-Pa55')
    expect(r.stdout.match(/^::error::/gm)).toHaveLength(1)
  })

  it('an unreachable host is reported as such, without the password', async () => {
    const r = await runAction({ 'admin-url': url, phase: 'setup', role: 'app' })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /::error::admin connection \(admin-url\): cannot reach the server \(ECONNREFUSED 127\.0\.0\.1:1\)/,
    )
    expect(visible(r)).not.toContain('s3cr3t-Pa55')
  })

  it.each(servers().slice(0, 1))('a wrong admin password is reported as such (PostgreSQL $major)', async (server) => {
    const wrong = server.url.replace(`:${server.password}@`, ':wrong-Passw0rd@')
    const r = await runAction({ 'admin-url': wrong, phase: 'setup', role: 'app' })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/::error::admin connection \(admin-url\): password authentication failed/)
    expect(visible(r)).not.toContain('wrong-Passw0rd')
  })
})
