/**
 * docs/managed-services.md, "Prerequisites in order", run as a reader runs it (issue 17):
 * every SQL block of that section, top to bottom, as the role its marker names
 * (`<!-- prerequisite: superuser, before setup[, adopt][, PostgreSQL 16+] -->`), with setup run
 * by a CREATEROLE admin in between; no statement fails or warns, and a rotation then works.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { connectTo } from '../harness/clients.js'
import { familyName, phase, servers, withAdmin } from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

interface Block {
  who: string
  when: 'before setup' | 'after setup' | 'any time'
  adopt: boolean
  minMajor: number
  sql: string
}

function prerequisiteBlocks(): Block[] {
  const doc = readFileSync('docs/managed-services.md', 'utf8')
  const start = doc.indexOf('## Prerequisites in order')
  const section = start < 0 ? '' : doc.slice(start, doc.indexOf('\n## ', start + 1))
  return [...section.matchAll(/<!-- prerequisite: ([^>]*?) -->\n```sql\n([\s\S]*?)\n```/g)].map((m) => {
    const attrs = m[1].split(', ')
    const when = attrs.find((a) => /^(before setup|after setup|any time)$/.test(a))
    if (!when) throw new Error(`prerequisite block without when: ${m[1]}`)
    const major = attrs.map((a) => /^PostgreSQL (\d+)\+$/.exec(a)).find(Boolean)
    return {
      who: attrs[0],
      when: when as Block['when'],
      adopt: attrs.includes('adopt'),
      minMajor: major ? Number(major[1]) : 0,
      sql: m[2],
    }
  })
}

interface Names {
  admin: string
  password: string
  role: string
  db: string
}

/** The doc's placeholders (rotation_admin, app, appdb, '…') replaced by this test's names. */
function instantiate(sql: string, n: Names): string {
  return sql
    .replace(/\brotation_admin\b/g, n.admin)
    .replace(/\bappdb\b/g, n.db)
    .replace(/\bapp\b/g, n.role)
    .replace(/'…'/g, `'${n.password}'`)
}

/** Runs a block on `url`, statement by statement, and returns every warning the server sent. */
async function runBlock(url: string, sql: string): Promise<string[]> {
  const c: pg.Client = await connectTo(url)
  const warnings: string[] = []
  c.on('notice', (n) => warnings.push(`${n.severity ?? ''}: ${n.message}`))
  try {
    for (const statement of sql
      .split('\n')
      .map((l) => l.replace(/--.*$/, '').trim())
      .join('\n')
      .split(';')
      .map((x) => x.trim())
      .filter(Boolean))
      await c.query(statement)
  } finally {
    await c.end()
  }
  return warnings
}

function urlFor(server: TestServer, user: string, password: string, db: string): string {
  return `postgresql://${user}:${password}@${server.host}:${server.port}/${db}`
}

/** The superuser's URL on another database. */
function superuserOn(server: TestServer, db: string): string {
  const u = new URL(server.url.replace(/^postgres(ql)?:/, 'http:'))
  return urlFor(server, decodeURIComponent(u.username), decodeURIComponent(u.password), db)
}

