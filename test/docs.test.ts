/**
 * action.yml is the one source for inputs and outputs: the README's usage section is
 * generated from it (npm run docs), and these tests fail when the two disagree on names,
 * defaults or phases, or when the reader in scripts/docs.mjs misreads action.yml.
 */
import { readFileSync } from 'node:fs'
import { NoOperationTraceWriter } from '@actions/workflow-parser'
import { convertActionTemplate, parseAction as parseWithGitHub } from '@actions/workflow-parser/actions/index'
import { describe, expect, it } from 'vitest'
import { END, parseAction, PHASES, phaseList, START, updateReadme } from '../scripts/docs.mjs'

const actionText = readFileSync('action.yml', 'utf8')
const readme = readFileSync('README.md', 'utf8')
const action = parseAction(actionText)

/** What the code does, phase by phase (read from the phases and config parsing); action.yml must say the same. */
const INPUT_PHASES: Record<string, string> = {
  phase: 'all',
  'admin-url': 'setup, open, verify-drain, close, abort, status',
  role: 'all',
  'login-roles': 'setup, open, verify-drain, close, abort, status',
  'app-url': 'setup, open',
  'password-length': 'setup, open',
  'password-encryption': 'setup, open, close, abort',
  timeout: 'verify-drain',
  interval: 'verify-drain',
  'terminate-after': 'verify-drain',
  'min-new-connections': 'verify-drain',
  terminate: 'close, abort',
  force: 'open, close, abort',
  'rotation-id': 'verify-drain, close, abort, unseal',
  adopt: 'setup',
  'fix-ownership': 'setup',
  'replica-urls': 'setup, open, verify-drain, close, abort, status',
  'replica-timeout': 'setup, open, close, abort',
  'pgbouncer-urls': 'verify-drain, close, abort, status',
  'seal-key': 'setup, open, close, unseal',
  'sealed-credentials': 'close, unseal',
  'github-token': 'setup, close',
  'github-secrets': 'setup, close',
  'github-environment': 'setup, close',
  'github-repository': 'setup, close',
}
const OUTPUT_PHASES: Record<string, string> = {
  username: 'all',
  password: 'setup, open, unseal',
  'database-url': 'setup, open, unseal',
  'pgbouncer-userlist': 'setup, open, close, unseal',
  'previous-username': 'open, verify-drain, close, abort, status',
  'rotation-id': 'open, verify-drain, close, abort, status, unseal',
  state: 'setup, open, verify-drain, close, abort, status',
  'remaining-connections': 'verify-drain, close',
  drained: 'verify-drain',
  'sealed-credentials': 'setup, open',
  status: 'status',
  'status-file': 'status',
}

/** The README's usage block, read back: input name -> its default and the phases its comment names. */
function usageBlock(): Map<string, { value: string; phases: string; required: boolean }> {
  const section = readme.slice(readme.indexOf(START), readme.indexOf(END))
  const yaml = /```yaml\n([\s\S]*?)\n```/.exec(section)![1]
  const out = new Map<string, { value: string; phases: string; required: boolean }>()
  let comment: string[] = []
  for (const line of yaml.split('\n')) {
    const c = /^ {4}# (.*)$/.exec(line)
    if (c) comment.push(c[1])
    const m = /^ {4}([a-z-]+): '(.*)'$/.exec(line)
    if (m) {
      const last = comment.join(' ')
      const p = /Phases: (.*?)\. (Required\.|Default: )/.exec(last)
      out.set(m[1], { value: m[2].replace(/''/g, "'"), phases: p?.[1] ?? '', required: /Required\.$/.test(last) })
      comment = []
    }
  }
  return out
}

describe('action.yml', () => {
  it('is read by scripts/docs.mjs as GitHub reads it: same names, descriptions, defaults and required flags', () => {
    const result = parseWithGitHub({ name: 'action.yml', content: actionText }, new NoOperationTraceWriter())
    const template = convertActionTemplate(result.context, result.value!)
    const github = (template.inputs ?? []).map((i) => ({
      name: i.id,
      description: i.description,
      required: Boolean(i.required),
      default: i.default === undefined ? undefined : String((i.default as { value?: unknown }).value ?? i.default),
    }))
    expect(
      action.inputs.map((i) => ({
        name: i.name,
        description: i.description,
        required: i.required,
        default: i.default,
      })),
    ).toEqual(github)
    expect(action.outputs.map((o) => ({ name: o.name, description: o.description }))).toEqual(
      (template.outputs ?? []).map((o) => ({ name: o.id, description: o.description })),
    )
  })

  it('ends every input and output description with the phases it applies to, and they are the phases the code uses', () => {
    expect(Object.fromEntries(action.inputs.map((i) => [i.name, phaseList(i.phases)]))).toEqual(INPUT_PHASES)
    expect(Object.fromEntries(action.outputs.map((o) => [o.name, phaseList(o.phases)]))).toEqual(OUTPUT_PHASES)
  })

  it('lists the phases in the order the config knows them', async () => {
    const { PHASES: CODE } = await import('../src/inputs/config.js')
    expect(PHASES).toEqual([...CODE])
  })
})

describe('README usage section', () => {
  it('is what npm run docs renders from action.yml (run npm run docs when this fails)', () => {
    expect(readme, 'README.md is stale: run npm run docs').toBe(updateReadme(readme, actionText))
  })

  it('names every input of action.yml with its default, required flag and phases', () => {
    const usage = usageBlock()
    expect([...usage.keys()]).toEqual(action.inputs.map((i) => i.name))
    for (const input of action.inputs) {
      const shown = usage.get(input.name)!
      expect(shown.required, input.name).toBe(input.required)
      if (!input.required) expect(shown.value, input.name).toBe(input.default ?? '')
      expect(shown.phases, input.name).toBe(phaseList(input.phases))
    }
  })

  it('names every output of action.yml with the phases that set it', () => {
    for (const output of action.outputs) {
      expect(readme).toMatch(
        new RegExp(`^\\| \`${output.name}\` \\| ${phaseList(output.phases).replace(/[-]/g, '\\-')} \\|`, 'm'),
      )
    }
  })

  it('a description without its Phases sentence is refused', async () => {
    const { splitPhases } = await import('../scripts/docs.mjs')
    expect(() => splitPhases('x', 'Does something.')).toThrow(/does not end with "Phases:/)
    expect(() => splitPhases('x', 'Does something. Phases: open, deploy.')).toThrow(/unknown phases: deploy/)
  })
})

describe('docs/troubleshooting.md', () => {
  it('has a row for every input the code can reject by name', async () => {
    const { readdirSync } = await import('node:fs')
    const { join } = await import('node:path')
    const sources: string[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name))
        else if (e.name.endsWith('.ts')) sources.push(readFileSync(join(dir, e.name), 'utf8'))
      }
    }
    walk('src')
    const named = new Set(
      sources.flatMap((s) => [...s.matchAll(/(?:InputError|SealError)\(\s*'([a-z-]+)'/g)].map((m) => m[1])),
    )
    expect(named.size).toBeGreaterThan(5)
    const page = readFileSync('docs/troubleshooting.md', 'utf8')
    const missing = [...named].filter((input) => !page.includes(`input '${input}'`) && !page.includes(`\`${input}\``))
    expect(missing, 'inputs rejected in src/ without a troubleshooting entry').toEqual([])
  })
})
