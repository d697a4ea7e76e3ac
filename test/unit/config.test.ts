import { describe, expect, it } from 'vitest'
import { DEFAULTS, parseConfig, PHASES, type Config } from '../../src/inputs/config.js'
import { InputError } from '../../src/domain/errors.js'

const SECRET = 'Adm1n-S3cret-pw'
const ADMIN_URL = `postgresql://admin:${SECRET}@db.example.com:5432/appdb?sslmode=require`

type Inputs = Record<string, string>

function config(inputs: Inputs, env: NodeJS.ProcessEnv = {}): Config {
  return parseConfig((name) => inputs[name] ?? '', env)
}

/** The baseline: a valid open phase; each test changes one thing. */
function base(over: Inputs = {}): Inputs {
  return { phase: 'open', role: 'app', 'admin-url': ADMIN_URL, ...over }
}

/** Parses, expects an InputError for `input`, and checks it never leaks the admin password. */
function refuse(inputs: Inputs, input: string, env: NodeJS.ProcessEnv = {}): InputError {
  let err: unknown
  try {
    config(inputs, env)
  } catch (e) {
    err = e
  }
  expect(err, `expected input '${input}' to be refused`).toBeInstanceOf(InputError)
  const e = err as InputError
  expect(e.input).toBe(input)
  expect(e.message.startsWith(`input '${input}': `)).toBe(true)
  expect(e.message).not.toContain(SECRET)
  expect(e.message).not.toContain(encodeURIComponent(SECRET))
  expect(e.stack ?? '').not.toContain(SECRET)
  return e
}

describe('parseConfig: defaults', () => {
  it('fills in every default from a minimal set of inputs', () => {
    const c = config(base())
    expect(c.phase).toBe('open')
    expect(c.group).toBe('app')
    expect(c.admin).toEqual({ url: ADMIN_URL })
    expect(c.logins).toEqual(['app_a', 'app_b'])
    expect(c.timeoutMs).toBe(15 * 60_000)
    expect(c.intervalMs).toBe(5_000)
    expect(c.passwordLength).toBe(32)
    expect(c.passwordEncryption).toBe('scram-sha-256')
    expect(c.terminateAfterMs).toBeNull()
    expect(c.minNewConnections).toBe(0)
    expect(c.terminate).toBe(false)
    expect(c.force).toBe(false)
    expect(c.rotationId).toBeNull()
  })

  it('documents the defaults in one place', () => {
    expect(DEFAULTS).toEqual({
      passwordLength: '32',
      passwordEncryption: 'scram-sha-256',
      timeout: '15m',
      interval: '5s',
      minNewConnections: '0',
      replicaTimeout: '1m',
    })
  })

  it('replica-timeout: how long setup, open, close and abort wait for the replicas, 1m unless given', () => {
    expect(config(base({})).replicaTimeoutMs).toBe(60_000)
    expect(config(base({ 'replica-timeout': '90s' })).replicaTimeoutMs).toBe(90_000)
    expect(() => config(base({ 'replica-timeout': 'soon' }))).toThrow(/input 'replica-timeout'/)
  })

  it('derives the login roles from the group role: <role>_a, <role>_b', () => {
    expect(config(base({ role: 'billing' })).logins).toEqual(['billing_a', 'billing_b'])
    expect(config(base({ role: 'Ünïcode Role' })).logins).toEqual(['Ünïcode Role_a', 'Ünïcode Role_b'])
  })

  it('derives app-url from admin-url without the credentials', () => {
    const c = config(base())
    expect(c.appUrl).toBe('postgresql://db.example.com:5432/appdb?sslmode=require')
    expect(c.appUrl).not.toContain(SECRET)
    expect(c.appUrl).not.toContain('admin')
  })

  it('derives app-url from admin-url without user and password query parameters', () => {
    const c = config(
      base({ 'admin-url': `postgresql://db.example.com/appdb?user=admin&password=${SECRET}&sslmode=verify-full` }),
    )
    expect(c.appUrl).toBe('postgresql://db.example.com/appdb?sslmode=verify-full')
  })

  it('derives app-url from PGHOST, PGPORT, PGDATABASE and PGSSLMODE when admin-url is empty', () => {
    const c = config(base({ 'admin-url': '' }), {
      PGHOST: 'db.internal',
      PGPORT: '6432',
      PGDATABASE: 'appdb',
      PGSSLMODE: 'require',
      PGUSER: 'admin',
      PGPASSWORD: SECRET,
    })
    expect(c.admin).toEqual({})
    expect(c.appUrl).toBe('postgresql://db.internal:6432/appdb?sslmode=require')
    expect(c.appUrl).not.toContain(SECRET)
  })

  it.each([{ PGHOST: 'h' }, { PGUSER: 'admin' }, { PGDATABASE: 'appdb' }])(
    'accepts an empty admin-url when the libpq environment is set (%o)',
    (env) => {
      expect(config(base({ 'admin-url': '' }), env).admin).toEqual({})
    },
  )

  it('uses an explicit app-url as given', () => {
    expect(config(base({ 'app-url': 'postgresql://pooler.example.com:6432/appdb?sslmode=verify-full' })).appUrl).toBe(
      'postgresql://pooler.example.com:6432/appdb?sslmode=verify-full',
    )
  })

  it('records the workflow run from the GITHUB_* environment', () => {
    const c = config(base(), {
      GITHUB_RUN_ID: '123',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_WORKFLOW: 'deploy',
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_ACTOR: 'me',
    })
    expect(c.run).toEqual({ runId: '123', runAttempt: '2', workflow: 'deploy', repository: 'o/r', actor: 'me' })
    expect(config(base()).run).toEqual({ runId: '', runAttempt: '', workflow: '', repository: '', actor: '' })
  })

  it('reads every phase', () => {
    for (const p of PHASES)
      expect(config(base({ phase: p, 'sealed-credentials': 'pgrot1.x', 'seal-key': 'k'.repeat(16) })).phase).toBe(p)
    expect([...PHASES]).toEqual(['setup', 'open', 'verify-drain', 'close', 'abort', 'status', 'unseal'])
  })
})

