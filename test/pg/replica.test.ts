import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installedMajors, startPrimaryAndReplica, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { runAction } from '../../scripts/lib/run-action.mjs'
import { familyName, loginAs, loginError, phase, servers, snapshotRoles } from '../harness/helpers.js'
import { withClient } from '../harness/clients.js'
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

/**
 * Makes the standby apply every commit `delay` after the primary made it (recovery_min_apply_delay,
 * a reload setting: the startup process re-reads it while it waits). Returns once a new session sees it.
 */
/**
 * A proxy in front of the replica that forwards everything until a client sends the replay-position
 * poll (pg_last_wal_replay_lsn), then goes silent both ways with the connection open: a replica that
 * stops answering exactly at the poll.
 */
async function stallAtReplayPoll(upstreamPort: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1')
    let stalled = false
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
    }
    client.on('data', (d: Buffer) => {
      if (d.includes('pg_last_wal_replay_lsn')) stalled = true
      if (!stalled) upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      if (!stalled) client.write(d)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** The frontend's Terminate message ('X', length 4): what a client sends last, before it closes. */
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4])

/**
 * A proxy in front of the replica that forwards everything, but holds each client's Terminate
 * message (and the end of its connection) for `holdMs`: the server's backend of a session the
 * client has closed stays in pg_stat_activity that long, as a backend that is slow to exit does.
 */
async function slowExits(upstreamPort: number, holdMs: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1')
    let holding = false
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (d: Buffer) => {
      const last = d.subarray(d.length - TERMINATE.length)
      if (!last.equals(TERMINATE)) return void upstream.write(d)
      upstream.write(d.subarray(0, d.length - TERMINATE.length))
      holding = true
      const t = setTimeout(() => {
        timers.delete(t)
        upstream.end(TERMINATE)
      }, holdMs)
      timers.add(t)
    })
    client.on('end', () => {
      if (!holding) upstream.end()
    })
    upstream.on('data', (d: Buffer) => {
      if (!client.destroyed) client.write(d)
    })
    upstream.on('end', () => client.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

async function applyDelay(replica: EmbeddedServer, delay: string): Promise<void> {
  await withClient(replica.url, async (c) => {
    await c.query(`ALTER SYSTEM SET recovery_min_apply_delay = '${delay}'`)
    await c.query('SELECT pg_reload_conf()')
  })
  const want = await withClient(replica.url, async (c) => (await c.query(`SELECT '${delay}'::interval AS v`)).rows[0].v)
  for (let i = 0; i < 200; i++) {
    const now = await withClient(
      replica.url,
      async (c) => (await c.query(`SELECT current_setting('recovery_min_apply_delay')::interval AS v`)).rows[0].v,
    )
    if (JSON.stringify(now) === JSON.stringify(want)) return
    await new Promise((r) => setImmediate(r))
  }
  throw new Error(`recovery_min_apply_delay did not become ${delay}`)
}

/** The sessions a login has on a server. */
async function sessionsOf(server: EmbeddedServer, login: string): Promise<number> {
  return withClient(
    server.url,
    async (c) =>
      (await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [login])).rows[0].n,
  )
}

