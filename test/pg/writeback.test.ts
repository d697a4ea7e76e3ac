/**
 * A write-back is never silently undone (issue 8, finding 5): once close has
 * written credentials to GitHub, a close that then fails says so, the write is
 * recorded in the state, and abort refuses to disable the login GitHub names.
 * Runs against a local stand-in for GitHub's secrets API and real PostgreSQL.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { fakeGitHub, refuseWrites, type FakeGitHub } from '../harness/fake-github.js'
import { adminClient, familyName, loginError, phase, servers, withAdmin } from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

const TOKEN = 'github_pat_11TEST0000000000000000_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL'
const SEAL_KEY = 'correct horse battery staple, sealed'
const REPO = 'octo-org/shop'

let github: FakeGitHub | null = null
afterEach(async () => {
  await github?.close()
  github = null
})

async function stateOf(server: TestServer, role: string): Promise<Record<string, any>> {
  return withAdmin(server, async (c) =>
    JSON.parse(
      (await c.query(`SELECT shobj_description(oid, 'pg_authid') AS c FROM pg_roles WHERE rolname = $1`, [role]))
        .rows[0].c,
    ),
  )
}

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected the phase to fail')
    },
    (e: Error) => e,
  )
}

describe.each(servers())('PostgreSQL $major: a write-back outlives a failed close', (server) => {
  const env = () => ({ GITHUB_RUN_ID: '4242', GITHUB_API_URL: github!.apiUrl, GITHUB_REPOSITORY: REPO })
  const writeBack = { 'github-token': TOKEN, 'github-secrets': 'DATABASE_URL=database-url\nDB_USER=username' }

  /** setup and open with seal-key; then close with write-back while another session holds the outgoing login's catalog row. */
  async function closeBlocked(role: string) {
    const base = { role, 'seal-key': SEAL_KEY }
    const s = await phase(server, { ...base, phase: 'setup' }, { env: env() })
    const o = await phase(server, { ...base, phase: 'open' }, { env: env() })
    const holder = await adminClient(server)
    await holder.query('BEGIN')
    await holder.query(`ALTER ROLE "${role}_a" CONNECTION LIMIT 7`)
    let e: Error
    try {
      e = await failure(
        phase(
          server,
          { ...base, ...writeBack, phase: 'close', 'sealed-credentials': o.outputs.sealedCredentials! },
          { env: env(), lockTimeoutMs: 300 },
        ),
      )
    } finally {
      await holder.query('ROLLBACK')
      await holder.end()
    }
    return { s, o, e, base }
  }

  it('close whose ALTER ROLE waits past lock_timeout after the secrets were written: says what was written, records it, and abort refuses without force', async () => {
    github = await fakeGitHub({ token: TOKEN, repository: REPO })
    const role = familyName('wb')
    const { s, o, e, base } = await closeBlocked(role)

    // GitHub holds the new credentials...
    expect(github.stored.get('repo')!.get('DATABASE_URL')).toBe(o.outputs.databaseUrl)
    // ...and the error says so, and does not claim that nothing changed.
    expect(e.message).toMatch(
      new RegExp(
        `lock_timeout.*GitHub secrets DATABASE_URL, DB_USER now hold the credentials of "${role}_b".*"${role}_a" is still enabled.*Run close again`,
        's',
      ),
    )
    expect(e.message).not.toMatch(/nothing was changed/i)
    expect((e as { committed?: boolean }).committed).toBe(true)
    // The rotation is still open; the old login still logs in; the write is recorded.
    const st = await stateOf(server, role)
    expect(st.rotation.id).toBe(o.outputs.rotationId)
    expect(st.writtenBack).toMatchObject({
      login: `${role}_b`,
      rotationId: o.outputs.rotationId,
      secrets: ['DATABASE_URL', 'DB_USER'],
    })
    expect(st.writtenBack.pending).toBeUndefined()
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()

    // abort would disable the login DATABASE_URL now names: it refuses, and changes nothing.
    await expect(phase(server, { ...base, phase: 'abort' }, { env: env() })).rejects.toThrow(
      new RegExp(
        `GitHub secrets DATABASE_URL, DB_USER hold the credentials of "${role}_b".*abort will not disable "${role}_b".*Run close again.*force: true`,
        's',
      ),
    )
    expect(await loginError(server, `${role}_b`, o.outputs.password!)).toBeNull()

    // close again finishes the rotation; the record is gone with it.
    const c = await phase(
      server,
      { ...base, ...writeBack, phase: 'close', 'sealed-credentials': o.outputs.sealedCredentials! },
      { env: env() },
    )
    expect(c.outputs.username).toBe(`${role}_b`)
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).not.toBeNull()
    expect((await stateOf(server, role)).writtenBack).toBeUndefined()
  })

  it('status shows the write-back record of the still-open rotation and says to run close again', async () => {
    github = await fakeGitHub({ token: TOKEN, repository: REPO })
    const role = familyName('wbst')
    const { o, base } = await closeBlocked(role)
    const st = await phase(server, { ...base, phase: 'status' }, { env: env() })
    expect(st.status!.state).toBe('open')
    expect(st.status!.writtenBack).toMatchObject({
      login: `${role}_b`,
      rotationId: o.outputs.rotationId,
      secrets: ['DATABASE_URL', 'DB_USER'],
    })
    expect(st.log.lines.join('\n')).toMatch(
      new RegExp(
        `warning: close wrote the credentials of "${role}_b" to GitHub secrets DATABASE_URL, DB_USER.*run close again.*abort refuses`,
      ),
    )
  })

  it('abort with force: true disables the login anyway, and says to restore the secrets', async () => {
    github = await fakeGitHub({ token: TOKEN, repository: REPO })
    const role = familyName('wb')
    const { s, o, base } = await closeBlocked(role)
    const a = await phase(server, { ...base, phase: 'abort', force: 'true' }, { env: env() })
    expect(a.notes.join(' ')).toMatch(
      /force: true: GitHub secrets DATABASE_URL, DB_USER hold the credentials of .*put the credentials of .* back/,
    )
    expect(await loginError(server, `${role}_b`, o.outputs.password!)).not.toBeNull()
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
    expect((await stateOf(server, role)).writtenBack).toBeUndefined()
  })

  it('a close whose GitHub write is refused (403) leaves no record: abort works without force', async () => {
    github = await fakeGitHub({
      token: TOKEN,
      repository: REPO,
      intercept: refuseWrites,
    })
    const role = familyName('wb')
    const base = { role, 'seal-key': SEAL_KEY }
    await phase(server, { ...base, phase: 'setup' }, { env: env() })
    const o = await phase(server, { ...base, phase: 'open' }, { env: env() })
    const e = await failure(
      phase(
        server,
        { ...base, ...writeBack, phase: 'close', 'sealed-credentials': o.outputs.sealedCredentials! },
        { env: env() },
      ),
    )
    expect(e.message).toMatch(/403.*Nothing was closed: the old login stays enabled/s)
    expect((await stateOf(server, role)).writtenBack).toBeUndefined()
    await phase(server, { ...base, phase: 'abort' }, { env: env() })
  })

  it('close refuses sealed credentials that no longer log in, and writes nothing', async () => {
    github = await fakeGitHub({ token: TOKEN, repository: REPO })
    const role = familyName('wb')
    const base = { role, 'seal-key': SEAL_KEY }
    const s = await phase(server, { ...base, phase: 'setup' }, { env: env() })
    const o = await phase(server, { ...base, phase: 'open' }, { env: env() })
    // Someone changes the incoming login's password behind the action's back.
    await withAdmin(server, (c) => c.query(`ALTER ROLE "${role}_b" PASSWORD 'changed-by-hand-0123456789'`))
    const e = await failure(
      phase(
        server,
        { ...base, ...writeBack, phase: 'close', 'sealed-credentials': o.outputs.sealedCredentials! },
        { env: env() },
      ),
    )
    expect(e.message).toMatch(
      new RegExp(
        `password authentication failed.*The sealed credentials no longer log in.*not written to GitHub and "${role}_a" stays enabled`,
        's',
      ),
    )
    expect(github.requests.filter((r) => r.method === 'PUT')).toEqual([])
    expect((await stateOf(server, role)).rotation.id).toBe(o.outputs.rotationId)
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
  })

  it('setup whose write-back GitHub refuses (403): the family is committed, the step fails with the outputs set, and the message says what was and was not done', async () => {
    github = await fakeGitHub({
      token: TOKEN,
      repository: REPO,
      intercept: refuseWrites,
    })
    const role = familyName('wb')
    const s = await phase(server, { role, ...writeBack, phase: 'setup' }, { env: env() })
    expect(s.failure).toMatch(
      new RegExp(
        `403.*The family is set up \\(committed\\) and "${role}_a" has its new password, but GitHub was not updated`,
        's',
      ),
    )
    expect(s.failure).not.toMatch(/nothing was changed/i)
    expect(s.changes.length).toBeGreaterThan(0)
    expect(s.outputs.password).toBeDefined()
    expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()
    expect(github.stored.get('repo')).toBeUndefined()
    expect((await stateOf(server, role)).active).toBe(`${role}_a`)
  })
})
