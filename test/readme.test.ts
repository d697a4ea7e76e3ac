import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'

const readme = readFileSync('README.md', 'utf8')

it('the README shows .github/workflows/rotate.yml exactly (the file the workflow tests validate)', () => {
  const block = /<!-- rotate\.yml -->\n```yaml\n([\s\S]*?)\n```\n<!-- \/rotate\.yml -->/.exec(readme)
  expect(block, 'README is missing the rotate.yml block').not.toBeNull()
  expect(block![1]).toBe(readFileSync('.github/workflows/rotate.yml', 'utf8').replace(/\n$/, ''))
})

it('the README documents every input and output of action.yml', () => {
  const action = readFileSync('action.yml', 'utf8')
  const section = (name: string) => action.slice(action.indexOf(`\n${name}:`) + 1).split(/\n(?=\S)/)[0]
  const names = (text: string) => [...text.matchAll(/^ {2}([a-z-]+):$/gm)].map((m) => m[1])
  // Inputs appear in the usage block as `    name: 'default'`, outputs as table rows (see test/docs.test.ts).
  for (const input of names(section('inputs'))) expect(readme).toMatch(new RegExp(`^ {4}${input}: '`, 'm'))
  for (const output of names(section('outputs'))) expect(readme).toMatch(new RegExp(`^\\| \`${output}\` \\|`, 'm'))
  expect(names(section('inputs')).length).toBeGreaterThanOrEqual(17)
  expect(names(section('outputs')).length).toBeGreaterThanOrEqual(9)
})

it('the README gives the test command that .ci/run runs', () => {
  expect(readme).toContain('npm ci && npm test')
  const ci = readFileSync('.ci/run', 'utf8')
  expect(ci).toMatch(/^npm ci\b/m)
  expect(ci).toMatch(/^npm test\b/m)
})
