import { afterEach, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../../scripts/lib/run-action.mjs'
import { fakeGitHub, refuseWrites, type FakeGitHub } from '../harness/fake-github.js'
import { familyName, loginAs, loginError, servers } from '../harness/helpers.js'

const TOKEN = 'github_pat_11TEST0000000000000000_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL'
const SEAL_KEY = 'correct horse battery staple, sealed'
const REPO = 'octo-org/shop'

/**
 * The runner's rule for job outputs: a value that contains any string masked in
 * that job is dropped ("Skip output ... since it may contain secret").
 */
function jobOutputs(step: ActionRun, names: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of names) {
    const v = step.outputs[n]
    if (v !== undefined && !step.masks.some((m) => m.length > 0 && v.includes(m))) out[n] = v
  }
  return out
}

const visible = (r: ActionRun) => (r.stdout + r.stderr).replace(/^::add-mask::.*$/gm, '')

let github: FakeGitHub | null = null
afterEach(async () => {
  await github?.close()
  github = null
})

describe.each(servers().slice(-1))(
  'PostgreSQL $major: the rotation across jobs, as the runner carries outputs between them',
  (server) => {
    it('setup writes the first secret; open -> deploy (unseal) -> verify-drain -> close writes the new one before disabling the old login', async () => {
      github = await fakeGitHub({ token: TOKEN, repository: REPO })
      const role = familyName('jobs')
      const env = { GITHUB_API_URL: github.apiUrl, GITHUB_REPOSITORY: REPO }
      const base = { 'admin-url': server.url, role, 'seal-key': SEAL_KEY }
      const writeBack = {
        'github-token': TOKEN,
        'github-secrets': 'DATABASE_URL=database-url\nDB_USER=username\nDB_PASSWORD=password',
      }

      const setup = await runAction({ ...base, ...writeBack, phase: 'setup' }, { env })
      expect(setup.code, setup.stdout).toBe(0)
      const stored = github.stored.get('repo')!
      expect(stored.get('DATABASE_URL')).toBe(setup.outputs['database-url'])
      expect(stored.get('DB_USER')).toBe(`${role}_a`)
      expect(await loginError(server, stored.get('DB_USER')!, stored.get('DB_PASSWORD')!)).toBeNull()
      expect(visible(setup)).not.toContain(TOKEN)
      expect(setup.masks).toContain(TOKEN)
      expect(setup.masks).toContain(SEAL_KEY)

      // An application running on the first credential.
      let app = await loginAs(server, stored.get('DB_USER')!, stored.get('DB_PASSWORD')!)

      // job: open
      const open = await runAction({ ...base, phase: 'open' }, { env })
      expect(open.code, open.stdout).toBe(0)
      const fromOpen = jobOutputs(open, [
        'rotation-id',
        'username',
        'previous-username',
        'sealed-credentials',
        'password',
        'database-url',
      ])
      // The masked values are dropped; everything the later jobs need survives.
      expect(Object.keys(fromOpen).sort()).toEqual([
        'previous-username',
        'rotation-id',
        'sealed-credentials',
        'username',
      ])
      expect(fromOpen['sealed-credentials']).toMatch(/^pgrot1\./)
      expect(fromOpen['sealed-credentials']).not.toContain(open.outputs.password)

      // job: deploy — unseal, then the application moves to the new login
      const unseal = await runAction(
        { phase: 'unseal', role, 'seal-key': SEAL_KEY, 'sealed-credentials': fromOpen['sealed-credentials'] },
        { env },
      )
      expect(unseal.code, unseal.stdout).toBe(0)
      expect(unseal.outputs).toMatchObject({
        username: fromOpen.username,
        password: open.outputs.password,
        'database-url': open.outputs['database-url'],
      })
      expect(unseal.masks).toEqual(
        expect.arrayContaining([open.outputs.password, open.outputs['database-url'], SEAL_KEY]),
      )
      expect(visible(unseal)).not.toContain(open.outputs.password)
      const newApp = await loginAs(server, unseal.outputs.username, unseal.outputs.password)
      await app.end()
      app = newApp

      // job: verify-drain
      const drain = await runAction(
        { ...base, phase: 'verify-drain', 'rotation-id': fromOpen['rotation-id'], interval: '100ms', timeout: '10s' },
        { env },
      )
      expect(drain.code, drain.stdout).toBe(0)

      // job: close — writes back first
      const close = await runAction(
        {
          ...base,
          ...writeBack,
          phase: 'close',
          'rotation-id': fromOpen['rotation-id'],
          'sealed-credentials': fromOpen['sealed-credentials'],
        },
        { env },
      )
      expect(close.code, close.stdout).toBe(0)
      expect(stored.get('DATABASE_URL')).toBe(open.outputs['database-url'])
      expect(stored.get('DB_USER')).toBe(fromOpen.username)
      expect(await loginError(server, stored.get('DB_USER')!, stored.get('DB_PASSWORD')!)).toBeNull()
      expect(await loginError(server, setup.outputs.username, setup.outputs.password)).not.toBeNull()
      expect(close.summary).toContain('GitHub secrets DATABASE_URL, DB_USER, DB_PASSWORD hold the credentials')
      await app.end()
    })

    it('when GitHub refuses the write, close fails and the old login stays enabled (the secret store keeps a credential that logs in)', async () => {
      github = await fakeGitHub({
        token: TOKEN,
        repository: REPO,
        intercept: refuseWrites,
      })
      const role = familyName('jobs')
      const env = { GITHUB_API_URL: github.apiUrl, GITHUB_REPOSITORY: REPO }
      const base = { 'admin-url': server.url, role, 'seal-key': SEAL_KEY }
      const setup = await runAction({ ...base, phase: 'setup' }, { env })
      const open = await runAction({ ...base, phase: 'open' }, { env })
      const close = await runAction(
        {
          ...base,
          phase: 'close',
          'sealed-credentials': open.outputs['sealed-credentials'],
          'github-token': TOKEN,
          'github-secrets': 'DATABASE_URL=database-url',
        },
        { env },
      )
      expect(close.code).toBe(1)
      expect(close.stdout).toMatch(/::error::.*403.*GITHUB_TOKEN cannot write secrets.*the old login stays enabled/s)
      expect(visible(close)).not.toContain(TOKEN)
      expect(await loginError(server, setup.outputs.username, setup.outputs.password)).toBeNull()
      const status = await runAction({ ...base, phase: 'status' }, { env })
      expect(JSON.parse(status.outputs.status)).toMatchObject({ state: 'open', active: setup.outputs.username })
    })

    it('setup whose write-back GitHub refuses after the commit: the step fails, sets its (masked) outputs, and neither the log nor the summary claims nothing was changed', async () => {
      github = await fakeGitHub({
        token: TOKEN,
        repository: REPO,
        intercept: refuseWrites,
      })
      const role = familyName('jobs')
      const env = { GITHUB_API_URL: github.apiUrl, GITHUB_REPOSITORY: REPO }
      const setup = await runAction(
        {
          'admin-url': server.url,
          role,
          phase: 'setup',
          'github-token': TOKEN,
          'github-secrets': 'DATABASE_URL=database-url',
        },
        { env },
      )
      expect(setup.code).toBe(1)
      expect(setup.stdout).toMatch(/::error::.*403.*The family is set up \(committed\)/)
      expect(setup.outputs.password).toBeDefined()
      expect(setup.masks).toContain(setup.outputs.password)
      expect(await loginError(server, `${role}_a`, setup.outputs.password)).toBeNull()
      expect(setup.summary).toMatch(/`setup` failed/)
      expect(setup.summary + visible(setup)).not.toMatch(/nothing was changed/i)
    })

    it('a close that refuses (old sessions remain) writes nothing to GitHub: the write happens inside the close, with the family locked', async () => {
      github = await fakeGitHub({ token: TOKEN, repository: REPO })
      const role = familyName('jobs')
      const env = { GITHUB_API_URL: github.apiUrl, GITHUB_REPOSITORY: REPO }
      const base = { 'admin-url': server.url, role, 'seal-key': SEAL_KEY }
      const setup = await runAction({ ...base, phase: 'setup' }, { env })
      const open = await runAction({ ...base, phase: 'open' }, { env })
      const app = await loginAs(server, setup.outputs.username, setup.outputs.password)
      try {
        const close = await runAction(
          {
            ...base,
            phase: 'close',
            'sealed-credentials': open.outputs['sealed-credentials'],
            'github-token': TOKEN,
            'github-secrets': 'DATABASE_URL=database-url',
          },
          { env },
        )
        expect(close.code).toBe(1)
        expect(close.stdout).toMatch(/::error::The outgoing login "[^"]+" still has 1/)
        expect(github.requests.filter((r) => r.method === 'PUT')).toEqual([])
      } finally {
        await app.end()
      }
    })

    it('unseal refuses a wrong key, an altered value and another family, printing nothing secret', async () => {
      const role = familyName('jobs')
      const base = { 'admin-url': server.url, role, 'seal-key': SEAL_KEY }
      await runAction({ ...base, phase: 'setup' })
      const open = await runAction({ ...base, phase: 'open' })
      const sealed = open.outputs['sealed-credentials']
      const flip = sealed.slice(0, -3) + (sealed.at(-3) === 'A' ? 'B' : 'A') + sealed.slice(-2)
      const cases: [Record<string, string>, RegExp][] = [
        [{ 'seal-key': 'another passphrase entirely' }, /::error::input 'seal-key'/],
        [{ 'sealed-credentials': flip }, /::error::input 'sealed-credentials'/],
        [{ role: `${role}_other` }, /::error::input 'sealed-credentials'.*(family|other)/i],
      ]
      for (const [override, expected] of cases) {
        const r = await runAction({
          phase: 'unseal',
          role,
          'seal-key': SEAL_KEY,
          'sealed-credentials': sealed,
          ...override,
        })
        expect(r.code).toBe(1)
        expect(r.stdout).toMatch(expected)
        expect(visible(r)).not.toContain(open.outputs.password)
        expect(r.outputs.password).toBeUndefined()
      }
    })
  },
)
