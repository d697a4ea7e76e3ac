import { describe, expect, it } from 'vitest'
import { jsonFailure, jsonLine } from '../../src/cli/json.js'

describe('--json on stdout', () => {
  it('carries server text holding "##[" without a runner command in the line, and parses back to the same text', () => {
    // An application_name or error text a login controls; the Actions runner obeys `##[cmd]` anywhere in a line.
    const hostile = 'app ##[add-mask]rest ###[stop-commands]tok \\##[echo]x "##[ ## [x] #'
    const line = jsonLine(jsonFailure('status', hostile))
    expect(line).not.toContain('##[')
    expect(line.endsWith('\n')).toBe(true)
    expect(line.slice(0, -1)).not.toContain('\n')
    expect(JSON.parse(line).error).toBe(hostile)
  })
})
