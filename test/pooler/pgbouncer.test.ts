/**
 * verify-drain, close, abort and status behind a real PgBouncer (transaction
 * pooling) in front of each test server. The application reaches PostgreSQL
 * only through PgBouncer; the action reads PgBouncer's admin console
 * (pgbouncer-urls) and PostgreSQL (admin-url).
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../scripts/lib/embedded-postgres.mjs'
import { familyName, phase, servers, snapshotRoles, withAdmin } from '../harness/helpers.js'
import { family, openedFamily } from '../harness/roles.js'
import { pgbouncerMissing, poolerPairs, startPgBouncer, type PgBouncer } from '../harness/pgbouncer.js'
import { fakeGitHub, holdFirstWrite } from '../harness/fake-github.js'
import type { TestServer } from '../harness/servers.js'

const missing = pgbouncerMissing()
if (missing) {
  console.log(`[pooler] skipped: ${missing}`)
  it.skip(missing, () => {})
}

const GH_TOKEN = 'github_pat_11TEST0000000000000000_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const opened = (server: TestServer) => openedFamily(server, 'pool')

/** Backends of a login on the server (what pg_stat_activity shows). */
async function backends(server: TestServer, login: string): Promise<number> {
  return withAdmin(
    server,
    async (c) =>
      (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [login])).rows[0].n,
  )
}

/** An old deployment: a pool of `n` clients through PgBouncer that ran concurrent transactions, then disconnected. */
async function oldDeploymentCameAndWent(b: PgBouncer, user: string, password: string, n = 4): Promise<void> {
  const pool = new pg.Pool({ host: b.host, port: b.port, user, password, database: 'postgres', max: n })
  await Promise.all(Array.from({ length: n }, () => pool.query('SELECT pg_sleep(0.2)')))
  await pool.end()
}

