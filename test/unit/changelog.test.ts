import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { changelogSection } from '../../scripts/changelog.mjs'

const sample = `# Changelog

## [Unreleased]

### Added
- Something coming.

## [1.1.0] - 2026-12-01

### Fixed
- A fix.

## [1.0.0] - 2026-11-29

### Added
- The first release.

[Unreleased]: https://github.com/o/r/compare/v1.1.0...HEAD
[1.1.0]: https://github.com/o/r/compare/v1.0.0...v1.1.0
[1.0.0]: https://github.com/o/r/releases/tag/v1.0.0
`

describe('changelog section for the release notes', () => {
  it('returns the body of one version, up to the next heading, without its heading', () => {
    expect(changelogSection(sample, '1.1.0')).toBe('### Fixed\n- A fix.')
  })

  it('accepts the tag name (v1.0.0) and leaves out link references at the end of the file', () => {
    expect(changelogSection(sample, 'v1.0.0')).toBe('### Added\n- The first release.')
  })

  it('does not take 1.0.0 for 1.0.0-rc.1 or 11.0.0', () => {
    expect(changelogSection(sample, '1.0.0-rc.1')).toBeNull()
    expect(changelogSection('## [11.0.0]\n- x\n', '1.0.0')).toBeNull()
    expect(changelogSection('## [1.0.0-rc.1]\n- x\n', '1.0.0')).toBeNull()
  })

  it('reads headings without brackets', () => {
    expect(changelogSection('## 2.0.0 - 2027-01-01\n- y\n', '2.0.0')).toBe('- y')
  })

  it('the command fails for a version without a section and for an empty one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'changelog-'))
    const file = join(dir, 'CHANGELOG.md')
    writeFileSync(file, '## [2.0.0]\n\n## [1.0.0]\n- x\n')
    expect(execFileSync('node', ['scripts/changelog.mjs', '1.0.0', file], { encoding: 'utf8' })).toBe('- x\n')
    for (const v of ['3.0.0', '2.0.0']) {
      expect(() => execFileSync('node', ['scripts/changelog.mjs', v, file], { stdio: 'pipe' })).toThrow()
    }
  })

  it('CHANGELOG.md has a section for the version in package.json', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8'))
    expect(changelogSection(readFileSync('CHANGELOG.md', 'utf8'), version)).toMatch(/\S/)
  })
})
