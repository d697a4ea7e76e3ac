import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installedMajors, startPrimaryAndReplica, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { runAction } from '../../scripts/lib/run-action.mjs'
import { familyName, loginAs, phase } from '../harness/helpers.js'
import { embeddedTestServer as asTestServer } from '../harness/servers.js'

// A real streaming replica needs servers of our own: run on the newest and oldest installed majors.
const majors = [...new Set([installedMajors().at(-1), installedMajors()[0]])].filter(
  (m): m is number => m !== undefined,
)

async function replicated(replica: EmbeddedServer, role: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const c = await loginAs(asTestServer(replica), 'postgres', replica.password)
    const n = (
      await c.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE $1 || '%' AND rolcanlogin`, [role])
    ).rows[0].n
    await c.end()
    if (n >= 2) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the replica did not catch up')
}

describe.skipIf(majors.length === 0).each(majors)('PostgreSQL %i with a streaming replica (replica-urls)', (major) => {
  let primary: EmbeddedServer
  let replica: EmbeddedServer
  beforeAll(async () => {
    ;({ primary, replica } = await startPrimaryAndReplica(major))
  })
  afterAll(async () => {
    await replica?.stop()
    await primary?.stop()
  })

  it('verify-drain and close count sessions of the old login on the replica, and terminate ends them there', async () => {
    const p = asTestServer(primary)
    const role = familyName()
    const s = await phase(p, { phase: 'setup', role })
    const o = await phase(p, { phase: 'open', role })
    await replicated(replica, role)
    const readOnly = await loginAs(asTestServer(replica), s.outputs.username!, s.outputs.password!)
    readOnly.on('error', () => {})
    expect((await readOnly.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true)

    // Without replica-urls the primary alone looks drained: the reason the input exists.
    const blind = await phase(p, { phase: 'verify-drain', role, timeout: '200ms' })
    expect(blind.outputs.drained).toBe(true)

    const replicaUrls = replica.url
    const d = await phase(p, { phase: 'verify-drain', role, timeout: '400ms', 'replica-urls': replicaUrls })
    expect(d.outputs).toMatchObject({ drained: false, remainingConnections: 1 })
    expect(d.failure).toMatch(new RegExp(`1 \\(postgres@127\\.0\\.0\\.1:${replica.port}: 1\\)`))
    await expect(phase(p, { phase: 'close', role, 'replica-urls': replicaUrls })).rejects.toThrow(
      /still has 1 .*sessions/,
    )

    const c = await phase(p, {
      phase: 'close',
      role,
      terminate: 'true',
      'replica-urls': replicaUrls,
      'rotation-id': o.outputs.rotationId!,
    })
    expect(c.outputs).toMatchObject({ remainingConnections: 0, state: 'idle' })
    await readOnly.end().catch(() => {})
  })

  it('replica URLs are masked in the runner log, password included', async () => {
    const role = familyName()
    const r = await runAction({
      phase: 'status',
      role,
      'admin-url': primary.url,
      'replica-urls': `# the standby\n${replica.url}\n`,
    })
    expect(r.code, r.stdout).toBe(0)
    expect(r.masks).toContain(replica.url)
    expect(r.masks).toContain(replica.password)
    expect(JSON.parse(r.outputs.status).state).toBe('not set up')
  })
})
