/**
 * Passwords never leak, checked against a server that logs everything it can:
 * every statement (log_statement=all), the statement of every message down to
 * debug5 (log_min_error_statement=debug5), and every connection. After setup
 * and two rotations through dist/index.js, the plaintext of every password the
 * action generated (the ones it hands out and the random ones close leaves
 * behind) appears nowhere: not in the server log, not in the step's log
 * (except the ::add-mask:: commands themselves), not in the job summary, and
 * in no output but `password` and `database-url` (verifiers: only in the
 * masked `pgbouncer-userlist`).
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbedded, type EmbeddedServer } from '../../scripts/lib/embedded-postgres.mjs'
import { runAction, type ActionRun } from '../../scripts/lib/run-action.mjs'
import { admin, describeRun, loadMajors, visible } from './support.js'

const MAJORS = loadMajors()
const SECRET_OUTPUTS = new Set(['password', 'database-url'])
/** The output that holds SCRAM verifiers (PgBouncer's auth_file lines), masked whole and line by line. */
const USERLIST_OUTPUT = 'pgbouncer-userlist'

if (MAJORS.length === 0) it.skip('PostgreSQL 14 and 18 binaries are not installed (or excluded by PG_MAJORS)', () => {})

describe.each(MAJORS)('PostgreSQL %i: passwords never reach a log', (major) => {
  let server: EmbeddedServer
  beforeAll(async () => {
    server = await startEmbedded(major, {
      log_statement: 'all',
      log_min_error_statement: 'debug5',
      log_connections: 'on',
      log_disconnections: 'on',
    })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('after setup and two rotations, no generated password is in the server log, the step log, the summary or a non-secret output', async () => {
    const role = 'vault'
    const base = { 'admin-url': server.url, role }
    const runs: ActionRun[] = []
    const run = async (inputs: Record<string, string>) => {
      const r = await runAction({ ...base, ...inputs })
      runs.push(r)
      expect(r.code, describeRun(r)).toBe(0)
      return r
    }

    const setup = await run({ phase: 'setup' })
    const issued = [setup.outputs.password]
    let current = { user: setup.outputs.username, password: setup.outputs.password }
    for (let n = 1; n <= 2; n++) {
      const open = await run({ phase: 'open' })
      issued.push(open.outputs.password)
      const next = { user: open.outputs.username, password: open.outputs.password }
      // The application logs in with the new password (a SCRAM exchange: the server never sees it).
      const app = await admin(
        `postgresql://${next.user}:${encodeURIComponent(next.password)}@127.0.0.1:${server.port}/postgres`,
        'secrets-app',
      )
      await app.query('SELECT 1')
      await app.end()
      const id = open.outputs['rotation-id']
      await run({ phase: 'verify-drain', 'rotation-id': id, interval: '100ms', timeout: '10s' })
      await run({ phase: 'close', 'rotation-id': id })
      // A client still holding the closed password is refused; the server logs the refusal.
      const refused = await admin(
        `postgresql://${current.user}:${encodeURIComponent(current.password)}@127.0.0.1:${server.port}/postgres`,
      ).then(
        async (c) => (await c.end(), null),
        (e: { code?: string }) => e.code,
      )
      expect(refused).not.toBeNull()
      current = next
    }

    // The values registered (the runner unescapes a command's data: %0D, %0A, %25).
    const masks = [
      ...new Set(
        runs.flatMap((r) => r.masks.map((m) => m.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))),
      ),
    ]
    // Masked: the admin URL and its password; for each password the action generated: the
    // plaintext, its SCRAM verifier and, for issued ones, the database URL holding it; and the
    // pgbouncer-userlist output, whole and line by line ("login" "verifier", nothing else).
    const verifiers = masks.filter((m) => m.startsWith('SCRAM-SHA-256$'))
    const urls = masks.filter((m) => m.includes('://'))
    const userlistLine = /^"((?:[^"]|"")*)" "(SCRAM-SHA-256\$[^"]+)"$/
    const userlists = masks.filter((m) => m.split('\n').every((line) => userlistLine.test(line)))
    const plaintexts = masks.filter(
      (m) => !verifiers.includes(m) && !urls.includes(m) && !userlists.includes(m) && m !== server.password,
    )
    // Each userlist line lists a login of the family with the verifier of a password the action generated.
    expect(userlists.length).toBeGreaterThan(0)
    for (const line of userlists.flatMap((m) => m.split('\n'))) {
      const [, login, verifier] = userlistLine.exec(line)!
      expect(['vault_a', 'vault_b']).toContain(login)
      expect(verifiers).toContain(verifier)
    }
    // setup issues 1; each rotation issues 1 (open) and scrambles 1 (close).
    expect(plaintexts).toHaveLength(1 + 2 * 2)
    for (const p of issued) expect(plaintexts).toContain(p)
    expect(verifiers).toHaveLength(plaintexts.length)

    const log = readFileSync(server.logFile, 'utf8')
    // The log really holds every statement: the role changes are there, with their verifiers.
    expect(log).toMatch(/statement: ALTER ROLE "vault_b" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$/)
    expect(log).toMatch(/statement: ALTER ROLE "vault_a" WITH NOLOGIN PASSWORD 'SCRAM-SHA-256\$/)
    expect(log).toMatch(/connection authorized: user=vault_b/)
    expect(log).toMatch(/password authentication failed for user "vault_a"/)

    const leaks: string[] = []
    for (const secret of [...plaintexts, server.password]) {
      const label = issued.includes(secret)
        ? `issued password #${issued.indexOf(secret)}`
        : secret === server.password
          ? 'admin password'
          : 'scrambled password'
      if (log.includes(secret)) leaks.push(`${label} in the server log`)
      for (const [i, r] of runs.entries()) {
        if (visible(r).includes(secret)) leaks.push(`${label} in the step log of run ${i}`)
        if (r.summary.includes(secret)) leaks.push(`${label} in the summary of run ${i}`)
        for (const [name, value] of Object.entries(r.outputs)) {
          if (!SECRET_OUTPUTS.has(name) && value.includes(secret)) leaks.push(`${label} in output ${name} of run ${i}`)
        }
      }
    }
    // Verifiers, URLs and userlists are secrets too (masked): never in a step log or summary; a URL
    // only in database-url, a verifier or userlist line only in pgbouncer-userlist.
    for (const secret of [...verifiers, ...urls, ...userlists]) {
      const allowed = urls.includes(secret) ? SECRET_OUTPUTS : new Set([USERLIST_OUTPUT])
      for (const [i, r] of runs.entries()) {
        if (visible(r).includes(secret) || r.summary.includes(secret))
          leaks.push(`a masked verifier, URL or userlist in run ${i}`)
        for (const [name, value] of Object.entries(r.outputs))
          if (!allowed.has(name) && value.includes(secret)) leaks.push(`a masked value in output ${name} of run ${i}`)
      }
    }
    // Every pgbouncer-userlist output is masked whole.
    for (const [i, r] of runs.entries()) {
      const list = r.outputs[USERLIST_OUTPUT]
      if (list && !userlists.includes(list)) leaks.push(`an unmasked ${USERLIST_OUTPUT} output of run ${i}`)
    }
    console.log(
      `[secrets] PostgreSQL ${major}: ${runs.length} runs, ${plaintexts.length} generated passwords (${issued.length} issued), ${verifiers.length} verifiers, ` +
        `server log ${log.length} bytes / ${log.split('\n').length} lines; leaks: ${leaks.length ? leaks.join('; ') : 'none'}`,
    )
    expect(leaks).toEqual([])
  }, 60_000)

  it('the check can fail: with password-encryption: server the plaintext does reach the statement log (as documented)', async () => {
    const r = await runAction({
      'admin-url': server.url,
      role: 'plain',
      phase: 'setup',
      'password-encryption': 'server',
    })
    expect(r.code, describeRun(r)).toBe(0)
    expect(readFileSync(server.logFile, 'utf8')).toContain(r.outputs.password)
    expect(visible(r)).not.toContain(r.outputs.password)
  })
})