describe('parseConfig: explicit values', () => {
  it('reads every input', () => {
    const c = config(
      base({
        phase: 'close',
        'login-roles': 'app_blue, app_green',
        'password-length': '48',
        'password-encryption': 'server',
        timeout: '1h30m',
        interval: '250ms',
        'terminate-after': '10m',
        'min-new-connections': '3',
        terminate: 'true',
        force: 'TRUE',
        'rotation-id': '20261127T224400Z-3f9a1c',
      }),
    )
    expect(c.phase).toBe('close')
    expect(c.logins).toEqual(['app_blue', 'app_green'])
    expect(c.passwordLength).toBe(48)
    expect(c.passwordEncryption).toBe('server')
    expect(c.timeoutMs).toBe(5_400_000)
    expect(c.intervalMs).toBe(250)
    expect(c.terminateAfterMs).toBe(600_000)
    expect(c.minNewConnections).toBe(3)
    expect(c.terminate).toBe(true)
    expect(c.force).toBe(true)
    expect(c.rotationId).toBe('20261127T224400Z-3f9a1c')
  })

  it('trims whitespace around every input', () => {
    const c = config({
      phase: ' setup\n',
      role: '  app ',
      'admin-url': ` ${ADMIN_URL} `,
      'login-roles': ' x_1 ,  x_2 ',
      timeout: ' 90s ',
      terminate: ' true ',
      'rotation-id': ' r-1 ',
    })
    expect(c.phase).toBe('setup')
    expect(c.group).toBe('app')
    expect(c.admin.url).toBe(ADMIN_URL)
    expect(c.logins).toEqual(['x_1', 'x_2'])
    expect(c.timeoutMs).toBe(90_000)
    expect(c.terminate).toBe(true)
    expect(c.rotationId).toBe('r-1')
  })

  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    ['', false],
  ])('reads the boolean %j as %s', (text, value) => {
    expect(config(base({ terminate: text })).terminate).toBe(value)
    expect(config(base({ force: text })).force).toBe(value)
  })

  it('accepts password-length 16 (the minimum) and 1024 (the maximum)', () => {
    expect(config(base({ 'password-length': '16' })).passwordLength).toBe(16)
    expect(config(base({ 'password-length': '1024' })).passwordLength).toBe(1024)
  })

  it('accepts a timeout of 0 (check once) and a plain number of seconds', () => {
    expect(config(base({ timeout: '0' })).timeoutMs).toBe(0)
    expect(config(base({ timeout: '120' })).timeoutMs).toBe(120_000)
  })

  it('accepts role names of exactly 63 bytes, counting multi-byte characters as their UTF-8 bytes', () => {
    const ascii = 'r'.repeat(61) // + "_a" = 63 bytes
    expect(config(base({ role: ascii })).logins).toEqual([`${ascii}_a`, `${ascii}_b`])
    const multi = 'é'.repeat(31) + 'x' // 63 bytes
    expect(config(base({ role: 'app', 'login-roles': `${multi},app_b` })).logins[0]).toBe(multi)
  })

  it('accepts login roles whose names need quoting (quotes, spaces, capitals)', () => {
    expect(config(base({ 'login-roles': `O'Brien "A",Second Login` })).logins).toEqual([`O'Brien "A"`, 'Second Login'])
  })

  it.each(['r-1', '20261127T224400Z-3f9a1c', 'a.b_c:d-E', 'x'.repeat(100)])('accepts the rotation-id %j', (id) => {
    expect(config(base({ 'rotation-id': id })).rotationId).toBe(id)
  })
})

