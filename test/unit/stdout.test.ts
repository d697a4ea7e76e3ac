/**
 * src/action/stdout.ts: process.stdout, once touched, writes through writeStdout, the one
 * writer of file descriptor 1; until then it is not created. test/e2e/one-stdout-writer.test.ts
 * proves it on the runner's pipe through dist/index.js.
 */
import fs from 'node:fs'
import { Writable } from 'node:stream'
import { describe, expect, it, vi } from 'vitest'
import * as core from '../../src/action/actions-core.js'
import { ownStdout } from '../../src/action/stdout.js'
import { captureFd1 } from '../harness/fd1.js'

/** A process with Node's kind of lazy stdout: a configurable getter that creates the stream. */
function fakeProcess() {
  const proc = { created: 0 } as { created: number; stdout: Writable }
  Object.defineProperty(proc, 'stdout', {
    configurable: true,
    enumerable: true,
    get() {
      proc.created++
      return new Writable({
        write() {
          throw new Error("the stream's own write ran: a second writer of fd 1")
        },
      })
    },
  })
  return proc
}

const flushed = () => new Promise((resolve) => setImmediate(resolve))

describe('process.stdout after ownStdout', () => {
  it('is created only when first touched, once', () => {
    const proc = fakeProcess()
    ownStdout(proc)
    expect(proc.created).toBe(0)
    expect(proc.stdout).toBe(proc.stdout)
    expect(proc.created).toBe(1)
  })

  it("writes every chunk whole through fd 1 before write() returns, in order with the adapter's lines", async () => {
    const proc = fakeProcess()
    ownStdout(proc)
    const called: string[] = []
    const text = await captureFd1(async () => {
      expect(proc.stdout.write('text ', () => called.push('text'))).toBe(true)
      core.info('an info line')
      expect(proc.stdout.write(Buffer.from('bytes\n'))).toBe(true)
      proc.stdout.write('68657820', 'hex', () => called.push('hex'))
      core.setSecret('s3cret')
      proc.stdout.cork()
      proc.stdout.write('corked ')
      proc.stdout.write('twice\n')
      proc.stdout.uncork()
      proc.stdout.end('the end\n', () => called.push('end'))
      await flushed()
    })
    expect(text).toBe('text an info line\nbytes\nhex \n::add-mask::s3cret\ncorked twice\nthe end\n')
    expect(called).toEqual(['text', 'hex', 'end'])
  })

  it('puts a runner command on a line of its own after text that did not end its line', async () => {
    const proc = fakeProcess()
    ownStdout(proc)
    const text = await captureFd1(() => {
      proc.stdout.write('progress 50%')
      core.setSecret('s3cret')
      proc.stdout.write('progress 100%\n')
      core.warning('careful')
    })
    expect(text).toBe('progress 50%\n::add-mask::s3cret\nprogress 100%\n::warning::careful\n')
  })

  it('passes a write error (EPIPE) to the callback and the stream', async () => {
    const proc = fakeProcess()
    ownStdout(proc)
    const epipe = Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE' })
    const seen: unknown[] = []
    proc.stdout.on('error', (e) => seen.push(e))
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw epipe
    })
    try {
      proc.stdout.write('lost\n', (e) => seen.push(e))
      await flushed()
    } finally {
      spy.mockRestore()
    }
    expect(seen).toEqual([epipe, epipe])
  })
})
