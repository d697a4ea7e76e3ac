/**
 * Re-runs never change a password that may be in use (issue 8): a deploy may
 * hold the first attempt's password although the login has no sessions (an
 * application scaled to zero). And open never reports success with a password
 * a concurrent abort has disabled.
 */
import { describe, expect, it } from 'vitest'
import { familyName, loginAs, loginError, phase, servers, snapshotRoles } from '../harness/helpers.js'
import { family } from '../harness/roles.js'

const SEAL_KEY = 'correct horse battery staple, sealed'
describe.each(servers())('PostgreSQL $major: re-runs of open', (server) => {
  it('with seal-key, a re-run of the opening run emits the same credentials again and changes no password, with or without sessions', async () => {
    const role = familyName('rerun')
    const env = { GITHUB_RUN_ID: '8101' }
    await phase(server, { phase: 'setup', role, 'seal-key': SEAL_KEY }, { env })
    const first = await phase(server, { phase: 'open', role, 'seal-key': SEAL_KEY }, { env })
    const before = await snapshotRoles(server, family(role))

    const again = await phase(server, { phase: 'open', role, 'seal-key': SEAL_KEY }, { env })
    expect(again.outputs).toMatchObject({
      username: first.outputs.username,
      password: first.outputs.password,
      databaseUrl: first.outputs.databaseUrl,
      rotationId: first.outputs.rotationId,
      state: 'open',
    })
    expect(again.changes).toEqual([])
    expect(again.log.secrets).toEqual(expect.arrayContaining([first.outputs.password, first.outputs.databaseUrl]))
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    expect(await loginError(server, first.outputs.username!, first.outputs.password!)).toBeNull()

    // Once the new login is in use it is re-emitted too (nothing changes).
    const app = await loginAs(server, first.outputs.username!, first.outputs.password!)
    try {
      const third = await phase(server, { phase: 'open', role, 'seal-key': SEAL_KEY }, { env })
      expect(third.outputs.password).toBe(first.outputs.password)
    } finally {
      await app.end()
    }
    // The re-run needs the key the credentials were sealed with.
    await expect(phase(server, { phase: 'open', role }, { env })).rejects.toThrow(
      /seal-key.*is required to re-run open/,
    )
    expect(await snapshotRoles(server, family(role))).toEqual(before)
  })

  it('without seal-key, a re-run of the opening run refuses (the first password may be deployed to an application with no sessions now) and changes nothing', async () => {
    const role = familyName('rerun')
    const env = { GITHUB_RUN_ID: '8102' }
    await phase(server, { phase: 'setup', role }, { env })
    const first = await phase(server, { phase: 'open', role }, { env })
    const before = await snapshotRoles(server, family(role))
    await expect(phase(server, { phase: 'open', role }, { env })).rejects.toThrow(
      /cannot be emitted again: it was opened without seal-key.*scaled to zero.*force: true/s,
    )
    expect(await snapshotRoles(server, family(role))).toEqual(before)
    expect(await loginError(server, first.outputs.username!, first.outputs.password!)).toBeNull()
  })

  it('open does not report success with a password that an abort disabled after its login check', async () => {
    const role = familyName('rerun')
    await phase(server, { phase: 'setup', role })
    let aborted = false
    const e = await phase(
      server,
      { phase: 'open', role },
      {
        afterLoginCheck: async () => {
          await phase(server, { phase: 'abort', role })
          aborted = true
        },
      },
    ).then(
      () => null,
      (err: Error) => err,
    )
    expect(aborted).toBe(true)
    expect(e?.message).toMatch(
      /Rotation \S+ was aborted or changed by another phase while open checked "[^"]+_b"'s new password, so that password must not be used/,
    )
  })
})