describe('parseConfig: refusals name the input and never contain the admin password', () => {
  it('refuses a missing phase, listing the phases', () => {
    const e = refuse(base({ phase: '' }), 'phase')
    expect(e.message).toContain('setup, open, verify-drain, close')
  })

  it.each(['rotate', 'Open', 'verify_drain', 'drain'])('refuses the unknown phase %j', (phase) => {
    const e = refuse(base({ phase }), 'phase')
    expect(e.message).toContain(`'${phase}' is not a phase`)
  })

  it('refuses a missing role', () => {
    refuse(base({ role: '' }), 'role')
    refuse(base({ role: '   ' }), 'role')
  })

  it.each([
    ['no scheme', `admin:${SECRET}@db.example.com/appdb`],
    ['an http scheme', `http://admin:${SECRET}@db.example.com/appdb`],
    ['a key=value conninfo', `host=db.example.com user=admin password=${SECRET}`],
    ['a bad port', `postgresql://admin:${SECRET}@db.example.com:port/appdb`],
    ['an unclosed IPv6 bracket', `postgresql://admin:${SECRET}@[::1/appdb`],
    ['a space in the host', `postgresql://admin:${SECRET}@db example.com/appdb`],
  ])('refuses a malformed admin-url (%s) without repeating it', (_what, url) => {
    const e = refuse(base({ 'admin-url': url }), 'admin-url')
    expect(e.message).not.toContain(url)
  })

  it.each([
    ['an address', 'http://198.51.100.7/api/v3'],
    ['a host name', 'http://ghes.example.com/api/v3'],
    ['a host name that starts with 127', 'http://127.evil.example/api/v3'],
  ])('refuses a plain-http GITHUB_API_URL to %s before anything runs, and says what to set', (_what, apiUrl) => {
    const writeBack = base({ phase: 'setup', 'github-secrets': 'DB_PASSWORD=password', 'github-token': 'ghp_x' })
    const e = refuse(writeBack, 'github-secrets', { GITHUB_API_URL: apiUrl, GITHUB_REPOSITORY: 'o/r' })
    expect(e.message).toContain(`GITHUB_API_URL is http://${new URL(apiUrl).host}`)
    expect(e.message).toMatch(/unencrypted.*Set GITHUB_API_URL to an https:\/\/ URL/)
  })

  it.each([
    'https://ghes.example.com/api/v3',
    'http://127.0.0.1:8080/api/v3',
    'http://localhost:9/',
    'http://[::1]:9/',
  ])('accepts GITHUB_API_URL %s (https, or plain http to this machine)', (apiUrl) => {
    const writeBack = base({ phase: 'setup', 'github-secrets': 'DB_PASSWORD=password', 'github-token': 'ghp_x' })
    expect(config(writeBack, { GITHUB_API_URL: apiUrl, GITHUB_REPOSITORY: 'o/r' }).github?.apiUrl).toBe(apiUrl)
  })

  it('refuses an empty admin-url when none of PGHOST, PGUSER, PGDATABASE is set', () => {
    const e = refuse(base({ 'admin-url': '' }), 'admin-url', { PGPASSWORD: SECRET, PGPORT: '5432' })
    expect(e.message).toMatch(/PGHOST, PGUSER, PGDATABASE/)
  })

  it.each([
    ['one name', 'app_a'],
    ['three names', 'app_a,app_b,app_c'],
    ['an empty name', 'app_a,'],
    ['an empty first name', ',app_b'],
    ['an empty middle', 'app_a,,app_b'],
  ])('refuses login-roles with %s', (_what, text) => {
    const e = refuse(base({ 'login-roles': text }), 'login-roles')
    expect(e.message).toMatch(/exactly two login roles/)
  })

  it('refuses login-roles that name the same role twice', () => {
    const e = refuse(base({ 'login-roles': 'app_a, app_a' }), 'login-roles')
    expect(e.message).toContain("'app_a'")
  })

  it('refuses login-roles that include the group role', () => {
    const e = refuse(base({ 'login-roles': 'app,app_b' }), 'login-roles')
    expect(e.message).toContain("group role 'app'")
    refuse(base({ 'login-roles': 'app_a,app' }), 'login-roles')
  })

  it('refuses a role name over 63 bytes', () => {
    const e = refuse(base({ role: 'r'.repeat(64) }), 'role')
    expect(e.message).toMatch(/64 bytes/)
  })

  it('refuses a role name of 63 characters but more than 63 bytes (multi-byte characters)', () => {
    const name = 'é'.repeat(32) // 32 characters, 64 bytes
    expect(name.length).toBeLessThan(63)
    const e = refuse(base({ role: name }), 'role')
    expect(e.message).toMatch(/64 bytes/)
    refuse(base({ 'login-roles': `${'😀'.repeat(16)},app_b` }), 'login-roles') // 16 characters, 64 bytes
  })

  it('refuses a group role whose derived login names would exceed 63 bytes, blaming the role input', () => {
    const e = refuse(base({ role: 'r'.repeat(62) }), 'role') // r…r_a = 64 bytes
    expect(e.message).toMatch(/64 bytes/)
  })

  it.each(['pg_app', 'pg_'])('refuses the group role %j, since pg_ names are reserved', (role) => {
    expect(refuse(base({ role }), 'role').message).toMatch(/'pg_'/)
  })

  it('refuses login roles starting with pg_', () => {
    refuse(base({ 'login-roles': 'pg_app_a,app_b' }), 'login-roles')
  })

  it.each(['public', 'none', 'current_user', 'session_user', 'current_role', 'all'])(
    'refuses the reserved role name %j',
    (role) => {
      expect(refuse(base({ role }), 'role').message).toMatch(/reserved/)
    },
  )

  it('refuses a role name holding a NUL character', () => {
    refuse(base({ role: 'app\0x' }), 'role')
  })

  it.each(['15', '0', '1', '1025'])('refuses password-length %j, outside 16..1024', (n) => {
    expect(refuse(base({ 'password-length': n }), 'password-length').message).toMatch(/between 16 and 1024/)
  })

  it.each(['abc', '32.5', '-32', '1e2', '0x20', '32 chars'])(
    'refuses password-length %j, which is not a whole number',
    (n) => {
      expect(refuse(base({ 'password-length': n }), 'password-length').message).toMatch(/not a whole number/)
    },
  )

  it.each(['md5', 'SCRAM-SHA-256', 'scram', 'plain'])('refuses password-encryption %j', (enc) => {
    expect(refuse(base({ 'password-encryption': enc }), 'password-encryption').message).toMatch(
      /scram-sha-256 or server/,
    )
  })

  it.each([
    ['timeout', '-5m'],
    ['timeout', '15 minutes'],
    ['timeout', 'abc'],
    ['interval', '-1s'],
    ['interval', '5x'],
    ['terminate-after', '-10m'],
    ['terminate-after', 'soon'],
  ])('refuses %s %j', (input, value) => {
    refuse(base({ [input]: value }), input)
  })

  it.each(['0', '0s', '0ms', '0.0001'])('refuses interval %j, which rounds to zero', (value) => {
    expect(refuse(base({ interval: value }), 'interval').message).toMatch(/greater than zero/)
  })

  it.each(['yes', 'no', '1', '0', 'on', 'tru', 'TRue'])('refuses the boolean %j', (value) => {
    expect(refuse(base({ terminate: value }), 'terminate').message).toMatch(/true or false/)
    refuse(base({ force: value }), 'force')
  })

  it.each(['-1', 'many', '1.5', '1000001'])('refuses min-new-connections %j', (value) => {
    refuse(base({ 'min-new-connections': value }), 'min-new-connections')
  })

  it.each(['has space', "x';drop role app;--", 'r/1', 'x'.repeat(101), 'ü-1'])('refuses the rotation-id %j', (id) => {
    expect(refuse(base({ 'rotation-id': id }), 'rotation-id').message).toMatch(/not a rotation id/)
  })

  it.each([
    ['a user and password', `postgresql://app:${SECRET}@h/db`],
    ['a user', 'postgresql://app@h/db'],
    ['a password parameter', `postgresql://h/db?password=${SECRET}`],
    ['a user parameter', 'postgresql://h/db?user=app'],
    ['a passfile parameter', 'postgresql://h/db?passfile=/x'],
  ])('refuses an app-url holding %s', (_what, url) => {
    refuse(base({ 'app-url': url }), 'app-url')
  })

  it('refuses an app-url that is not a postgres URI', () => {
    refuse(base({ 'app-url': 'db.example.com:5432/appdb' }), 'app-url')
  })

  it('checks the admin URL before anything that needs the database, and all inputs before connecting', () => {
    // A bad admin-url is reported even when later inputs are bad too.
    refuse(base({ 'admin-url': 'nope', 'password-length': '1' }), 'admin-url')
    // A bad phase is reported first.
    refuse(base({ phase: 'x', 'admin-url': 'nope' }), 'phase')
  })
})
