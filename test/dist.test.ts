import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'

it('the committed dist/index.js is what src/ builds to (run `npm run build` and commit dist/ when this fails)', () => {
  const out = mkdtempSync(join(tmpdir(), 'dist-check-'))
  try {
    execFileSync(
      'npx',
      ['ncc', 'build', 'src/index.ts', '-o', out, '--license', 'licenses.txt', '--target', 'es2022'],
      { stdio: 'pipe' },
    )
    // The entry and its lazily loaded chunks (pg and the phases, the GitHub client).
    const files = readdirSync(out).sort()
    expect(readdirSync('dist').sort(), 'dist/ has other files than the build makes').toEqual(files)
    for (const f of files) {
      const fresh = readFileSync(join(out, f), 'utf8')
      const committed = readFileSync(join('dist', f), 'utf8')
      expect(committed === fresh, `dist/${f} is stale`).toBe(true)
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}, 120_000)
