/**
 * close's promise is a postcondition (issue 15, item 1): a session of the old
 * login that logs in while close's transaction is in flight (here: while close
 * waits for GitHub under its lock, held deterministically by the stand-in) never
 * survives a close that reports success. With terminate it is ended; without,
 * close fails after its commit, saying what was committed and what remains.
 */
import type pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { fakeGitHub, holdFirstWrite, type FakeGitHub } from '../harness/fake-github.js'
import { familyName, loginAs, loginError, phase, servers } from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

const TOKEN = 'github_pat_11TEST0000000000000000_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL'
const SEAL_KEY = 'correct horse battery staple, sealed'
const REPO = 'octo-org/shop'

let github: FakeGitHub | null = null
const clients: pg.Client[] = []
afterEach(async () => {
  await github?.close()
  github = null
  for (const c of clients.splice(0)) await c.end().catch(() => {})
})

describe.each(servers())('PostgreSQL $major: a session that logs in during close', (server: TestServer) => {
  const env = () => ({ GITHUB_RUN_ID: '4242', GITHUB_API_URL: github!.apiUrl, GITHUB_REPOSITORY: REPO })

  /**
   * setup and open with seal-key; then close with write-back, and while GitHub holds
   * close's first secret write (close is inside its transaction, the family locked, the
   * old login still enabled), the holder of the old password logs in.
   */
  async function raceClose(inputs: Record<string, string>) {
    const hold = holdFirstWrite()
    github = await fakeGitHub({ token: TOKEN, repository: REPO, intercept: hold.intercept })
    const role = familyName('race')
    const base = { role, 'seal-key': SEAL_KEY }
    const s = await phase(server, { ...base, phase: 'setup' }, { env: env() })
    const o = await phase(server, { ...base, phase: 'open' }, { env: env() })
    const closing = phase(
      server,
      {
        ...base,
        phase: 'close',
        'github-token': TOKEN,
        'github-secrets': 'DATABASE_URL=database-url',
        'sealed-credentials': o.outputs.sealedCredentials!,
        ...inputs,
      },
      { env: env() },
    ).then(
      (r) => ({ ok: true as const, r }),
      (e: Error) => ({ ok: false as const, e }),
    )
    await hold.held
    const intruder = await loginAs(server, s.outputs.username!, s.outputs.password!)
    clients.push(intruder)
    expect((await intruder.query('SELECT current_user AS u')).rows[0].u).toBe(role)
    hold.release()
    return { role, s, o, intruder, outcome: await closing }
  }

  it('with terminate: true, the session is ended after the commit and close reports none remaining', async () => {
    const { s, intruder, outcome } = await raceClose({ terminate: 'true' })
    if (!outcome.ok) throw outcome.e
    const c = outcome.r
    expect(c.outputs).toMatchObject({ state: 'idle', remainingConnections: 0 })
    await expect(intruder.query('SELECT 1')).rejects.toThrow()
    expect(await loginError(server, s.outputs.username!, s.outputs.password!)).not.toBeNull()
    // The summary's sessions agree with remaining-connections.
    expect(c.sessions.filter((g) => g.login === s.outputs.username)).toEqual([])
    expect(c.notes.join(' ')).toMatch(new RegExp(`"${s.outputs.username}".*terminate`))
  })

  it('without terminate, close fails after its commit, naming what was committed, the session, and how to end it', async () => {
    const { role, s, o, intruder, outcome } = await raceClose({})
    expect(outcome.ok).toBe(false)
    const e = (outcome as { e: Error & { committed?: boolean } }).e
    expect(e.committed).toBe(true)
    const old = s.outputs.username!
    expect(e.message).toMatch(new RegExp(`"${old}" was disabled and rotation ${o.outputs.rotationId} closed`))
    expect(e.message).toMatch(new RegExp(`"${old}" still has 1 .*session.*logged in during the close`))
    expect(e.message).toMatch(/test-app/)
    expect(e.message).toMatch(new RegExp(`close again with terminate: true and rotation-id: ${o.outputs.rotationId}`))
    expect(e.message).not.toMatch(/nothing was changed/i)
    // The session is still there, as the message says; the old login no longer logs in.
    expect((await intruder.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    expect(await loginError(server, old, s.outputs.password!)).not.toBeNull()

    // The re-run the message names ends it.
    const again = await phase(
      server,
      { role, phase: 'close', terminate: 'true', 'rotation-id': o.outputs.rotationId! },
      { env: env() },
    )
    expect(again.outputs).toMatchObject({ state: 'idle', remainingConnections: 0, previousUsername: old })
    await expect(intruder.query('SELECT 1')).rejects.toThrow()
  })
})
