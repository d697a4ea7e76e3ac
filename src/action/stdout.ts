/**
 * File descriptor 1 has one writer in the action: writeStdout (./actions-core.ts), which
 * writes synchronously and in order. The runner reads commands (`::add-mask::…`) only at a
 * line's start on that descriptor.
 *
 * Node's process.stdout would be a second writer. Created on the runner's pipe, it is a
 * net.Socket whose pipe libuv makes non-blocking: a write larger than the pipe's free space
 * goes out in part and the rest waits for the event loop. A writeStdout in the meantime lands
 * inside that text, so an ::add-mask:: after a dependency's large console.log would not start a
 * line and the runner would print it instead of masking the secret (review F5).
 *
 * So process.stdout stays lazy (creating it costs about 2 ms, docs/benchmarks.md, and a run
 * that never touches it never pays), and when something first touches it, the real stream is
 * created and its writes go through writeStdout: every chunk whole, in order with the
 * adapter's lines, before write() returns. The stream keeps its callbacks, events and
 * properties (isTTY, columns, fd). stderr is left alone: the runner reads no commands there.
 */
import type { Writable } from 'node:stream'
import { writeStdout } from './actions-core.js'

type Chunk = string | Buffer

/** Called by the action's entry before anything else; `proc` is for tests. */
export function ownStdout(proc: { stdout: Writable } = process): void {
  const lazy = Object.getOwnPropertyDescriptor(proc, 'stdout')
  const create = lazy?.get
  if (!lazy?.configurable || !create) return
  let stream: Writable | undefined
  Object.defineProperty(proc, 'stdout', {
    configurable: true,
    enumerable: lazy.enumerable,
    get() {
      if (!stream) stream = throughWriteStdout(create.call(proc) as Writable)
      return stream
    },
  })
}

/**
 * Replaces the stream's own writes (Writable's `_write` and `_writev`, which every write(),
 * end(chunk) and pipe() reaches) with writeStdout. A write error (EPIPE) goes to the
 * callback, so the stream reports it as it would have.
 */
function throughWriteStdout(stream: Writable): Writable {
  const write = (chunks: { chunk: Chunk; encoding: BufferEncoding | 'buffer' }[], done: (e?: Error) => void) => {
    try {
      writeStdout(
        Buffer.concat(
          chunks.map(({ chunk, encoding }) =>
            typeof chunk === 'string' ? Buffer.from(chunk, encoding === 'buffer' ? 'utf8' : encoding) : chunk,
          ),
        ),
      )
    } catch (e) {
      done(e as Error)
      return
    }
    done()
  }
  stream._write = (chunk: Chunk, encoding, done) => write([{ chunk, encoding }], done)
  stream._writev = (chunks, done) => write(chunks, done)
  return stream
}
