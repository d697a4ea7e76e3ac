import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../../scripts/lib/run-action.mjs'
import { familyName, servers, withAdmin } from '../harness/helpers.js'

const enc = encodeURIComponent

/** The values the runner registers: it unescapes a command's data (%0D, %0A, %25). */
const registered = (r: ActionRun) =>
  r.masks.map((m) => m.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))

function expectMasked(r: ActionRun, secrets: string[], user: string) {
  expect(r.code, r.stdout + r.stderr).toBe(0)
  for (const s of secrets) expect(registered(r)).toContain(s)
  expect(registered(r)).not.toContain(user)
}

/**
 * A phase that reads replica-urls refuses a server that is not a standby (here the
 * primary stands in for the replica): the secrets are still masked, and masked
 * before the refusal is printed, and no output shows one in the clear.
 */
function expectMaskedBeforeRefusal(r: ActionRun, secrets: string[], user: string) {
  expect(r.code, r.stdout + r.stderr).toBe(1)
  const error = r.stdout.search(/^::error::/m)
  expect(r.stdout.slice(error)).toMatch(
    /^::error::replica 127\.0\.0\.1:\d+ \(replica-urls line 1\) is no longer a standby/,
  )
  const before = registered({
    ...r,
    masks: [...r.stdout.slice(0, error).matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1]),
  })
  for (const s of secrets) expect(before).toContain(s)
  expect(registered(r)).not.toContain(user)
  const shown = (r.stdout + r.stderr).replace(/^::add-mask::.*$/gm, '')
  for (const s of secrets) expect(shown).not.toContain(s)
}

describe.each(servers())('PostgreSQL $major: dist/index.js masks every form of a connection password', (server) => {
  it('admin-url (userinfo and ?password=), replica-urls and PGPASSWORD, with @ : / ? # % + and spaces, and an unencoded @', async () => {
    const user = `mask_${randomBytes(3).toString('hex')}`
    const pw = `p@ss:w/o?r#d%+ x${randomBytes(3).toString('hex')}`
    const atOnly = `p@ss@${randomBytes(3).toString('hex')}`
    const user2 = `${user}_at`
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${user} SUPERUSER LOGIN PASSWORD '${pw}'`)
      await c.query(`CREATE ROLE ${user2} SUPERUSER LOGIN PASSWORD '${atOnly}'`)
    })
    const where = `127.0.0.1:${server.port}/postgres`
    const role = familyName('mask')
    const userinfo = `postgresql://${user}:${enc(pw)}@${where}`
    const query = `postgresql://${user}@${where}?password=${enc(pw)}`

    const a = await runAction({ phase: 'status', role, 'admin-url': userinfo, 'replica-urls': query })
    expectMaskedBeforeRefusal(a, [userinfo, query, pw, enc(pw)], user)

    const b = await runAction({ phase: 'status', role, 'admin-url': query })
    expectMasked(b, [query, pw, enc(pw)], user)

    const unencoded = `postgresql://${user2}:${atOnly}@${where}`
    const c = await runAction({ phase: 'status', role, 'admin-url': unencoded, 'replica-urls': unencoded })
    expectMaskedBeforeRefusal(c, [unencoded, atOnly], user2)

    const d = await runAction(
      { phase: 'status', role },
      {
        env: { PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: user, PGPASSWORD: pw, PGDATABASE: 'postgres' },
      },
    )
    expectMasked(d, [pw], user)
    await withAdmin(server, (x) => x.query(`DROP ROLE ${user}; DROP ROLE ${user2}`))
  })
})
