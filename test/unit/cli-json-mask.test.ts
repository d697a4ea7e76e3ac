/**
 * --json on a thrown failure: the `error` masks connection secrets, as the terminal and the
 * usage-error path do. The phase is replaced by one that throws a message holding the secrets
 * (no path is known that does; this holds the contract if one appears).
 */
import { Writable } from 'node:stream'
import { describe, expect, it, vi } from 'vitest'

vi.mock('../../src/run-phase.js', () => ({
  runPhase: async () => {
    throw new Error('lost postgres://admin:adm1nS3cret@db.example:5432/postgres with PGPASSWORD pgPassS3cret')
  },
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

describe('--json after a thrown failure', () => {
  it('masks connection secrets in `error`', async () => {
    const cmd = parseArgs([
      'status',
      '--role',
      'app',
      '--admin-url',
      'postgres://admin:adm1nS3cret@db.example/postgres',
      '--json',
    ])
    if (cmd.kind !== 'run') throw new Error('expected a run command')
    const stdout = sink()
    const stderr = sink()
    const code = await runCommand(cmd, {
      stdout: stdout.stream as NodeJS.WriteStream,
      stderr: stderr.stream as NodeJS.WriteStream,
      env: { PGPASSWORD: 'pgPassS3cret' },
    })
    expect(code).toBe(1)
    const json = JSON.parse(stdout.text())
    expect(json.ok).toBe(false)
    expect(json.error).toContain('lost postgres://')
    expect(json.error).not.toContain('adm1nS3cret')
    expect(json.error).not.toContain('pgPassS3cret')
    expect(stderr.text()).not.toContain('adm1nS3cret')
  })
})
