import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'pg-connection-string'
import { afterAll, describe, expect, it } from 'vitest'
import { InputError } from '../../src/domain/errors.js'
import {
  buildDatabaseUrl,
  checkAppUrl,
  checkConnectionUrl,
  clientConfig,
  defaultAppUrl,
  droppedAppUrlParams,
} from '../../src/postgres/urls.js'

/** Parses a postgres URI with the WHATWG parser (after swapping the scheme, as the action does). */
function whatwg(url: string): URL {
  return new URL(url.replace(/^postgres(ql)?:/, 'http:'))
}

/**
 * Query parameters as libpq reads them (fe-connect.c, conninfo_uri_parse_params and
 * conninfo_uri_decode): split on & and =, then decode %XX only; '+' stays '+'.
 */
function libpqParams(url: string): Record<string, string> {
  const q = url.split('#')[0].split('?')[1] ?? ''
  const out: Record<string, string> = {}
  for (const pair of q.split('&').filter(Boolean)) {
    const i = pair.indexOf('=')
    out[decodeURIComponent(pair.slice(0, i))] = decodeURIComponent(pair.slice(i + 1))
  }
  return out
}

function inputError(fn: () => unknown): InputError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    return e as InputError
  }
  throw new Error('expected an InputError')
}

const SECRET = 'Adm1n-S3cret'

describe('buildDatabaseUrl', () => {
  it('puts the user name and password into the app URL, keeping host, port, database and parameters', () => {
    const u = buildDatabaseUrl(
      'postgresql://db.example.com:5432/appdb?sslmode=verify-full&application_name=web',
      'app_b',
      'pw-123',
    )
    expect(u).toBe('postgresql://app_b:pw-123@db.example.com:5432/appdb?sslmode=verify-full&application_name=web')
  })

  it('keeps the postgres:// scheme when the app URL uses it', () => {
    expect(buildDatabaseUrl('postgres://h/db', 'app_a', 'p')).toBe('postgres://app_a:p@h/db')
  })

  it('works with an app URL that has no host (Unix socket through ?host=)', () => {
    const u = buildDatabaseUrl('postgresql:///appdb?host=%2Fvar%2Frun%2Fpostgresql', 'app_a', 'pw')
    expect(u).toBe('postgresql://app_a:pw@/appdb?host=%2Fvar%2Frun%2Fpostgresql')
    const p = parse(u)
    expect(p.user).toBe('app_a')
    expect(p.password).toBe('pw')
  })

  it.each([
    ["o'brien"],
    ['say "hi"'],
    ['with space'],
    ['at@sign'],
    ['co:lon'],
    ['sl/ash'],
    ['q?uestion#hash'],
    ['per%cent'],
    ['plus+sign'],
    ['back\\slash'],
    ['appé_ünï'],
    ['ロール'],
    ['emoji😀'],
    [`all '"@:/ é?#%+&=[]`],
  ])('percent-encodes the user name %j so a URL parser decodes it back exactly', (name) => {
    const password = 'pw-._~AZaz09'
    const u = buildDatabaseUrl('postgresql://db.example.com:5432/appdb?sslmode=require', name, password)
    const url = whatwg(u)
    expect(decodeURIComponent(url.username)).toBe(name)
    expect(decodeURIComponent(url.password)).toBe(password)
    expect(url.hostname).toBe('db.example.com')
    expect(url.port).toBe('5432')
    expect(url.pathname).toBe('/appdb')
    expect(url.searchParams.get('sslmode')).toBe('require')
    // node-postgres reads it back too
    const p = parse(u, { useLibpqCompat: true })
    expect(p.user).toBe(name)
    expect(p.password).toBe(password)
    expect(p.host).toBe('db.example.com')
    expect(p.database).toBe('appdb')
  })

  it('percent-encodes reserved characters in the password too', () => {
    const u = buildDatabaseUrl('postgresql://h:5432/db', 'app_a', 'p@ss:w/rd?#%')
    expect(decodeURIComponent(whatwg(u).password)).toBe('p@ss:w/rd?#%')
    expect(parse(u).password).toBe('p@ss:w/rd?#%')
  })
})