// One suite per (server, PgBouncer) pair, the suites side by side (each pair has its own PgBouncers
// and each test its own family), the tests of one pair in order.
describe.skipIf(Boolean(missing)).concurrent.each(poolerPairs(servers()))(
  'PostgreSQL $server.major behind $version',
  ({ server, bin, version, killClient }) => {
    describe.sequential('transaction pooling', () => {
      let bouncer: PgBouncer
      let idleTimeout: PgBouncer
      const versionText = version.replace(/\./g, '\\.')
      beforeAll(async () => {
        bouncer = await startPgBouncer(server, { bin })
        // Closes idle server connections after 1 s: a straggler client then holds none.
        idleTimeout = await startPgBouncer(server, { bin, settings: { server_idle_timeout: '1' } })
      })
      afterAll(async () => {
        await bouncer?.stop()
        await idleTimeout?.stop()
      })

      it('drains at once when the old deployment left, although PgBouncer keeps its idle server connections', async () => {
        const f = await opened(server)
        await oldDeploymentCameAndWent(bouncer, f.old.user, f.old.password)
        expect(await backends(server, f.old.user)).toBeGreaterThanOrEqual(2)

        // Without pgbouncer-urls the idle server connections look like a live application.
        const blind = await phase(server, { phase: 'verify-drain', role: f.role, timeout: '600ms' })
        expect(blind.outputs.drained).toBe(false)
        expect(blind.failure).toMatch(/look like|pooler's idle server connections/)
        expect(blind.failure).toMatch(/pgbouncer-urls/)

        const started = Date.now()
        const d = await phase(server, {
          phase: 'verify-drain',
          role: f.role,
          'pgbouncer-urls': bouncer.statsUrl,
          interval: '200ms',
          timeout: '10s',
        })
        expect(d.outputs).toMatchObject({ drained: true, remainingConnections: 0 })
        // Not at the 10 s timeout, which is where a check blind to the pooler would end (not drained).
        expect(Date.now() - started).toBeLessThan(8000)
        expect(d.log.lines.join('\n')).toMatch(
          new RegExp(
            `pooler 127\\.0\\.0\\.1:${bouncer.port}: "${f.old.user}" 0 client\\(s\\), \\d+ server connection\\(s\\) \\(0 in use\\)`,
          ),
        )
        expect(d.poolers?.[0]).toMatchObject({ label: `127.0.0.1:${bouncer.port}`, version })

        // close disables the old login and ends its pooled server connections: none stays authenticated.
        const c = await phase(server, { phase: 'close', role: f.role, 'pgbouncer-urls': bouncer.statsUrl })
        expect(c.outputs).toMatchObject({ state: 'idle', remainingConnections: 0 })
        expect(c.notes.join(' ')).toMatch(/Ended \d+ pooled server connection\(s\)/)
        expect(await backends(server, f.old.user)).toBe(0)
        const servers = await bouncer.console('SHOW SERVERS')
        expect(servers.filter((s) => s.user === f.old.user)).toEqual([])
        // The old login no longer gets in through the pooler; the new one does.
        await expect(bouncer.connect(f.old.user, f.old.password)).rejects.toThrow()
        const fresh = await bouncer.connect(f.next.user, f.next.password)
        expect((await fresh.query('SELECT current_user AS u')).rows[0].u).toBe(f.role)
        await fresh.end()
      })

      it('an idle straggler on the pooler keeps the rotation open, and its queries keep working', async () => {
        const f = await opened(server)
        const straggler = await idleTimeout.connect(f.old.user, f.old.password, 'straggler')
        await straggler.query('SELECT 1')
        // PgBouncer closes the idle server connection: PostgreSQL no longer sees the old login at all.
        for (let i = 0; i < 50 && (await backends(server, f.old.user)) > 0; i++) await sleep(200)
        expect(await backends(server, f.old.user)).toBe(0)
        const url = idleTimeout.statsUrl

        const d = await phase(server, { phase: 'verify-drain', role: f.role, 'pgbouncer-urls': url, timeout: '800ms' })
        expect(d.outputs).toMatchObject({ drained: false, remainingConnections: 1, state: 'open' })
        expect(d.failure).toMatch(
          new RegExp(
            `"${f.old.user}" still has 1 connection\\(s\\) .*1 client\\(s\\) logged in to the poolers \\(127\\.0\\.0\\.1:${idleTimeout.port}: 1\\)`,
          ),
        )

        const before = await snapshotRoles(server, family(f.role))
        await expect(phase(server, { phase: 'close', role: f.role, 'pgbouncer-urls': url })).rejects.toThrow(
          new RegExp(`still has 1 \\(postgres@pooler 127\\.0\\.0\\.1:${idleTimeout.port}: 1\\) sessions`),
        )
        if (killClient) {
          // KILL_CLIENT (PgBouncer 1.24+) is an admin command: a stats_users console cannot run it, which
          // close must find out before it changes anything, not after its commit.
          await expect(
            phase(server, { phase: 'close', role: f.role, terminate: 'true', 'pgbouncer-urls': url }),
          ).rejects.toThrow(/admin_users/)
          expect(await snapshotRoles(server, family(f.role))).toEqual(before)
          // With an admin console, close with terminate ends the straggler on the pooler itself.
          const c = await phase(server, {
            phase: 'close',
            role: f.role,
            terminate: 'true',
            'pgbouncer-urls': idleTimeout.adminUrl,
          })
          expect(c.outputs).toMatchObject({ state: 'idle', remainingConnections: 0 })
          expect(c.notes.join(' ')).toMatch(
            new RegExp(`Ended 1 pooler client\\(s\\) of "${f.old.user}" with KILL_CLIENT`),
          )
          await expect(straggler.query('SELECT 1')).rejects.toThrow()
          await straggler.end().catch(() => {})
          expect((await idleTimeout.console('SHOW CLIENTS')).filter((c) => c.user === f.old.user)).toEqual([])
          return
        }
        // terminate needs KILL_CLIENT, which PgBouncer before 1.24 lacks: refused, naming the pooler and its version.
        await expect(
          phase(server, { phase: 'close', role: f.role, terminate: 'true', 'pgbouncer-urls': url }),
        ).rejects.toThrow(
          new RegExp(`pooler 127\\.0\\.0\\.1:\\d+ \\(${versionText}\\) has 1 client\\(s\\) of .* no KILL_CLIENT`),
        )
        // terminate-after in verify-drain refuses the same way instead of ending only the server side.
        const t = await phase(server, {
          phase: 'verify-drain',
          role: f.role,
          'pgbouncer-urls': url,
          'terminate-after': '100ms',
          timeout: '3s',
        })
        expect(t.outputs.drained).toBe(false)
        expect(t.failure).toMatch(/terminate-after was reached, but pooler .*no KILL_CLIENT/)
        expect(await snapshotRoles(server, family(f.role))).toEqual(before)

        // The straggler still works (it needs a new server login, which the old login can still make).
        expect((await straggler.query('SELECT current_user AS u')).rows[0].u).toBe(f.role)
        await straggler.end()
        const after = await phase(server, { phase: 'verify-drain', role: f.role, 'pgbouncer-urls': url })
        expect(after.outputs).toMatchObject({ drained: true, remainingConnections: 0 })
        await phase(server, { phase: 'close', role: f.role, 'pgbouncer-urls': url })
      })

      it('an unreachable pooler or a wrong console password: never drained, close and abort change nothing, the message names pgbouncer-urls', async () => {
        const f = await opened(server)
        const closedPort = await freePort()
        const wrong = bouncer.statsUrl.replace(bouncer.statsPassword, 'not-the-password')
        const before = await snapshotRoles(server, family(f.role))
        for (const [url, reason] of [
          [`postgresql://pgb_stats:secret-pw@127.0.0.1:${closedPort}/pgbouncer`, /ECONNREFUSED|cannot reach/],
          [wrong, /password authentication failed/],
        ] as const) {
          // A pooler that cannot be read at the first look fails verify-drain at once, not at the timeout.
          const started = Date.now()
          const d = await phase(server, { phase: 'verify-drain', role: f.role, 'pgbouncer-urls': url, timeout: '30s' })
          expect(Date.now() - started).toBeLessThan(10_000)
          expect(d.outputs.drained).toBe(false)
          expect(d.failure).toMatch(/cannot be shown drained \(at the first look\)/)
          expect(d.failure).toMatch(/pgbouncer-urls: pooler 127\.0\.0\.1:\d+/)
          expect(d.failure).toMatch(reason)
          for (const p of ['close', 'abort']) {
            const err = await phase(server, { phase: p, role: f.role, 'pgbouncer-urls': url }).then(
              () => null,
              (e: Error) => e.message,
            )
            expect(err).toMatch(/pgbouncer-urls: cannot read pooler 127\.0\.0\.1:\d+ \(entry 1\)/)
            expect(err).toMatch(reason)
            expect(err).toMatch(/Nothing was changed/)
            expect(err).not.toMatch(/secret-pw|not-the-password/)
          }
          expect(d.log.lines.join('\n')).not.toMatch(/secret-pw|not-the-password/)
        }
        expect(await snapshotRoles(server, family(f.role))).toEqual(before)
        await expect(
          phase(server, {
            phase: 'verify-drain',
            role: f.role,
            'pgbouncer-urls': 'postgresql://x:y@127.0.0.1:6432/appdb',
          }),
        ).rejects.toThrow(/input 'pgbouncer-urls': entry 1 connects to database "appdb"/)
        await phase(server, { phase: 'abort', role: f.role })
      })

      it('two poolers in front of one server: a client on either keeps the rotation open; close ends idle server connections on both', async () => {
        const f = await opened(server)
        const second = await startPgBouncer(server, { bin })
        try {
          await oldDeploymentCameAndWent(bouncer, f.old.user, f.old.password, 3)
          const straggler = await second.connect(f.old.user, f.old.password, 'straggler')
          await straggler.query('SELECT 1')
          const both = `${bouncer.statsUrl}\n${second.statsUrl}`
          // Listing only the first pooler: the second one's server connection is not one a listed pooler holds.
          const one = await phase(server, {
            phase: 'verify-drain',
            role: f.role,
            'pgbouncer-urls': bouncer.statsUrl,
            timeout: '300ms',
          })
          expect(one.outputs).toMatchObject({ drained: false, remainingConnections: 1 })
          expect(one.failure).toMatch(/1 session\(s\) that no listed pooler holds/)

          const d = await phase(server, {
            phase: 'verify-drain',
            role: f.role,
            'pgbouncer-urls': both,
            timeout: '300ms',
          })
          expect(d.outputs).toMatchObject({ drained: false, remainingConnections: 1 })
          expect(d.failure).toMatch(new RegExp(`127\\.0\\.0\\.1:${second.port}: 1\\)`))
          expect(d.poolers?.map((p) => p.clients[f.old.user])).toEqual([0, 1])

          await straggler.end()
          const ok = await phase(server, {
            phase: 'verify-drain',
            role: f.role,
            'pgbouncer-urls': `${bouncer.statsUrl}, ${second.statsUrl}`,
          })
          expect(ok.outputs).toMatchObject({ drained: true, remainingConnections: 0 })
          expect(await backends(server, f.old.user)).toBeGreaterThanOrEqual(2)
          const c = await phase(server, { phase: 'close', role: f.role, 'pgbouncer-urls': both })
          expect(c.outputs.remainingConnections).toBe(0)
          expect(await backends(server, f.old.user)).toBe(0)
        } finally {
          await second.stop()
        }
      })

      it('close with pgbouncer-urls needs pg_signal_backend (to end pooled server connections) and says so before changing anything', async () => {
        const name = `rotator_${Math.random().toString(16).slice(2, 8)}`
        await withAdmin(server, (c) => c.query(`CREATE ROLE ${name} LOGIN CREATEROLE PASSWORD 'rotator-pw'`))
        const adminUrl = `postgresql://${name}:rotator-pw@${server.host}:${server.port}/postgres`
        const role = familyName('pool')
        await phase(server, { phase: 'setup', role, 'admin-url': adminUrl })
        await phase(server, { phase: 'open', role, 'admin-url': adminUrl })
        const before = await snapshotRoles(server, family(role))
        await expect(
          phase(server, { phase: 'close', role, 'admin-url': adminUrl, 'pgbouncer-urls': bouncer.statsUrl }),
        ).rejects.toThrow(/lacks pg_signal_backend/)
        expect(await snapshotRoles(server, family(role))).toEqual(before)
        await withAdmin(server, (c) => c.query(`GRANT pg_signal_backend TO ${name}`))
        const c = await phase(server, {
          phase: 'close',
          role,
          'admin-url': adminUrl,
          'pgbouncer-urls': bouncer.statsUrl,
        })
        expect(c.outputs.state).toBe('idle')
      })

      it("abort ends the incoming login's idle pooled server connections", async () => {
        const f = await opened(server)
        await oldDeploymentCameAndWent(bouncer, f.next.user, f.next.password, 2)
        expect(await backends(server, f.next.user)).toBeGreaterThanOrEqual(1)
        const a = await phase(server, { phase: 'abort', role: f.role, 'pgbouncer-urls': bouncer.statsUrl })
        expect(a.notes.join(' ')).toMatch(/Ended \d+ pooled server connection\(s\) of/)
        expect(await backends(server, f.next.user)).toBe(0)
      })

      it('a client that logs in to the pooler as the old login while close runs: close with terminate ends it, without terminate close fails after its commit naming it', async () => {
        for (const terminate of killClient ? [false, true] : [false]) {
          const hold = holdFirstWrite()
          const github = await fakeGitHub({ token: GH_TOKEN, intercept: hold.intercept })
          const env = { GITHUB_RUN_ID: '77', GITHUB_API_URL: github.apiUrl, GITHUB_REPOSITORY: 'octo-org/shop' }
          const role = familyName('poolrace')
          const base = { role, 'seal-key': 'correct horse battery staple, sealed' }
          const s = await phase(server, { ...base, phase: 'setup' }, { env })
          const o = await phase(server, { ...base, phase: 'open' }, { env })
          const closing = phase(
            server,
            {
              ...base,
              phase: 'close',
              'github-token': GH_TOKEN,
              'github-secrets': 'DATABASE_URL=database-url',
              'sealed-credentials': o.outputs.sealedCredentials!,
              'pgbouncer-urls': bouncer.adminUrl,
              ...(terminate ? { terminate: 'true' } : {}),
            },
            { env },
          ).then(
            (r) => ({ r, e: null }),
            (e: Error & { committed?: boolean }) => ({ r: null, e }),
          )
          // close is inside its transaction (it passed its pooler recheck) and waits for GitHub.
          await hold.held
          const intruder = await bouncer.connect(s.outputs.username!, s.outputs.password!, 'intruder')
          intruder.on('error', () => {})
          expect((await intruder.query('SELECT current_user AS u')).rows[0].u).toBe(role)
          hold.release()
          const { r, e } = await closing
          try {
            if (terminate) {
              if (e) throw e
              expect(r!.outputs).toMatchObject({ state: 'idle', remainingConnections: 0 })
              expect(r!.notes.join(' ')).toMatch(/Ended 1 pooler client\(s\) .* with KILL_CLIENT/)
              await expect(intruder.query('SELECT 1')).rejects.toThrow()
            } else {
              expect(e?.committed).toBe(true)
              expect(e!.message).toMatch(
                new RegExp(
                  `closed.*"${s.outputs.username}" still has 1 session\\(s\\) that logged in during the close: pooler 127\\.0\\.0\\.1:${bouncer.port} client .*application 'intruder'.*terminate: true and rotation-id: ${o.outputs.rotationId}`,
                ),
              )
            }
            expect((await bouncer.console('SHOW CLIENTS')).filter((c) => c.user === s.outputs.username).length).toBe(
              terminate ? 0 : 1,
            )
          } finally {
            await intruder.end().catch(() => {})
            await github.close()
          }
        }
      })

      it('abort refuses, changing nothing, while a client is logged in to a pooler as the incoming login; force: true aborts anyway', async () => {
        const f = await opened(server)
        const client = await bouncer.connect(f.next.user, f.next.password)
        try {
          const before = await snapshotRoles(server, family(f.role))
          await expect(
            phase(server, { phase: 'abort', role: f.role, 'pgbouncer-urls': bouncer.statsUrl }),
          ).rejects.toThrow(
            new RegExp(
              `The incoming login "${f.next.user}" has 1 session\\(s\\): pooler 127\\.0\\.0\\.1:${bouncer.port} client .*Nothing was changed.*finish the rollout and run close.*force: true`,
              's',
            ),
          )
          expect(await snapshotRoles(server, family(f.role))).toEqual(before)
          expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(f.role)
          const a = await phase(server, {
            phase: 'abort',
            role: f.role,
            force: 'true',
            'pgbouncer-urls': bouncer.statsUrl,
          })
          expect(a.outputs).toMatchObject({ state: 'idle', previousUsername: f.next.user })
          expect(a.notes.join(' ')).toMatch(new RegExp(`force: true: "${f.next.user}" had 1 session\\(s\\): pooler`))
        } finally {
          await client.end().catch(() => {})
        }
      })

      it.runIf(killClient)(
        'abort with terminate and a stats_users console refuses before changing anything (KILL_CLIENT needs admin_users)',
        async () => {
          const f = await opened(server)
          const client = await bouncer.connect(f.next.user, f.next.password)
          try {
            const before = await snapshotRoles(server, family(f.role))
            await expect(
              phase(server, {
                phase: 'abort',
                role: f.role,
                terminate: 'true',
                force: 'true',
                'pgbouncer-urls': bouncer.statsUrl,
              }),
            ).rejects.toThrow(/admin_users/)
            expect(await snapshotRoles(server, family(f.role))).toEqual(before)
            const a = await phase(server, {
              phase: 'abort',
              role: f.role,
              terminate: 'true',
              force: 'true',
              'pgbouncer-urls': bouncer.adminUrl,
            })
            expect(a.notes.join(' ')).toMatch(
              new RegExp(`Ended 1 pooler client\\(s\\) of "${f.next.user}" with KILL_CLIENT`),
            )
            await expect(client.query('SELECT 1')).rejects.toThrow()
          } finally {
            await client.end().catch(() => {})
          }
        },
      )

      it('status shows per pooler its version, pool modes, clients and server connections per login, and warns about a forced user', async () => {
        const f = await opened(server)
        const forcing = await startPgBouncer(server, {
          bin,
          databases: [
            `shared = host=${server.host} port=${server.port} dbname=postgres user=${f.old.user} password=${f.old.password}`,
          ],
        })
        const client = await bouncer.connect(f.next.user, f.next.password)
        try {
          const s = await phase(server, {
            phase: 'status',
            role: f.role,
            'pgbouncer-urls': `${bouncer.statsUrl}\n${forcing.statsUrl}`,
          })
          const p = s.status!.poolers!
          expect(p[0]).toMatchObject({
            label: `127.0.0.1:${bouncer.port}`,
            version,
            poolModes: ['transaction'],
            forcedUsers: [],
          })
          expect(p[0].clients[f.next.user]).toBe(1)
          expect(p[1].forcedUsers).toEqual([{ database: 'shared', user: f.old.user }])
          expect(s.log.lines.join('\n')).toMatch(/database entry "shared" forces user/)
          // Phases that do not use the input say so.
          const n = await phase(server, { phase: 'setup', role: f.role, 'pgbouncer-urls': bouncer.statsUrl })
          expect(n.notes.join(' ')).toMatch(/pgbouncer-urls is not used by setup/)
        } finally {
          await client.end()
          await forcing.stop()
          await phase(server, { phase: 'abort', role: f.role, force: 'true' })
        }
      })
    })
  },
)