async function walkThrough(server: TestServer, adopt: boolean) {
  const blocks = prerequisiteBlocks().filter((b) => server.major >= b.minMajor && (adopt || !b.adopt))
  const n: Names = {
    admin: familyName('rotator'),
    password: randomBytes(12).toString('hex'),
    role: familyName(),
    db: familyName('appdb'),
  }
  // The application's database, which PUBLIC may not connect to (so step 5's CONNECT grant matters).
  await withAdmin(server, async (c) => {
    await c.query(`CREATE DATABASE ${n.db}`)
    await c.query(`REVOKE CONNECT ON DATABASE ${n.db} FROM PUBLIC`)
    if (adopt) await c.query(`CREATE ROLE ${n.role} LOGIN PASSWORD 'old'`)
  })
  const asSuperuser = superuserOn(server, n.db)
  const warnings: string[] = []
  for (const b of blocks.filter((b) => b.when === 'before setup')) {
    expect(b.who).toBe('superuser')
    warnings.push(...(await runBlock(asSuperuser, instantiate(b.sql, n))))
  }
  const adminUrl = urlFor(server, n.admin, n.password, 'postgres')
  const appUrl = `postgresql://${server.host}:${server.port}/${n.db}`
  const s = await phase(server, {
    phase: 'setup',
    role: n.role,
    'admin-url': adminUrl,
    'app-url': appUrl,
    ...(adopt ? { adopt: 'true' } : {}),
  })
  for (const b of blocks.filter((b) => b.when !== 'before setup')) {
    expect(b.who).toBe('superuser')
    warnings.push(...(await runBlock(asSuperuser, instantiate(b.sql, n))))
  }
  expect(warnings).toEqual([])

  // The application's first login connects to its database and creates a table in public, owned by the group.
  const firstUrl = s.outputs.databaseUrl ?? urlFor(server, `${n.role}_a`, 'unused', n.db)
  if (!adopt) {
    const app = await connectTo(firstUrl)
    try {
      await app.query('CREATE TABLE public.prereq_check (id int)')
      const owner = await app.query(
        `SELECT pg_catalog.pg_get_userbyid(relowner) AS owner FROM pg_catalog.pg_class WHERE oid = 'public.prereq_check'::regclass`,
      )
      expect(owner.rows[0].owner).toBe(n.role)
    } finally {
      await app.end()
    }
  }

  // A whole rotation with that admin, terminate included (pg_signal_backend).
  const o = await phase(server, { phase: 'open', role: n.role, 'admin-url': adminUrl, 'app-url': appUrl })
  const next = await connectTo(o.outputs.databaseUrl!)
  try {
    await next.query('CREATE TABLE public.prereq_after_open (id int)')
  } finally {
    await next.end()
  }
  const id = o.outputs.rotationId!
  await phase(server, { phase: 'verify-drain', role: n.role, 'admin-url': adminUrl, 'rotation-id': id })
  const c = await phase(server, {
    phase: 'close',
    role: n.role,
    'admin-url': adminUrl,
    'rotation-id': id,
    terminate: 'true',
    ...(adopt ? { force: 'true' } : {}),
  })
  expect(c.outputs).toMatchObject({ state: 'idle', username: o.outputs.username })
  return n
}

describe('docs/managed-services.md: prerequisites in order', () => {
  it('has SQL blocks that say who runs them and when, in the order a reader can run them', () => {
    const blocks = prerequisiteBlocks()
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    const order = { 'before setup': 0, 'after setup': 1, 'any time': 2 }
    const whens = blocks.map((b) => order[b.when])
    expect(whens).toEqual([...whens].sort())
    for (const b of blocks) expect(['superuser', 'rotation admin']).toContain(b.who)
  })
})

describe.each(servers())('PostgreSQL $major: the prerequisites, top to bottom, with a CREATEROLE admin', (server) => {
  it('a fresh family: every statement runs without an error or warning, and a rotation works', async () => {
    await walkThrough(server, false)
  })

  it('adopt: true on an existing login: every statement runs without an error or warning, and a rotation works', async () => {
    await walkThrough(server, true)
  })

  it('step 5 run by the rotation admin instead of the superuser only warns "no privileges were granted"', async () => {
    const step5 = prerequisiteBlocks().find((b) => b.when === 'after setup')!
    const n: Names = {
      admin: familyName('rotator'),
      password: randomBytes(12).toString('hex'),
      role: familyName(),
      db: 'postgres',
    }
    await withAdmin(server, (c) => c.query(`CREATE ROLE ${n.admin} LOGIN CREATEROLE PASSWORD '${n.password}'`))
    const adminUrl = urlFor(server, n.admin, n.password, 'postgres')
    await phase(server, { phase: 'setup', role: n.role, 'admin-url': adminUrl })
    const schemaGrant = instantiate(step5.sql, n).split('\n')[0]
    expect((await runBlock(adminUrl, schemaGrant)).join('\n')).toMatch(/no privileges were granted/)
  })
})
