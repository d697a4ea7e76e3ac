import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeStatusFile } from '../../src/action/status-file.js'

describe('the status-file output', () => {
  it('is a new file under the given directory holding the status JSON, one per call', () => {
    const dir = mkdtempSync(`${tmpdir()}/runner-temp-`)
    const json = JSON.stringify({ group: 'app', state: 'idle' })
    const a = writeStatusFile(json, dir)
    const b = writeStatusFile(json, dir)
    expect(a).not.toBe(b)
    expect(dirname(dirname(a))).toBe(dir)
    expect(JSON.parse(readFileSync(a, 'utf8'))).toEqual({ group: 'app', state: 'idle' })
    expect(statSync(a).mode & 0o077).toBe(0)
  })
})