describe('defaultAppUrl', () => {
  it('strips the admin user name and password from the admin URL', () => {
    expect(defaultAppUrl({ url: `postgresql://admin:${SECRET}@db.example.com:5432/appdb` }, {})).toBe(
      'postgresql://db.example.com:5432/appdb',
    )
  })

  it('strips a user name given without a password', () => {
    expect(defaultAppUrl({ url: 'postgres://admin@db.example.com/appdb' }, {})).toBe('postgres://db.example.com/appdb')
  })

  it('strips userinfo up to the last @ (an unencoded @ in the password)', () => {
    expect(defaultAppUrl({ url: 'postgresql://admin:p@ss@db.example.com:5432/appdb' }, {})).toBe(
      'postgresql://db.example.com:5432/appdb',
    )
  })

  it('removes user, password, passfile and the runner-only parameters and keeps sslmode and the rest, in order', () => {
    const target = {
      url: `postgresql://db.example.com:5432/appdb?user=admin&sslmode=verify-full&password=${SECRET}&sslrootcert=%2Fhome%2Frunner%2Fca.pem&passfile=%2Froot%2F.pgpass&application_name=rotation-admin&connect_timeout=10&sslcert=%2Fc&sslkey=%2Fk&sslpassword=${SECRET}&sslcrl=%2Fcrl&service=admin&fallback_application_name=x`,
    }
    const app = defaultAppUrl(target, {})
    expect(app).not.toContain(SECRET)
    expect(app).not.toMatch(/[?&](user|password|passfile)=/)
    expect(app.startsWith('postgresql://db.example.com:5432/appdb?')).toBe(true)
    expect(libpqParams(app)).toEqual({ sslmode: 'verify-full', connect_timeout: '10' })
    expect([...whatwg(app).searchParams.keys()]).toEqual(['sslmode', 'connect_timeout'])
    expect(droppedAppUrlParams(target)).toEqual({
      dropped: [
        'sslrootcert',
        'passfile',
        'application_name',
        'sslcert',
        'sslkey',
        'sslpassword',
        'sslcrl',
        'service',
        'fallback_application_name',
      ],
      sslmode: 'verify-full',
    })
  })

  it('reports nothing dropped for a plain admin URL or the PG* environment', () => {
    expect(droppedAppUrlParams({ url: 'postgresql://a:b@h/db' })).toEqual({ dropped: [], sslmode: null })
    expect(droppedAppUrlParams({})).toEqual({ dropped: [], sslmode: null })
  })

  it('drops the query entirely when only credential parameters were in it', () => {
    expect(defaultAppUrl({ url: `postgresql://h/db?user=admin&password=${SECRET}` }, {})).toBe('postgresql://h/db')
  })

  it('leaves a URL without a query unchanged apart from the credentials, and drops a fragment', () => {
    expect(defaultAppUrl({ url: 'postgresql://admin:x@h:6543/db#frag' }, {})).toBe('postgresql://h:6543/db')
  })

  it('keeps multiple hosts and IPv6 literals of the admin URL', () => {
    expect(defaultAppUrl({ url: 'postgresql://admin:x@h1:5432,h2:5433/db?target_session_attrs=read-write' }, {})).toBe(
      'postgresql://h1:5432,h2:5433/db?target_session_attrs=read-write',
    )
    expect(defaultAppUrl({ url: 'postgresql://admin:x@[::1]:5432/db' }, {})).toBe('postgresql://[::1]:5432/db')
  })

  it('ignores the PG* environment when there is an admin URL', () => {
    expect(
      defaultAppUrl(
        { url: 'postgresql://admin:x@h/db' },
        { PGHOST: 'other', PGDATABASE: 'other', PGSSLMODE: 'disable' },
      ),
    ).toBe('postgresql://h/db')
  })

  // Regression: the query was once re-serialised with URLSearchParams, which writes a space as
  // '+'; libpq (psql, psycopg, ...) decodes only %XX in URIs, so it read the '+' literally.
  it('keeps percent-encoded spaces in parameters as libpq reads them (options=-c%20...)', () => {
    const app = defaultAppUrl(
      { url: 'postgresql://admin:x@h:5432/db?options=-c%20statement_timeout%3D5s&sslmode=require' },
      {},
    )
    expect(libpqParams(app)).toEqual({ options: '-c statement_timeout=5s', sslmode: 'require' })
  })

  describe('without an admin URL (libpq environment)', () => {
    it('builds host:port/database from PGHOST, PGPORT and PGDATABASE', () => {
      expect(defaultAppUrl({}, { PGHOST: 'db.internal', PGPORT: '6432', PGDATABASE: 'appdb' })).toBe(
        'postgresql://db.internal:6432/appdb',
      )
    })

    it('adds sslmode from PGSSLMODE', () => {
      expect(defaultAppUrl({}, { PGHOST: 'db.internal', PGDATABASE: 'appdb', PGSSLMODE: 'require' })).toBe(
        'postgresql://db.internal:5432/appdb?sslmode=require',
      )
    })

    it('never includes PGUSER or PGPASSWORD', () => {
      const app = defaultAppUrl({}, { PGHOST: 'h', PGDATABASE: 'd', PGUSER: 'admin', PGPASSWORD: SECRET })
      expect(app).toBe('postgresql://h:5432/d')
      expect(app).not.toContain('admin')
      expect(app).not.toContain(SECRET)
    })

    it('defaults to localhost:5432 and, like libpq, to the database named after PGUSER', () => {
      expect(defaultAppUrl({}, { PGUSER: 'admin' })).toBe('postgresql://localhost:5432/admin')
      expect(defaultAppUrl({}, {})).toBe('postgresql://localhost:5432/postgres')
    })

    it('percent-encodes the database name', () => {
      const app = defaultAppUrl({}, { PGHOST: 'h', PGDATABASE: 'my db ü?#' })
      expect(app).toBe(`postgresql://h:5432/${encodeURIComponent('my db ü?#')}`)
      // libpq percent-decodes the whole path
      expect(decodeURIComponent(whatwg(app).pathname.slice(1))).toBe('my db ü?#')
    })

    it('puts a Unix-socket PGHOST into the host parameter, with the port only when PGPORT is set', () => {
      const a = defaultAppUrl({}, { PGHOST: '/var/run/postgresql', PGDATABASE: 'appdb' })
      expect(a.startsWith('postgresql:///appdb?')).toBe(true)
      expect(libpqParams(a)).toEqual({ host: '/var/run/postgresql' })
      const b = defaultAppUrl({}, { PGHOST: '/tmp', PGPORT: '5433', PGDATABASE: 'appdb', PGSSLMODE: 'disable' })
      expect(libpqParams(b)).toEqual({ host: '/tmp', port: '5433', sslmode: 'disable' })
      const p = parse(buildDatabaseUrl(b, 'app_a', 'pw'))
      expect(p.host).toBe('/tmp')
      expect(p.port).toBe('5433')
      expect(p.database).toBe('appdb')
      expect(p.user).toBe('app_a')
    })

    // Regression: a space once became '+', which libpq reads literally ("/tmp/my+sockets").
    it('keeps a space in a socket directory as libpq reads it', () => {
      const app = defaultAppUrl({}, { PGHOST: '/tmp/my sockets', PGDATABASE: 'appdb' })
      expect(libpqParams(app).host).toBe('/tmp/my sockets')
    })

    // Regression: an IPv6 PGHOST was once written without brackets ("postgresql://::1:5432/...").
    it('brackets an IPv6 PGHOST', () => {
      expect(defaultAppUrl({}, { PGHOST: '::1' })).toBe('postgresql://[::1]:5432/postgres')
    })
  })
})

