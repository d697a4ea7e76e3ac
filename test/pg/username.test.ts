/**
 * One meaning for `username` (issue 17): in every phase's outputs it is the login the
 * application should use now (during an open rotation, the incoming one) and
 * `previous-username` the other; the summary's facts agree with the state, and `status`
 * never carries the sealed credentials.
 */
import { describe, expect, it } from 'vitest'
import { renderSummary } from '../../src/action/summary.js'
import { familyName, phase, servers } from '../harness/helpers.js'

const SEAL_KEY = 'a-seal-key-of-some-length'

describe.each(servers())('PostgreSQL $major: username means the login to use now', (server) => {
  it('setup, open, status, verify-drain, close and abort agree on username and previous-username', async () => {
    const role = familyName()
    const [a, b] = [`${role}_a`, `${role}_b`]
    const s = await phase(server, { phase: 'setup', role })
    expect(s.outputs).toMatchObject({ username: a, state: 'idle' })

    const o = await phase(server, { phase: 'open', role, 'seal-key': SEAL_KEY })
    expect(o.outputs).toMatchObject({ username: b, previousUsername: a, state: 'open' })
    const id = o.outputs.rotationId!

    const st = await phase(server, { phase: 'status', role })
    expect(st.outputs).toMatchObject({ username: b, previousUsername: a, state: 'open', rotationId: id })
    // The state still names the outgoing login as active until close; the JSON says so and holds no ciphertext.
    expect(st.status).toMatchObject({ active: a, rotation: { id, incoming: b } })
    expect(st.status!.rotation).not.toHaveProperty('sealed')
    expect(st.status!.rotation).not.toHaveProperty('verifier')
    expect(JSON.stringify(st.status)).not.toMatch(/pgrot\d\./)
    expect(JSON.stringify(st.status)).not.toContain(o.outputs.sealedCredentials!.slice(0, 40))

    const setupAgain = await phase(server, { phase: 'setup', role })
    expect(setupAgain.outputs).toMatchObject({ username: b, previousUsername: a, state: 'open' })

    const d = await phase(server, { phase: 'verify-drain', role, 'rotation-id': id, timeout: '1s' }).catch((e) => e)
    if (!(d instanceof Error)) expect(d.outputs).toMatchObject({ username: b, previousUsername: a })

    // The summaries of open and status agree with the state: active is the outgoing login, the incoming one is named so.
    for (const r of [o, st]) {
      const md = renderSummary(r)
      expect(md).toContain(`- **login to use now (incoming)**: ${b}`)
      expect(md).toContain(`- **active login (outgoing, until close)**: ${a}`)
      expect(md).not.toContain(`- **active login**: ${b}`)
    }

    const ab = await phase(server, { phase: 'abort', role, 'rotation-id': id })
    expect(ab.outputs).toMatchObject({ username: a, previousUsername: b, state: 'idle' })
    expect(renderSummary(ab)).toContain(`- **aborted login**: ${b}`)

    const o2 = await phase(server, { phase: 'open', role })
    const dr = await phase(server, { phase: 'verify-drain', role, 'rotation-id': o2.outputs.rotationId! })
    expect(dr.outputs).toMatchObject({ username: b, previousUsername: a, drained: true })
    const c = await phase(server, { phase: 'close', role, 'rotation-id': o2.outputs.rotationId! })
    expect(c.outputs).toMatchObject({ username: b, previousUsername: a, state: 'idle' })
    expect(renderSummary(c)).toContain(`- **active login**: ${b}`)
    const idle = await phase(server, { phase: 'status', role })
    expect(idle.outputs).toMatchObject({ username: b, state: 'idle' })
  })
})
