/**
 * npm run test:unit (the `unit` project) starts no PostgreSQL: only the `integration` project has
 * the global setup that starts servers, and npm test (every project) still runs every test file once.
 */
import { globSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import config from '../../vitest.config.js'

type Project = {
  extends?: boolean
  test: { name: string; include?: string[]; exclude?: string[]; globalSetup?: string[] }
}
const projects = (config.test?.projects ?? []) as Project[]
const byName = (name: string) => projects.find((p) => p.test.name === name)!

function filesOf(p: Project): Set<string> {
  const excluded = new Set((p.test.exclude ?? []).flatMap((g) => globSync(g)))
  return new Set((p.test.include ?? []).flatMap((g) => globSync(g)).filter((f) => !excluded.has(f)))
}

describe('the vitest projects', () => {
  it('give the unit project no global setup (no server starts) and the integration project the one that starts PostgreSQL', () => {
    expect(config.test?.globalSetup, 'a root globalSetup would run for every project').toBeUndefined()
    expect(byName('unit').test.globalSetup ?? []).toEqual([])
    expect(byName('integration').test.globalSetup).toEqual(['test/harness/global-setup.ts'])
    expect(JSON.parse(readPackage()).scripts['test:unit']).toBe('vitest run --project unit')
  })

  it('together cover every test file exactly once', () => {
    const all = globSync('test/**/*.test.ts').sort()
    const unit = filesOf(byName('unit'))
    const integration = filesOf(byName('integration'))
    expect([...unit].filter((f) => integration.has(f))).toEqual([])
    expect([...unit, ...integration].sort()).toEqual(all)
    expect(unit.size).toBeGreaterThan(10)
    for (const f of unit) expect(f.startsWith('test/unit/'), f).toBe(true)
  })
})

function readPackage(): string {
  return readFileSync('package.json', 'utf8')
}
