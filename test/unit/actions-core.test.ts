/**
 * src/action/actions-core.ts takes @actions/core's command, file-command, summary and
 * utils modules by file path (around the package's exports map) to keep the
 * cold start low. These tests fail when an update moves those files or changes
 * what the public functions write, so the shortcut can never drift silently.
 */
import fs, { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as core from '@actions/core'
import * as ours from '../../src/action/actions-core.js'
import { captureFd1 } from '../harness/fd1.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
const installed = JSON.parse(
  readFileSync(new URL('../../node_modules/@actions/core/package.json', import.meta.url), 'utf8'),
)

function captureStdout(fn: () => void): string {
  let text = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk)
    return true
  })
  try {
    fn()
  } finally {
    spy.mockRestore()
  }
  return text
}

function withOutputFile(fn: () => void): string {
  const file = join(mkdtempSync(join(tmpdir(), 'core-')), 'output')
  writeFileSync(file, '')
  const saved = process.env.GITHUB_OUTPUT
  process.env.GITHUB_OUTPUT = file
  try {
    fn()
  } finally {
    if (saved === undefined) delete process.env.GITHUB_OUTPUT
    else process.env.GITHUB_OUTPUT = saved
  }
  // The delimiter is random per call: compare the shape with it blanked out.
  return readFileSync(file, 'utf8').replace(/ghadelimiter_[0-9a-f-]+/g, 'DELIM')
}

describe('the @actions/core shortcut', () => {
  afterEach(() => {
    process.exitCode = undefined
  })

  it('is pinned to the exact @actions/core version that is installed', () => {
    expect(
      pkg.dependencies['@actions/core'],
      'pin @actions/core exactly: src/action/actions-core.ts imports its files by path',
    ).toMatch(/^\d+\.\d+\.\d+$/)
    expect(installed.version).toBe(pkg.dependencies['@actions/core'])
  })

  it('writes the same runner commands as the public functions', async () => {
    for (const [name, ...args] of [
      ['setSecret', 'p@ss%word\nline'],
      ['warning', 'careful: 100%\r\nnext'],
      ['notice', 'note: 50%\nnext'],
      ['error', 'broken'],
      ['debug', 'detail'],
      ['info', 'plain text'],
      ['setFailed', 'failed: %0A'],
    ] as const) {
      const mine = await captureFd1(() => (ours as unknown as Record<string, (...a: string[]) => void>)[name](...args))
      const theirs = captureStdout(() => (core as unknown as Record<string, (...a: string[]) => void>)[name](...args))
      expect(mine, name).toBe(theirs)
    }
  })

  it('writes outputs to GITHUB_OUTPUT as the public setOutput does', () => {
    const value = 'postgresql://app_b:secret@db/app\nsecond line'
    expect(withOutputFile(() => ours.setOutput('database-url', value))).toBe(
      withOutputFile(() => core.setOutput('database-url', value)),
    )
  })

  it('sets several outputs in one append, as one public setOutput each would', () => {
    const pairs: [string, string][] = [
      ['username', 'app_b'],
      ['database-url', 'postgresql://app_b:s%3Acret@db/app\nsecond line'],
      ['remaining-connections', '0'],
    ]
    expect(withOutputFile(() => ours.setOutputs(pairs))).toBe(
      withOutputFile(() => pairs.forEach(([n, v]) => core.setOutput(n, v))),
    )
  })

  it('writes every byte of a long line to fd 1, waiting out a full pipe (EAGAIN)', () => {
    const line = 'x'.repeat(200_000)
    let calls = 0
    let text = ''
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((
      fd: number,
      buf: Buffer,
      at?: number,
      length?: number,
    ) => {
      expect(fd).toBe(1)
      calls++
      if (calls % 2 === 0)
        throw Object.assign(new Error('EAGAIN: resource temporarily unavailable'), { code: 'EAGAIN' })
      const offset = at ?? 0
      const n = Math.min(65_536, length ?? buf.length - offset)
      text += buf.subarray(offset, offset + n).toString('utf8')
      return n
    }) as typeof fs.writeSync)
    try {
      ours.info(line)
    } finally {
      spy.mockRestore()
    }
    expect(text).toBe(line + '\n')
    expect(calls).toBeGreaterThan(4)
  })

  it('reads inputs as the public getInput does', () => {
    process.env['INPUT_LOGIN-ROLES'] = '  app_a,app_b  '
    expect(ours.getInput('login-roles')).toBe(core.getInput('login-roles'))
    delete process.env['INPUT_LOGIN-ROLES']
  })

  it('appends the job summary as the public summary.addRaw().write() does, with the same errors', async () => {
    const markdown = '## open: done\n\n| a | b |\n|---|---|\n| 1 | 2 |\n'
    const dir = mkdtempSync(join(tmpdir(), 'summary-'))
    const [mine, theirs] = [join(dir, 'mine'), join(dir, 'theirs')]
    writeFileSync(mine, 'before\n')
    writeFileSync(theirs, 'before\n')
    const saved = process.env.GITHUB_STEP_SUMMARY
    try {
      process.env.GITHUB_STEP_SUMMARY = mine
      ours.appendSummary(markdown)
      ours.appendSummary(markdown)
      process.env.GITHUB_STEP_SUMMARY = theirs
      await core.summary.addRaw(markdown).write()
      await core.summary.addRaw(markdown).write()
      expect(readFileSync(mine, 'utf8')).toBe(readFileSync(theirs, 'utf8'))

      // Fresh summary objects for the errors: the public one caches the path it checked.
      const Summary = (core.summary as object).constructor as new () => typeof core.summary
      const failure = () =>
        new Summary()
          .addRaw(markdown)
          .write()
          .then(
            () => null,
            (e: Error) => e.message,
          )
      delete process.env.GITHUB_STEP_SUMMARY
      const missing = await failure()
      expect(missing).toMatch(/Unable to find environment variable/)
      expect(() => ours.appendSummary(markdown)).toThrow(missing!)
      process.env.GITHUB_STEP_SUMMARY = join(dir, 'absent', 'file')
      const inaccessible = await failure()
      expect(inaccessible).toMatch(/Unable to access summary file/)
      expect(() => ours.appendSummary(markdown)).toThrow(inaccessible!)
    } finally {
      if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY
      else process.env.GITHUB_STEP_SUMMARY = saved
    }
  })
})
