/**
 * --json on a failure: the `error` masks connection secrets and the credentials the phase issued
 * (unless --show-secrets), as the terminal and the usage-error path do, whether the phase threw
 * or returned its failure. The phase is replaced by one whose message holds the secrets (no path
 * is known that does; this holds the contract if one appears).
 */
import { Writable } from 'node:stream'
import { describe, expect, it, vi } from 'vitest'
import type { Reporter } from '../../src/domain/reporter.js'
import type { PhaseResult } from '../../src/domain/result.js'

const phaseStub = vi.hoisted(() => ({
  run: async (_reporter: unknown): Promise<unknown> => {
    throw new Error('lost postgres://admin:adm1nS3cret@db.example:5432/postgres with PGPASSWORD pgPassS3cret')
  },
}))

vi.mock('../../src/run-phase.js', () => ({
  runPhase: async (_cfg: unknown, deps: { reporter: unknown }) => phaseStub.run(deps.reporter),
}))

const { parseArgs } = await import('../../src/cli/args.js')
const { runCommand } = await import('../../src/cli/run.js')

function sink(): { stream: NodeJS.WritableStream; text: () => string } {
  let out = ''
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk)
      done()
    },
  })
  return { stream, text: () => out }
}

async function runJson(...extra: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const cmd = parseArgs([
    'status',
    '--role',
    'app',
    '--admin-url',
    'postgres://admin:adm1nS3cret@db.example/postgres',
    '--json',
    ...extra,
  ])
  if (cmd.kind !== 'run') throw new Error('expected a run command')
  const stdout = sink()
  const stderr = sink()
  const code = await runCommand(cmd, {
    stdout: stdout.stream as NodeJS.WriteStream,
    stderr: stderr.stream as NodeJS.WriteStream,
    env: { PGPASSWORD: 'pgPassS3cret' },
  })
  return { code, json: JSON.parse(stdout.text()), stderr: stderr.text() }
}

describe('--json after a thrown failure', () => {
  it('masks connection secrets in `error`', async () => {
    const { code, json, stderr } = await runJson()
    expect(code).toBe(1)
    expect(json.ok).toBe(false)
    expect(json.error).toContain('lost postgres://')
    expect(json.error).not.toContain('adm1nS3cret')
    expect(json.error).not.toContain('pgPassS3cret')
    expect(stderr).not.toContain('adm1nS3cret')
  })
})

describe('--json after a failure the phase returned', () => {
  const returning = (reporter: unknown): PhaseResult => {
    ;(reporter as Reporter).secret('issuedN3wS3cret')
    return {
      phase: 'status',
      group: 'app',
      roles: { group: null, logins: [] },
      sessions: [],
      outputs: { password: 'issuedN3wS3cret' },
      changes: [],
      notes: [],
      failure:
        'refused at postgres://admin:adm1nS3cret@db.example:5432/postgres (PGPASSWORD pgPassS3cret), new password issuedN3wS3cret',
    }
  }

  it('masks connection secrets and issued credentials in `error`, keeps the outputs', async () => {
    phaseStub.run = async (reporter) => returning(reporter)
    const { code, json, stderr } = await runJson()
    expect(code).toBe(1)
    expect(json.ok).toBe(false)
    expect(json.error).toContain('refused at postgres://')
    expect(json.error).not.toContain('adm1nS3cret')
    expect(json.error).not.toContain('pgPassS3cret')
    expect(json.error).not.toContain('issuedN3wS3cret')
    // The outputs are what the caller asked for: unmasked, as on success.
    expect((json.outputs as Record<string, unknown>).password).toBe('issuedN3wS3cret')
    expect(stderr).not.toContain('adm1nS3cret')
    expect(stderr).not.toContain('issuedN3wS3cret')
  })

  it('shows the issued credential in `error` with --show-secrets, never the connection secrets', async () => {
    phaseStub.run = async (reporter) => returning(reporter)
    const { json } = await runJson('--show-secrets')
    expect(json.error).toContain('issuedN3wS3cret')
    expect(json.error).not.toContain('adm1nS3cret')
    expect(json.error).not.toContain('pgPassS3cret')
  })
})
