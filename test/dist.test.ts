import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { build } from '../scripts/build.mjs'

/** Every file below dir, relative to it. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix))
    .flatMap((name) => {
      const path = join(prefix, name)
      return statSync(join(dir, path)).isDirectory() ? files(dir, path) : [path]
    })
    .sort()
}

it('the committed dist/ (the action and the CLI) is what src/ builds to (run `npm run build` and commit dist/ when this fails)', () => {
  const out = mkdtempSync(join(tmpdir(), 'dist-check-'))
  try {
    build(out)
    // The entries and their lazily loaded chunks (pg and the phases, the GitHub client), and dist/cli.js.
    const built = files(out)
    expect(files('dist'), 'dist/ has other files than the build makes').toEqual(built)
    for (const f of built) {
      const fresh = readFileSync(join(out, f), 'utf8')
      const committed = readFileSync(join('dist', f), 'utf8')
      expect(committed === fresh, `dist/${f} is stale`).toBe(true)
    }
    expect(statSync('dist/cli.js').mode & 0o111, 'dist/cli.js is not executable').not.toBe(0)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}, 300_000)
