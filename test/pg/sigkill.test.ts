import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DIST, runnerNode } from '../../scripts/lib/run-action.mjs'
import {
  adminClient,
  familyName,
  loginAs,
  loginError,
  phase,
  servers,
  snapshotRoles,
  withAdmin,
} from '../harness/helpers.js'
import { ownRun } from '../harness/roles.js'

/** Starts dist/index.js as the runner would (as workflow run `runId`), returning the child so the test can kill it. */
function startAction(inputs: Record<string, string>, runId: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gha-kill-'))
  writeFileSync(join(dir, 'out'), '')
  writeFileSync(join(dir, 'sum'), '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_OUTPUT: join(dir, 'out'),
    GITHUB_STEP_SUMMARY: join(dir, 'sum'),
    GITHUB_RUN_ID: runId,
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  const child = spawn(runnerNode(), [DIST], { env, stdio: 'ignore' })
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    child.once('exit', (code, signal) => r(signal ?? code)),
  )
  return { child, exited }
}

describe.each(servers())('PostgreSQL $major: a phase whose process is killed with SIGKILL half-way', (server) => {
  it.each(['close', 'open'] as const)(
    '%s killed between two of its statements leaves roles and state exactly as they were; a re-run succeeds',
    async (which) => {
      const role = familyName()
      const s = await phase(server, { phase: 'setup', role })
      if (which === 'close') await phase(server, { phase: 'open', role })
      // The role the phase alters after it has already rewritten the group role: close disables
      // the outgoing login, open enables the incoming one.
      const target = which === 'close' ? `${role}_a` : `${role}_b`
      const family = [role, `${role}_a`, `${role}_b`]
      const before = await snapshotRoles(server, family)

      // Hold the target's catalog row in an uncommitted transaction, so the phase blocks on it mid-way.
      const blocker = await adminClient(server)
      await blocker.query('BEGIN')
      await blocker.query(`ALTER ROLE ${target} CONNECTION LIMIT -1`)
      // A run id of its own: application_name then names this phase's backend alone (other files run
      // phases on the same server, and theirs may wait on locks too).
      const run = ownRun()
      const appName = `pg-credential-rotation/${which} run ${run.id}`
      const { child, exited } = startAction({ phase: which, role, 'admin-url': server.url }, run.id)
      try {
        const waiting = await withAdmin(server, async (c) => {
          for (let i = 0; i < 200; i++) {
            const { rows } = await c.query(
              `SELECT pid, query FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
              [appName],
            )
            if (rows.length) return rows[0]
            await new Promise((r) => setTimeout(r, 50))
          }
          return null
        })
        expect(waiting, 'the phase never blocked on the held row').not.toBeNull()
        expect(waiting!.query).toContain(`ALTER ROLE "${target}"`)
        // It has already rewritten the group role in its transaction; now it dies.
        child.kill('SIGKILL')
        expect(await exited).toBe('SIGKILL')
      } finally {
        await blocker.query('ROLLBACK')
        await blocker.end()
      }
      // The orphaned backend finishes its statement, finds its client gone, and rolls back.
      await withAdmin(server, async (c) => {
        for (let i = 0; i < 200; i++) {
          const { rows } = await c.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [appName])
          if (!rows.length) return
          await new Promise((r) => setTimeout(r, 50))
        }
        throw new Error("the killed phase's backend is still there")
      })
      expect(await snapshotRoles(server, family)).toEqual(before)
      expect(await loginError(server, `${role}_a`, s.outputs.password!)).toBeNull()

      const rerun = await phase(server, { phase: which, role })
      expect(rerun.outputs.state).toBe(which === 'close' ? 'idle' : 'open')
      if (which === 'open') {
        const app = await loginAs(server, rerun.outputs.username!, rerun.outputs.password!)
        await app.end()
      }
    },
  )
})
