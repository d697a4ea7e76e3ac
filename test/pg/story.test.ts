/**
 * The log tells the story at the default level (issue 17): each phase, run through the
 * Action adapter (src/action/main.ts, in-process, inputs as INPUT_* variables as the runner
 * sets them), prints one line per change it made and every warning its summary holds.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { run } from '../../src/action/main.js'
import { describeChange } from '../../src/domain/story.js'
import { familyName, servers, withAdmin } from '../harness/helpers.js'
import { createRoleAdmin } from '../harness/roles.js'
import { captureFd1 } from '../harness/fd1.js'

/** Runs the adapter with these inputs; returns what it printed that a runner shows at the default level. */
async function runLogged(inputs: Record<string, string>): Promise<{ lines: string[]; code: number }> {
  const saved = { ...process.env }
  for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v
  delete process.env.GITHUB_OUTPUT
  delete process.env.GITHUB_STEP_SUMMARY
  let out: string
  try {
    process.exitCode = undefined
    out = await captureFd1(run)
  } finally {
    process.env = saved
  }
  const code = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  // What the runner shows by default: no debug lines, no mask or output commands.
  const lines = out.split('\n').filter((l) => l && !/^::(debug|add-mask|set-output)/.test(l))
  return { lines, code }
}

afterEach(() => {
  process.exitCode = undefined
})

describe('describeChange', () => {
  it('says what each statement shape did, and falls back to the statement', () => {
    expect(describeChange(`ALTER ROLE "app_a" WITH NOLOGIN PASSWORD '***'`)).toBe(
      'Disabled "app_a" (NOLOGIN, and a random password nobody knows).',
    )
    expect(describeChange(`ALTER ROLE "a""b" WITH LOGIN PASSWORD '***'`)).toBe('Enabled "a"b" with a new password.')
    expect(describeChange(`ALTER ROLE "app_b" IN DATABASE "d" SET "search_path" TO 'x'`)).toBe(
      'Copied the setting search_path to "app_b" in database "d".',
    )
    expect(describeChange('VACUUM')).toBe('Ran: VACUUM')
  })
})

describe.each(servers())('PostgreSQL $major: the log at the default level', (server) => {
  it('setup, open, verify-drain, close and abort each print what they changed and how they ended', async () => {
    const role = familyName()
    const base = { 'admin-url': server.url, role, interval: '100ms' }
    const setup = await runLogged({ ...base, phase: 'setup' })
    expect(setup.code).toBe(0)
    expect(setup.lines).toContain(`  Created role "${role}" (NOLOGIN).`)
    expect(setup.lines).toContain(`  Enabled "${role}_a" with a new password.`)
    expect(setup.lines.at(-1)).toMatch(new RegExp(`^setup done: state idle, login to use: "${role}_a"`))

    const open = await runLogged({ ...base, phase: 'open' })
    expect(open.lines).toContain(`  Enabled "${role}_b" with a new password.`)
    expect(open.lines.at(-1)).toMatch(/^open done: state open, login to use: ".*_b" \(incoming\), outgoing/)

    const drain = await runLogged({ ...base, phase: 'verify-drain' })
    expect(drain.code).toBe(0)
    expect(drain.lines.at(-1)).toMatch(/^verify-drain done, nothing changed: state open/)

    const close = await runLogged({ ...base, phase: 'close' })
    expect(close.code).toBe(0)
    expect(close.lines).toContain(`  Disabled "${role}_a" (NOLOGIN, and a random password nobody knows).`)
    expect(close.lines.at(-1)).toMatch(
      new RegExp(`^close done: state idle, login to use: "${role}_b", previous: "${role}_a"`),
    )

    await runLogged({ ...base, phase: 'open' })
    const abort = await runLogged({ ...base, phase: 'abort' })
    expect(abort.lines).toContain(`  Disabled "${role}_a" (NOLOGIN, and a random password nobody knows).`)
    expect(abort.lines.at(-1)).toMatch(/^abort done: state idle, login to use: ".*_b", aborted: ".*_a"/)
  })

  it("adopt's notes and warnings in the summary reach the log (the skipped pg_hba.conf check)", async () => {
    const role = familyName()
    const admin = await createRoleAdmin(server)
    await withAdmin(server, async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'x'`)
      await c.query(`GRANT ${role} TO ${admin.name} WITH ADMIN OPTION`)
    })
    const r = await runLogged({ 'admin-url': admin.url, role, phase: 'setup', adopt: 'true' })
    expect(r.code, r.lines.join('\n')).toBe(0)
    expect(r.lines.some((l) => l.startsWith('Adoption check skipped') && l.includes('pg_hba'))).toBe(true)
  })
})
