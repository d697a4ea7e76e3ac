/**
 * File descriptor 1 has one writer (review F5). The adapter writes its lines with
 * fs.writeSync; anything that writes through process.stdout (console.log in a dependency)
 * creates Node's stream on the runner's pipe, which libuv makes non-blocking: a write larger
 * than the pipe's free space goes out in part and the rest waits for the event loop. Before
 * the fix, the adapter's next line (an `::add-mask::`) landed inside that text, not at a
 * line's start, so the runner printed it instead of registering the mask.
 *
 * dist/index.js runs as the runner runs it, with a preloaded stand-in for such a dependency:
 * when the action reads `seal-key` (right before it masks it), the stand-in prints a text
 * far larger than any pipe or socket buffer through process.stdout. The reader starts only
 * when that write starts, so the pipe is full while the text is written: the text can never
 * leave in one piece, whatever the machine's speed.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DIST, runnerNode } from '../../scripts/lib/run-action.mjs'
import { runnerCommands } from '../harness/markdown.js'

/** 4 MiB: more than twice the largest buffer a pipe or socket pair gets by default. */
const FOREIGN_BYTES = 4 << 20
const SEAL_KEY = 'seal-key-in-the-clear-1234'
const STARTED = 'foreign write starts'

const dir = mkdtempSync(join(tmpdir(), 'one-writer-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The foreign text: numbered lines, so a split or a reordering shows. */
function foreignText(): string {
  const lines: string[] = []
  let size = 0
  for (let i = 0; size < FOREIGN_BYTES; i++) {
    const line = `dependency line ${String(i).padStart(7, '0')}`
    lines.push(line)
    size += line.length + 1
  }
  return lines.join('\n')
}

/**
 * The preload: wraps process.env so that reading INPUT_SEAL-KEY first signals the test (on
 * fd 2) and then prints the text through process.stdout, the way `how` says.
 */
function preload(how: 'console.log' | 'write without a final newline'): string {
  const file = join(dir, `${how.replace(/\W+/g, '-')}.cjs`)
  const print =
    how === 'console.log'
      ? 'console.log(text)'
      : "process.stdout.write(Buffer.from(text, 'utf8'), (e) => { if (e) throw e })"
  writeFileSync(
    file,
    `const fs = require('node:fs')
const text = fs.readFileSync(${JSON.stringify(join(dir, 'foreign.txt'))}, 'utf8')
const env = process.env
process.env = new Proxy(env, {
  get(target, key) {
    if (key === 'INPUT_SEAL-KEY') {
      fs.writeSync(2, ${JSON.stringify(`${STARTED}\n`)})
      ${print}
    }
    return Reflect.get(target, key)
  },
})
`,
  )
  return file
}

/** Runs dist/index.js with the preload; fd 1 is read only once the foreign write starts. */
async function run(how: Parameters<typeof preload>[0]): Promise<{ code: number | null; stdout: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    'INPUT_SEAL-KEY': SEAL_KEY,
    // An input error: the action masks its secrets, then fails without a database.
    INPUT_PHASE: 'rotate-everything',
  }
  const child = spawn(runnerNode(), ['--require', preload(how), DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stdout.pause()
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr += d
    if (stderr.includes(STARTED)) child.stdout.resume()
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  expect(stderr).toContain(STARTED)
  return { code, stdout: Buffer.concat(out).toString('utf8') }
}

describe('dist/index.js: fd 1 has one writer', () => {
  writeFileSync(join(dir, 'foreign.txt'), foreignText())
  const text = foreignText()

  it.each(['console.log', 'write without a final newline'] as const)(
    'a large text a dependency prints through process.stdout (%s) stays whole, and the mask after it starts a line',
    async (how) => {
      const { code, stdout } = await run(how)
      expect(code).toBe(1)
      const at = stdout.indexOf(text)
      const mask = stdout.indexOf(`::add-mask::${SEAL_KEY}`)
      expect(
        at,
        `the foreign text is not in one piece: the mask is at byte ${mask} of ${stdout.length}, after ${JSON.stringify(stdout.slice(mask - 40, mask))}`,
      ).toBeGreaterThanOrEqual(0)
      const after = stdout.slice(at + text.length)
      expect(after.slice(0, 200)).toMatch(new RegExp(`^\\r?\\n::add-mask::${SEAL_KEY}\\r?\\n`))
      expect(runnerCommands(stdout)).toContain(`::add-mask::${SEAL_KEY}`)
      expect(runnerCommands(stdout).filter((l) => l.startsWith('::error::'))).toHaveLength(1)
    },
  )
})
