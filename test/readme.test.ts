import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'

const readme = readFileSync('README.md', 'utf8')

/** The README's first screen, as a reader meets it: headings in order, up to the generated reference. */
function sectionsBefore(marker: string): string[] {
  return [...readme.slice(0, readme.indexOf(marker)).matchAll(/^## (.*)$/gm)].map((m) => m[1])
}

it('opens with what it does, the requirements and a minimal example, then the reference; contributor commands come after', () => {
  expect(sectionsBefore('<!-- usage:start')).toEqual(['Requirements', 'Example', 'Usage'])
  const firstCode = /```(\w*)\n/.exec(readme)!
  expect(firstCode[1], 'the first code block is the example workflow').toBe('yaml')
  expect(readme.indexOf('npm ci && npm test')).toBeGreaterThan(readme.indexOf('<!-- usage:end -->'))
})

it('states the requirements: PostgreSQL 14 to 18, the admin privileges with a link, a node24 runner, network reach', () => {
  const req = readme.slice(readme.indexOf('## Requirements'), readme.indexOf('## Example'))
  expect(req).toContain('PostgreSQL 14, 15, 16, 17 or 18')
  expect(req).toMatch(/`CREATEROLE`[\s\S]*\(docs\/managed-services\.md\)/)
  expect(req).toMatch(/`node24`[\s\S]*v2\.327\.1[\s\S]*Enterprise Server 3\.19/)
  expect(req).toMatch(/Network reach from the runner/)
})

it('has a first example of at most 35 lines that uses the action by its published path', () => {
  const block = /<!-- example -->\n```yaml\n([\s\S]*?)\n```/.exec(readme)
  expect(block, 'README is missing the example block').not.toBeNull()
  const lines = block![1].split('\n')
  expect(lines.length).toBeLessThanOrEqual(35)
  const phases = [...block![1].matchAll(/phase: ([a-z-]+)/g)].map((m) => m[1])
  expect(phases).toEqual(['open', 'verify-drain', 'close', 'abort'])
  expect(block![1]).toMatch(/uses: pg-credential-rotation\/pg-credential-rotation@v1/)
  expect(block![1]).toMatch(/^ {4}environment: /m)
})

it('is at most 25 KB, and no longer names a placeholder for the action', () => {
  expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(25 * 1024)
  expect(readme).not.toContain('<owner>/<repo>')
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