describe('checkConnectionUrl', () => {
  it.each([
    'postgresql://admin:pw@db.example.com:5432/appdb?sslmode=require',
    'postgres://admin@localhost/postgres',
    'postgresql:///appdb?host=/var/run/postgresql',
    'postgresql://admin:p%40ss%3Aword@[::1]:5432/db',
  ])('accepts %s and returns it unchanged', (url) => {
    expect(checkConnectionUrl(url, 'admin-url')).toBe(url)
  })

  it.each([
    ['not a uri', `admin:${SECRET}@host/db`],
    ['another scheme', `mysql://admin:${SECRET}@host/db`],
    ['a key=value string', `host=h user=admin password=${SECRET}`],
    ['a port that is not a number', `postgresql://admin:${SECRET}@host:port/db`],
    ['an unclosed IPv6 bracket', `postgresql://admin:${SECRET}@[::1/db`],
    ['a space in the host', `postgresql://admin:${SECRET}@ho st/db`],
  ])('rejects %s without repeating the URI or its password', (_what, url) => {
    const e = inputError(() => checkConnectionUrl(url, 'admin-url'))
    expect(e.input).toBe('admin-url')
    expect(e.message.startsWith("input 'admin-url': ")).toBe(true)
    expect(e.message).not.toContain(SECRET)
    expect(e.message).not.toContain(url)
  })
})

