/**
 * dist/index.js, run as the runner runs it, against a pooler console that
 * stalls (test/harness/fake-console.ts): the step ends within its limits (the
 * process exits: nothing it opened keeps it alive) and names the console; a
 * console whose answers hold runner commands yields none.
 */
import { afterEach, expect, it } from 'vitest'
import { runAction } from '../../scripts/lib/run-action.mjs'
import { describeEachServer, familyName } from '../harness/helpers.js'
import { fakeConsole, type FakeConsole } from '../harness/fake-console.js'
import { runnerCommands } from '../harness/markdown.js'

/** Fake consoles for the suite it is called in, closed after each of its tests (per suite: the servers' suites run side by side). */
function suiteConsoles(): (opts: Parameters<typeof fakeConsole>[0]) => Promise<FakeConsole> {
  const consoles: FakeConsole[] = []
  afterEach(async () => {
    await Promise.all(consoles.splice(0).map((c) => c.close()))
  })
  return async (opts) => {
    const c = await fakeConsole(opts)
    consoles.push(c)
    return c
  }
}

/** The runner commands in the output other than the action's own (which carry no `##[`). */
const foreign = (stdout: string) =>
  runnerCommands(stdout).filter((l) => !/^::(add-mask|warning|error|notice|debug)::/.test(l) || l.includes('##['))

describeEachServer('a stalled pooler console (dist/index.js)', (server) => {
  const console_ = suiteConsoles()

  async function opened(): Promise<{ role: string }> {
    const role = familyName('e2estall')
    for (const phase of ['setup', 'open']) {
      const r = await runAction({ 'admin-url': server.url, role, phase })
      expect(r.code, r.stdout).toBe(0)
    }
    return { role }
  }

  it('verify-drain with timeout 2s and a silent console exits within the timeout, not drained, naming it', async () => {
    const { role } = await opened()
    const fc = await console_({ answer: 0 })
    const r = await runAction({
      'admin-url': server.url,
      role,
      phase: 'verify-drain',
      'pgbouncer-urls': fc.url,
      timeout: '2s',
    })
    expect(r.code).toBe(1)
    expect(r.outputs.drained).toBe('false')
    expect(r.stdout).toContain(`::error::Not drained: pgbouncer-urls: pooler ${fc.label}`)
    expect(r.stdout).toMatch(/no answer to SHOW VERSION within \d+ ms: the console stalled/)
    // The 2 s timeout, not the 5 s a console command may take by default.
    expect(r.ms).toBeLessThan(2000 + 2500)
  })

  it('close whose console stalls at its re-check exits after the command limit, naming it, nothing changed', async () => {
    const { role } = await opened()
    const fc = await console_({ answer: 5 })
    const r = await runAction({ 'admin-url': server.url, role, phase: 'close', 'pgbouncer-urls': fc.url })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      new RegExp(
        `::error::pgbouncer-urls: cannot read pooler ${fc.label.replace(/\./g, '\\.')} \\(entry 1\\): no answer`,
      ),
    )
    expect(r.stdout).toContain('Nothing was changed')
    // The default limit: 5 s a command; the process does not linger after it.
    expect(r.ms).toBeLessThan(5000 + 6000) // the 15 s whole-read limit would be next
    const status = await runAction({ 'admin-url': server.url, role, phase: 'status' })
    expect(status.outputs.state).toBe('open')
  })

  it("a console's answers holding runner commands (its version, a database entry's forced user) yield none", async () => {
    const { role } = await opened()
    const fc = await console_({
      answer: 100,
      version: 'PgBouncer 1.25.2 ##[stop-commands]hush\n::error::forged',
      databases: [{ name: 'appdb ##[error]forged', force_user: 'x\u0085::error::forged ##[stop-commands]hush' }],
    })
    const r = await runAction({ 'admin-url': server.url, role, phase: 'status', 'pgbouncer-urls': fc.url })
    expect(r.code, r.stdout).toBe(0)
    expect(foreign(r.stdout)).toEqual([])
    // Shown, not dropped: the forced-user warning in the log, the version in the summary.
    expect(r.stdout).toMatch(/::warning::pooler .*forces user .*stop-commands\]hush/)
    expect(r.summary).toContain('stop-commands')
  })
})
