/**
 * PgBouncer with auth_file (no auth_query), the most common hand-run set-up:
 * PgBouncer knows only the logins its userlist.txt lists. The deploy writes the
 * action's pgbouncer-userlist output (SCRAM verifiers, never a plaintext
 * password) into the file and sends RELOAD through the console between open and
 * the application's reconnect, and again after close. The stand-in application
 * (50 connections to PgBouncer, recycled every 3 s) rotates twice under load;
 * not one query or connection attempt may fail. The admin is a CREATEROLE role
 * (as on managed services), so pg_authid is out of its reach: the outgoing
 * login's verifier comes from the state's sealed copy (seal-key). The lines are
 * checked byte for byte against pg_authid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type App } from '../load/app.mjs'
import { stopAndRequireNoFailure } from '../load/support.js'
import { familyName, phase, servers, withAdmin } from '../harness/helpers.js'
import { createRoleAdmin, grantCreateOnPostgres } from '../harness/roles.js'
import { pgbouncerMissing, poolerPairs, startPgBouncer, type PgBouncer } from '../harness/pgbouncer.js'

const missing = pgbouncerMissing()
if (missing) {
  console.log(`[pooler] skipped: ${missing}`)
  it.skip(missing, () => {})
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ROTATIONS = 2
const SEAL_KEY = 'auth-file-test-seal-key-0123456789'

/** What pg_authid holds for the logins, as userlist.txt lines (read as superuser, to compare). */
async function authidLines(server: Parameters<typeof withAdmin>[0], logins: string[]): Promise<string> {
  return withAdmin(server, async (c) => {
    const rows = (
      await c.query(`SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname`, [logins])
    ).rows
    return rows.map((r) => `"${r.rolname}" "${r.rolpassword}"`).join('\n')
  })
}

// One suite per (server, PgBouncer) pair, side by side: each pair has its own PgBouncer, family and application.
describe.skipIf(Boolean(missing)).concurrent.each(poolerPairs(servers()))(
  'PostgreSQL $server.major behind $version',
  ({ server, bin }) => {
    describe.sequential('with auth_file: rotations under live load', () => {
      let bouncer: PgBouncer
      let app: App | null = null
      beforeAll(async () => {
        bouncer = await startPgBouncer(server, { bin, authFile: true })
      })
      afterAll(async () => {
        await app?.stop().catch(() => {})
        await bouncer?.stop()
      })

      it('the userlist output written to auth_file and RELOADed: zero failed queries and connects', async () => {
        const role = familyName('authfile')
        const [a, b] = [`${role}_a`, `${role}_b`]
        const admin = await createRoleAdmin(server)
        // close ends the old login's idle pooled server connections.
        await withAdmin(server, (c) => c.query(`GRANT pg_signal_backend TO ${admin.name}`))
        const common = { role, 'admin-url': admin.url, 'seal-key': SEAL_KEY }
        const deploy = async (userlist: string | undefined) => {
          bouncer.writeUserlist(userlist ?? '')
          await bouncer.reload()
        }

        const setup = await phase(server, { phase: 'setup', ...common })
        expect(setup.outputs.pgbouncerUserlist).toBe(await authidLines(server, [a]))
        await deploy(setup.outputs.pgbouncerUserlist)
        await grantCreateOnPostgres(server, role)
        const secrets = [server.password, setup.outputs.password!]
        app = await startApp({
          host: bouncer.host,
          port: bouncer.port,
          credentials: { user: setup.outputs.username!, password: setup.outputs.password! },
          group: role,
          schema: `shop_${role}`,
          workers: 50,
          tickMs: 40,
          maxLifetimeSeconds: 3,
          secrets,
        })
        await app.warmedUp()
        const lines: string[] = []
        for (let n = 1; n <= ROTATIONS; n++) {
          const open = await phase(server, { phase: 'open', ...common })
          secrets.push(open.outputs.password!)
          expect(open.outputs.pgbouncerUserlist, open.notes.join('\n')).toBe(await authidLines(server, [a, b]))
          expect(open.log.secrets).toContain(open.outputs.pgbouncerUserlist)
          await deploy(open.outputs.pgbouncerUserlist)
          await sleep(300)
          const deployed = await app.deploy({ user: open.outputs.username!, password: open.outputs.password! })
          const drain = await phase(server, {
            phase: 'verify-drain',
            ...common,
            'pgbouncer-urls': bouncer.statsUrl,
            interval: '200ms',
            timeout: '30s',
            'min-new-connections': '10',
          })
          expect(drain.outputs, drain.failure).toMatchObject({ drained: true })
          await deployed.retired
          const close = await phase(server, { phase: 'close', ...common, 'pgbouncer-urls': bouncer.statsUrl })
          expect(close.outputs.state).toBe('idle')
          // Without the login close disabled.
          expect(close.outputs.pgbouncerUserlist, close.notes.join('\n')).toBe(
            await authidLines(server, [open.outputs.username!]),
          )
          await deploy(close.outputs.pgbouncerUserlist)
          lines.push(`  rotation ${n}: ${open.outputs.previousUsername} -> ${open.outputs.username}`)
          await sleep(1000)
        }
        const done = app
        app = null
        await stopAndRequireNoFailure(
          done,
          `[pooler auth_file] PostgreSQL ${server.major} via ${bouncer.version}, ${ROTATIONS} rotations`,
          lines,
          [a, b],
        )
      }, 120_000)
    })
  },
)