describe('checkConnectionUrl: certificate files and parameters the action cannot honour', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgrot-certs-'))
  const ca = join(dir, 'ca.pem')
  writeFileSync(ca, 'not checked here')
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.each(['sslrootcert', 'sslcert', 'sslkey'])(
    'a missing %s file is reported naming the input, the parameter and the path',
    (param) => {
      const missing = join(dir, 'missing', `${param}.pem`)
      const url = `postgresql://admin:${SECRET}@db.example.com/app?sslmode=verify-full&sslrootcert=${ca}&${param}=${missing}`
      const e = inputError(() => checkConnectionUrl(url, 'replica-urls'))
      expect(e.message).toBe(
        `input 'replica-urls': parameter ${param} names the file "${missing}", which does not exist on the runner; create it in an earlier step, or fix the path`,
      )
      expect(e.message).not.toMatch(/malformed/)
    },
  )

  it('an existing certificate file, and sslrootcert=system with verify-full, are accepted', () => {
    for (const url of [
      `postgresql://admin@h/app?sslmode=verify-full&sslrootcert=${ca}`,
      'postgresql://admin@h/app?sslrootcert=system',
      'postgresql://admin@h/app?sslmode=verify-full&sslrootcert=system',
    ])
      expect(checkConnectionUrl(url, 'admin-url')).toBe(url)
    expect(
      inputError(() => checkConnectionUrl('postgresql://h/app?sslmode=require&sslrootcert=system', 'admin-url'))
        .message,
    ).toMatch(/sslrootcert=system needs sslmode=verify-full/)
  })

  it('a parameter the action cannot honour is refused, naming the input and the parameter, never the URI', () => {
    const url = `postgresql://admin:${SECRET}@h/app?sslmode=verify-full&sslcrl=%2Fetc%2Fcrl.pem&gssencmode=require`
    const e = inputError(() => checkConnectionUrl(url, 'pgbouncer-urls'))
    expect(e.message).toMatch(
      /^input 'pgbouncer-urls': parameter sslcrl is not supported: .*; gssencmode="require" is not supported/,
    )
    expect(e.message).not.toContain(SECRET)
  })
})

describe('checkAppUrl', () => {
  it.each([
    'postgresql://db.example.com:5432/appdb?sslmode=require',
    'postgres://h/db',
    'postgresql:///db?host=%2Ftmp',
    'postgresql://h/db?sslmode=require#x',
  ])('accepts %s', (url) => {
    expect(checkAppUrl(url, 'app-url')).toBe(url)
  })

  it.each([
    ['a user name and password', `postgresql://app:${SECRET}@h/db`],
    ['a user name', 'postgresql://app@h/db'],
    ['an empty userinfo', 'postgresql://@h/db'],
  ])('refuses %s in the authority', (_what, url) => {
    const e = inputError(() => checkAppUrl(url, 'app-url'))
    expect(e.message).toMatch(/^input 'app-url': must not contain a user name or password/)
    expect(e.message).not.toContain(SECRET)
  })

  it.each(['user', 'password', 'passfile'])('refuses the %s parameter, even percent-encoded', (key) => {
    const plain = inputError(() => checkAppUrl(`postgresql://h/db?sslmode=require&${key}=${SECRET}`, 'app-url'))
    expect(plain.message).toBe(
      `input 'app-url': must not contain the '${key}' parameter; the action adds the credentials it issues`,
    )
    const encoded = `${key[0]}%${key.charCodeAt(1).toString(16)}${key.slice(2)}`
    const e = inputError(() => checkAppUrl(`postgresql://h/db?${encoded}=${SECRET}`, 'app-url'))
    expect(e.message).toContain(`'${key}'`)
    expect(e.message).not.toContain(SECRET)
  })

  it('accepts parameters that merely contain a credential word', () => {
    expect(checkAppUrl('postgresql://h/db?application_name=user&sslpassword_hint=x', 'app-url')).toContain(
      'application_name=user',
    )
  })

  it.each(['db.example.com:5432/appdb', 'http://h/db', ''])('refuses %j, which is not a postgres URI', (url) => {
    expect(inputError(() => checkAppUrl(url, 'app-url')).message).toMatch(/^input 'app-url': is not a connection URI/)
  })
})

describe('clientConfig', () => {
  it('reads host, port, database, user and password from the URI', () => {
    const c = clientConfig({ url: 'postgresql://admin:p%40ss@db.example.com:6432/appdb' })
    expect(c).toMatchObject({
      host: 'db.example.com',
      port: '6432',
      database: 'appdb',
      user: 'admin',
      password: 'p@ss',
    })
  })

  it('lets overrides replace the user and password (the open phase logs in as the new login)', () => {
    const c = clientConfig({ url: 'postgresql://admin:pw@h/db' }, { user: 'app_b', password: 'new' })
    expect(c.user).toBe('app_b')
    expect(c.password).toBe('new')
    expect(c.host).toBe('h')
  })

  it('returns only the overrides without a URI, so pg reads the PG* environment itself', () => {
    expect(clientConfig({})).toEqual({})
    expect(clientConfig({}, { application_name: 'x' })).toEqual({ application_name: 'x' })
  })

  it('drops settings the URI leaves empty, so they do not shadow pg defaults', () => {
    const c = clientConfig({ url: 'postgresql://h/db' })
    for (const v of Object.values(c)) {
      expect(v).not.toBeUndefined()
      expect(v).not.toBeNull()
    }
  })
})
