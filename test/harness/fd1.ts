/**
 * What the action adapter prints: it writes to file descriptor 1 with fs.writeSync
 * (src/action/actions-core.ts), not through process.stdout, so tests capture those writes.
 */
import fs from 'node:fs'
import { vi } from 'vitest'

/** Runs `fn` (sync or async) and returns what it wrote to fd 1; other descriptors are written as usual. */
export async function captureFd1(fn: () => unknown): Promise<string> {
  let text = ''
  const real = fs.writeSync.bind(fs) as (...a: unknown[]) => number
  const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
    if (fd !== 1) return real(fd, ...rest)
    const [buf, at, length] = rest as [Buffer | string, number?, number?]
    if (typeof buf === 'string') {
      text += buf
      return Buffer.byteLength(buf)
    }
    const offset = at ?? 0
    const end = length === undefined ? buf.length : offset + length
    text += buf.subarray(offset, end).toString('utf8')
    return end - offset
  }) as typeof fs.writeSync)
  try {
    await fn()
  } finally {
    spy.mockRestore()
  }
  return text
}
