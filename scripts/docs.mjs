#!/usr/bin/env node
/**
 * Renders the README's usage section from action.yml, the one source for inputs
 * and outputs: every input with its default and the phases it applies to (the
 * trailing "Phases: ..." sentence of its description), then a table of outputs.
 *
 *   npm run docs            rewrite the section between the markers in README.md, and
 *                           src/cli/inputs.generated.ts (the CLI's flags and --help)
 *   npm run docs -- --check exit 1 when either is stale (test/docs.test.ts and
 *                           test/cli/help.test.ts do the same)
 *
 * action.yml is read with a small reader for the shape it has (two-space keys,
 * plain, quoted or folded `>-` scalars); the test compares what it reads with
 * GitHub's own parser, so a construct it does not understand fails the test.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The phases, in order: the ones action.yml's own `phase` input applies to (its "Phases:" sentence).
 * test/docs.test.ts checks them against the list the config accepts (src/inputs/config.ts).
 */
export const PHASES = phasesOfPhaseInput(readFileSync(new URL('../action.yml', import.meta.url), 'utf8'))
export const START =
  '<!-- usage:start: generated from action.yml by `npm run docs`; edit action.yml, not this block -->'
export const END = '<!-- usage:end -->'
/** How the README's usage block refers to the action. */
export const USES = 'pg-credential-rotation/pg-credential-rotation@v1'

function scalar(raw) {
  const t = raw.trim()
  if (t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'")
  if (t.startsWith('"') && t.endsWith('"')) return JSON.parse(t)
  return t
}

/** Reads the inputs and outputs of action.yml: name, description, required, default, phases. */
export function parseAction(text) {
  const sections = readEntries(text)
  for (const e of [...sections.inputs, ...sections.outputs]) Object.assign(e, splitPhases(e.name, e.description))
  return sections
}

function phasesOfPhaseInput(text) {
  const phase = readEntries(text).inputs.find((e) => e.name === 'phase')
  const m = /Phases: ([a-z-]+(?:, [a-z-]+)*)\.$/.exec(phase?.description ?? '')
  if (!m) throw new Error('action.yml: the phase input does not end with "Phases: <every phase>."')
  return m[1].split(', ')
}

/** The inputs and outputs of action.yml as written: name, description, required, default. */
function readEntries(text) {
  const lines = text.split(/\r?\n/)
  const sections = { inputs: [], outputs: [] }
  let section = null
  let entry = null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (/^\S/.test(line)) {
      section = /^(inputs|outputs):\s*$/.test(line) ? line.replace(/:.*/, '') : null
      entry = null
      continue
    }
    if (!section) continue
    let m = /^ {2}([A-Za-z0-9_-]+):\s*$/.exec(line)
    if (m) {
      entry = { name: m[1], description: '', required: false, default: undefined }
      sections[section].push(entry)
      continue
    }
    m = /^ {4}(description|required|default):\s*(.*)$/.exec(line)
    if (!m || !entry) continue
    const [, key, rest] = m
    let value
    if (/^[>|]-?$/.test(rest.trim())) {
      const folded = rest.trim().startsWith('>')
      const body = []
      while (i + 1 < lines.length && (/^ {6}/.test(lines[i + 1]) || lines[i + 1].trim() === ''))
        body.push(lines[++i].slice(6))
      while (body.length && body[body.length - 1].trim() === '') body.pop()
      value = folded ? body.join(' ').replace(/\s+/g, ' ').trim() : body.join('\n')
    } else {
      value = scalar(rest)
    }
    if (key === 'required') entry.required = value === 'true'
    else if (key === 'default') entry.default = value
    else entry.description = value
  }
  return sections
}

/** "Does X. Phases: open, close." -> { text: 'Does X.', phases: ['open', 'close'] } */
export function splitPhases(name, description) {
  const m = /^(.*?)\s*Phases: ([a-z-]+(?:, [a-z-]+)*)\.$/s.exec(description)
  if (!m) throw new Error(`action.yml: the description of ${name} does not end with "Phases: <phase>, <phase>."`)
  const phases = m[2].split(', ')
  const unknown = phases.filter((p) => !PHASES.includes(p))
  if (unknown.length) throw new Error(`action.yml: ${name} names unknown phases: ${unknown.join(', ')}`)
  return { text: m[1], phases }
}

