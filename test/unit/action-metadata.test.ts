/**
 * action.yml is what the runner reads; the code declares each of these once. This file fails
 * when the two drift: the outputs main.ts sets (OUTPUTS in src/domain/result.ts), the input
 * defaults parseConfig applies (DEFAULTS in src/inputs/config.ts) and the phases it accepts.
 * action.yml is read with scripts/docs.mjs, which test/docs.test.ts checks against GitHub's parser.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseAction } from '../../scripts/docs.mjs'
import { OUTPUTS } from '../../src/domain/result.js'
import { DEFAULTS, parseConfig, PHASES, type Config } from '../../src/inputs/config.js'

const action = parseAction(readFileSync('action.yml', 'utf8'))

/** passwordLength -> password-length */
const inputName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

function config(inputs: Record<string, string>): Config {
  return parseConfig((name) => inputs[name] ?? '', {})
}

describe('action.yml and the code', () => {
  it('lists exactly the outputs the adapter sets, in the same order', () => {
    expect(action.outputs.map((o) => o.name)).toEqual([...OUTPUTS])
  })

  it('gives every input in DEFAULTS the same default', () => {
    const code = Object.fromEntries(Object.entries(DEFAULTS).map(([key, value]) => [inputName(key), value]))
    const yml = Object.fromEntries(action.inputs.filter((i) => i.name in code).map((i) => [i.name, i.default]))
    expect(yml).toEqual(code)
  })

  it('gives every other input a default that means what leaving it empty means', () => {
    const required = { phase: 'open', role: 'app', 'admin-url': 'postgresql://admin@db.example.com:5432/appdb' }
    const defaults = Object.fromEntries(
      action.inputs.filter((i) => i.default !== undefined).map((i) => [i.name, i.default as string]),
    )
    expect(config({ ...defaults, ...required })).toEqual(config(required))
  })

  it('lets the phase input name the phases the config accepts', () => {
    expect(action.inputs.find((i) => i.name === 'phase')?.phases).toEqual([...PHASES])
  })
})