// One suite per major, side by side (each has its own primary and standby), its tests in order.
describe.skipIf(majors.length === 0).concurrent.each(majors)('PostgreSQL %i', (major) => {
  describe.sequential('with a streaming replica (replica-urls)', () => {
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

    // A second is far longer than a phase takes from its commit to its report (milliseconds), so a
    // phase that did not wait for the replay would still be caught; each of the five phases waits it out.
    describe('with a standby that applies commits 1 s late', () => {
      beforeAll(() => applyDelay(replica, '1s'))
      afterAll(() => applyDelay(replica, '0'))

      it('the credentials setup and open report log in on the replica the moment they are reported, and close and abort leave nothing of the old login there', async () => {
        const p = asTestServer(primary)
        const r = asTestServer(replica)
        const role = familyName()
        const replicaUrls = replica.url
        const s = await phase(p, { phase: 'setup', role, 'replica-urls': replicaUrls })
        expect(await loginError(r, s.outputs.username!, s.outputs.password!)).toBeNull()
        const label = `127.0.0.1:${replica.port}`
        const waited = s.notes.find((n) => n.includes(label) && /replayed/.test(n))
        expect(waited, s.notes.join('\n')).toMatch(/bytes/)
        expect(s.log.lines.join('\n')).toContain(waited!)

        const o = await phase(p, { phase: 'open', role, 'replica-urls': replicaUrls })
        const incoming = await loginAs(r, o.outputs.username!, o.outputs.password!)
        expect((await incoming.query('SELECT current_user AS u')).rows[0].u).toBe(role)
        await incoming.end()

        // A reader on the replica still on the old login, that close with terminate must end there.
        const reader = await loginAs(r, s.outputs.username!, s.outputs.password!)
        reader.on('error', () => {})
        const c = await phase(p, {
          phase: 'close',
          role,
          terminate: 'true',
          'replica-urls': replicaUrls,
          'rotation-id': o.outputs.rotationId!,
        })
        expect(c.outputs).toMatchObject({ remainingConnections: 0, state: 'idle' })
        expect(await loginError(r, s.outputs.username!, s.outputs.password!)).not.toBeNull()
        expect(await sessionsOf(replica, s.outputs.username!)).toBe(0)
        await reader.end().catch(() => {})

        // abort: the login it disabled no longer logs in on the replica once abort reports.
        const o2 = await phase(p, { phase: 'open', role, 'replica-urls': replicaUrls })
        expect(await loginError(r, o2.outputs.username!, o2.outputs.password!)).toBeNull()
        await phase(p, { phase: 'abort', role, 'replica-urls': replicaUrls })
        expect(await loginError(r, o2.outputs.username!, o2.outputs.password!)).not.toBeNull()
      })
    })

    it('an unreachable replica, or a replica-urls entry that is not a standby, stops setup and open before any change', async () => {
      const p = asTestServer(primary)
      const role = familyName()
      const names = [role, `${role}_a`, `${role}_b`]
      const unreachable = `postgresql://postgres:x@127.0.0.1:9/postgres\n${replica.url}`
      await expect(phase(p, { phase: 'setup', role, 'replica-urls': unreachable })).rejects.toThrow(
        /127\.0\.0\.1:9.*[Nn]othing was changed/s,
      )
      await phase(p, { phase: 'setup', role })
      const before = await snapshotRoles(p, names)
      await expect(phase(p, { phase: 'open', role, 'replica-urls': unreachable })).rejects.toThrow(
        /127\.0\.0\.1:9.*[Nn]othing was changed/s,
      )
      expect(await snapshotRoles(p, names)).toEqual(before)
      await expect(phase(p, { phase: 'open', role, 'replica-urls': primary.url })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${primary.port}.*not a standby.*[Nn]othing was changed`, 's'),
      )
      expect(await snapshotRoles(p, names)).toEqual(before)
    })

    it("a standby of another cluster in replica-urls stops setup before any change: its WAL positions say nothing about admin-url's commits", async () => {
      // The shared test server is another cluster than this primary and its standby.
      const other = servers().at(-1)!
      const role = familyName()
      await expect(phase(other, { phase: 'setup', role, 'replica-urls': replica.url })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${replica.port}.*standby of another cluster.*[Nn]othing was changed`, 's'),
      )
      expect((await phase(other, { phase: 'status', role })).status!.state).toBe('not set up')
      // Its own primary is fine.
      await phase(asTestServer(primary), { phase: 'setup', role, 'replica-urls': replica.url })
    })

    it('a replica that does not replay within replica-timeout fails open naming the lag and what was committed; a re-run with seal-key re-emits once it has', async () => {
      const p = asTestServer(primary)
      const r = asTestServer(replica)
      const role = familyName()
      const sealKey = 'replica-lag-seal-key-0123456789'
      await phase(p, { phase: 'setup', role, 'replica-urls': replica.url, 'seal-key': sealKey })
      await applyDelay(replica, '1h')
      try {
        const started = Date.now()
        const failed = await phase(p, {
          phase: 'open',
          role,
          'replica-urls': replica.url,
          'replica-timeout': '2s',
          'seal-key': sealKey,
        }).then(
          () => null,
          (e: Error) => e,
        )
        expect(failed).not.toBeNull()
        expect(Date.now() - started).toBeLessThan(20_000)
        const msg = failed!.message
        expect(msg).toMatch(new RegExp(`rotation \\S+ is open`))
        expect(msg).toMatch(new RegExp(`"${role}_b" .*LOGIN`))
        expect(msg).toContain(`127.0.0.1:${replica.port}`)
        expect(msg).toMatch(/\d+ bytes/)
        expect(msg).toMatch(/recovery_min_apply_delay/)
        expect(msg).toMatch(/[Rr]e-run open.*seal-key.*abort/s)
        expect((failed as { committed?: boolean }).committed).toBe(true)
        // status shows how far the replica is behind, and why.
        const st = await phase(p, { phase: 'status', role, 'replica-urls': replica.url })
        expect(st.status?.replicas).toEqual([
          {
            replica: `replica 127.0.0.1:${replica.port} (replica-urls line 1)`,
            behindBytes: expect.any(Number),
            lastReplayAgeS: expect.any(Number),
            applyDelay: '1h',
          },
        ])
        expect(st.status?.replicas?.[0].behindBytes).toBeGreaterThan(0)
      } finally {
        await applyDelay(replica, '0')
      }
      const again = await phase(p, { phase: 'open', role, 'replica-urls': replica.url, 'seal-key': sealKey })
      expect(await loginError(r, again.outputs.username!, again.outputs.password!)).toBeNull()
    })

    it('a replica that goes away after open committed: the failure says the rotation is open, not that nothing happened', async () => {
      const p = asTestServer(primary)
      const role = familyName()
      await phase(p, { phase: 'setup', role, 'replica-urls': replica.url })
      let failed: Error | null = null
      try {
        await phase(
          p,
          { phase: 'open', role, 'replica-urls': replica.url },
          // After the commit, the replay wait and the login checks: the summary's re-read of the replica is left.
          { afterLoginCheck: () => replica.halt() },
        )
      } catch (e) {
        failed = e as Error
      } finally {
        await replica.resume()
      }
      expect(failed?.message).toMatch(
        new RegExp(
          `^Committed: rotation \\S+ is open and "${role}_b" has LOGIN and a new password.*127\\.0\\.0\\.1:${replica.port}`,
          's',
        ),
      )
      expect((failed as { committed?: boolean }).committed).toBe(true)
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

    it("open returns only once its login check's session has left the replica too: the incoming login has no session there, so an abort right after it is not refused", async () => {
      const p = asTestServer(primary)
      const role = familyName()
      // The check's backend on the replica outlives its disconnect by 1 s (well within the check's wait).
      const proxy = await slowExits(replica.port, 1_000)
      try {
        const url = replica.url.replace(`:${replica.port}/`, `:${proxy.port}/`)
        expect(url).not.toBe(replica.url)
        await phase(p, { phase: 'setup', role })
        const o = await phase(p, { phase: 'open', role, 'replica-urls': url })
        expect(await sessionsOf(replica, o.outputs.username!)).toBe(0)
        const a = await phase(p, { phase: 'abort', role, 'replica-urls': url })
        expect(a.outputs.state).toBe('idle')
      } finally {
        await proxy.close()
      }
    })

    it('a replica that stops answering at the replay poll fails the phase at replica-timeout, not after the 15 s statement limit', async () => {
      const p = asTestServer(primary)
      const role = familyName()
      const proxy = await stallAtReplayPoll(replica.port)
      try {
        const url = replica.url.replace(`:${replica.port}/`, `:${proxy.port}/`)
        expect(url).not.toBe(replica.url)
        let started = Date.now()
        await phase(p, { phase: 'setup', role })
        started = Date.now()
        const failed = await phase(p, { phase: 'open', role, 'replica-urls': url, 'replica-timeout': '2s' }).then(
          () => null,
          (e: Error) => e,
        )
        const took = Date.now() - started
        expect(failed).not.toBeNull()
        // At the 2 s replica-timeout (plus the phase's own work on a busy machine), far from 15 s.
        expect(took).toBeLessThan(10_000)
        expect(failed!.message).toMatch(/replica-timeout/)
        expect(failed!.message).toContain(`127.0.0.1:${proxy.port}`)
      } finally {
        await proxy.close()
      }
    })
  })
})