export function phaseList(phases) {
  return PHASES.every((p) => phases.includes(p)) ? 'all' : PHASES.filter((p) => phases.includes(p)).join(', ')
}

function wrap(text, width) {
  const out = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) out.push(line)
  return out
}

function yamlString(v) {
  return `'${String(v).replace(/'/g, "''")}'`
}

/** The section between the markers: a `with:` block of every input, then the outputs. */
export function renderUsage(action) {
  const out = []
  out.push('```yaml')
  out.push(`- uses: ${USES}`)
  out.push('  with:')
  action.inputs.forEach((input, n) => {
    if (n > 0) out.push('')
    for (const l of wrap(input.text, 84)) out.push(`    # ${l}`)
    const tail = input.required
      ? 'Required.'
      : `Default: ${input.default === '' || input.default === undefined ? "''" : yamlString(input.default)}`
    out.push(`    # Phases: ${phaseList(input.phases)}. ${tail}`)
    out.push(`    ${input.name}: ${input.required ? "''" : yamlString(input.default ?? '')}`)
  })
  out.push('```')
  out.push('')
  out.push('| output | set by | description |')
  out.push('|---|---|---|')
  for (const o of action.outputs)
    out.push(`| \`${o.name}\` | ${phaseList(o.phases)} | ${o.text.replace(/\|/g, '\\|')} |`)
  return out.join('\n')
}

/** README with the usage section replaced; throws when the markers are missing. */
export function updateReadme(readme, actionText) {
  const a = readme.indexOf(START)
  const b = readme.indexOf(END)
  if (a < 0 || b < a) throw new Error(`README.md has no usage section: add the lines\n${START}\n${END}`)
  return `${readme.slice(0, a + START.length)}\n${renderUsage(parseAction(actionText))}\n${readme.slice(b)}`
}

/** Where the CLI's generated description of its flags lives, from the repository root. */
export const CLI_INPUTS = 'src/cli/inputs.generated.ts'

/**
 * The CLI's flags as a TypeScript module: the phases, and every input but `phase` (the
 * CLI's first argument) with its description, default, whether it is required or a
 * boolean (a bare `--force` then means true), and the phases it applies to.
 */
export function renderCliInputs(action) {
  const inputs = action.inputs
    .filter((i) => i.name !== 'phase')
    .map((i) => ({
      name: i.name,
      text: i.text,
      required: i.required,
      default: i.default ?? '',
      boolean: i.default === 'true' || i.default === 'false',
      phases: i.phases,
    }))
  return [
    '// Generated from action.yml by `npm run docs` (scripts/docs.mjs); edit action.yml, not this file.',
    '// test/cli/help.test.ts fails when it is stale.',
    '',
    "import type { CliInput } from './args.js'",
    '',
    `export const CLI_PHASES = ${JSON.stringify(PHASES)} as const`,
    '',
    `export const CLI_INPUTS: readonly CliInput[] = ${JSON.stringify(inputs, null, 2)}`,
    '',
  ].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const actionText = readFileSync(`${root}action.yml`, 'utf8')
  const readme = readFileSync(`${root}README.md`, 'utf8')
  const cliPath = `${root}${CLI_INPUTS}`
  const cli = existsSync(cliPath) ? readFileSync(cliPath, 'utf8') : ''
  const files = [
    { name: 'README.md', path: `${root}README.md`, text: readme, next: updateReadme(readme, actionText) },
    { name: CLI_INPUTS, path: cliPath, text: cli, next: renderCliInputs(parseAction(actionText)) },
  ]
  if (process.argv.includes('--check')) {
    const stale = files.filter((f) => f.next !== f.text).map((f) => f.name)
    if (stale.length) {
      console.error(`${stale.join(' and ')} stale: run npm run docs`)
      process.exit(1)
    }
    console.log('README.md and the CLI flags are up to date')
  } else {
    for (const f of files) {
      if (f.next !== f.text) {
        writeFileSync(f.path, f.next)
        console.log(`${f.name}: rewritten from action.yml`)
      } else {
        console.log(`${f.name}: already up to date`)
      }
    }
  }
}
