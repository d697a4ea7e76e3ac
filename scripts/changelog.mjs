#!/usr/bin/env node
/**
 * Prints the section of CHANGELOG.md for one version, for the release notes:
 *
 *   node scripts/changelog.mjs 1.2.0 [CHANGELOG.md]
 *
 * Sections follow Keep a Changelog: `## [1.2.0] - 2026-11-29` (or `## 1.2.0`), up to the
 * next `## ` heading; link reference definitions (`[1.2.0]: https://…`) are left out.
 * Exits 1 with a message when the version has no section or the section is empty.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The body of the section for `version` (without its heading), or null when there is none. */
export function changelogSection(changelog, version) {
  const v = version.replace(/^v/, '')
  const lines = changelog.split(/\r?\n/)
  const escaped = v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const heading = new RegExp(`^## \\[?${escaped}\\]?(?:\\s|$)`)
  const start = lines.findIndex((l) => heading.test(l))
  if (start < 0) return null
  const body = []
  for (const line of lines.slice(start + 1)) {
    if (/^## /.test(line)) break
    if (/^\[[^\]]+\]:\s*\S+/.test(line)) continue
    body.push(line)
  }
  return body.join('\n').trim()
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [version, file = 'CHANGELOG.md'] = process.argv.slice(2)
  if (!version) {
    console.error('usage: node scripts/changelog.mjs <version> [CHANGELOG.md]')
    process.exit(2)
  }
  const section = changelogSection(readFileSync(file, 'utf8'), version)
  if (section === null) {
    console.error(
      `${file} has no section for ${version}: add "## [${version.replace(/^v/, '')}] - YYYY-MM-DD" before tagging`,
    )
    process.exit(1)
  }
  if (section === '') {
    console.error(`${file}: the section for ${version} is empty`)
    process.exit(1)
  }
  console.log(section)
}
