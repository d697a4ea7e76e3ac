#!/usr/bin/env node
// @ts-check
/**
 * `npm run build` (after tsc): bundles both front doors with ncc, so neither needs
 * node_modules at run time:
 *
 *   dist/index.js (+ chunks)      the GitHub Action (action.yml runs it), CommonJS
 *   dist/package.json             {"type":"commonjs"}: the action's files are CommonJS
 *   dist/cli/index.js (+ chunks)  the command-line tool
 *   dist/cli.js                   its executable entry, package.json's "bin"
 *
 *   node scripts/build.mjs [outDir]   default dist/; test/dist.test.ts builds into a temp dir
 *
 * Order matters: ncc deletes every .js below its output directory first, so the action is
 * built before the CLI goes into its subdirectory.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const NCC = join(root, 'node_modules', '.bin', 'ncc')
const FLAGS = ['--license', 'licenses.txt', '--target', 'es2022']

/**
 * The bin: a file of its own so that it carries the shebang and the executable bit.
 * CommonJS like the rest of dist/ (dist/package.json); the CLI itself is an ES module
 * (dist/cli/package.json), loaded with import().
 */
export const CLI_SHIM = `#!/usr/bin/env node
// pg-credential-rotation: the command-line tool (package.json "bin"), bundled in dist/cli/.
import('./cli/index.js')
`

/** @param {string} entry @param {string} dir */
function ncc(entry, dir) {
  execFileSync(NCC, ['build', join(root, entry), '-o', dir, ...FLAGS], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

/** The CLI alone: out/cli/ and out/cli.js (what the CLI's tests run). @param {string} out */
export function buildCli(out) {
  ncc('src/cli/index.ts', join(out, 'cli'))
  writeFileSync(join(out, 'cli.js'), CLI_SHIM, { mode: 0o755 })
}

/**
 * The action, as CommonJS: ncc bundles a `.cjs` entry as CommonJS into index.cjs and
 * chunks named `<id>.index.cjs.js`. The entry is renamed to index.js (the path action.yml
 * and every workflow run), and dist/package.json makes Node read dist/*.js as CommonJS
 * (the project's own package.json says "module"). Chunks are loaded by their own names,
 * which the rename does not touch.
 * @param {string} out
 */
export function buildAction(out) {
  ncc('src/index.cjs', out)
  renameSync(join(out, 'index.cjs'), join(out, 'index.js'))
  writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`)
  const leftover = readdirSync(out).filter((f) => f.endsWith('.mjs'))
  if (leftover.length) throw new Error(`ncc emitted ES modules for a CommonJS entry: ${leftover.join(', ')}`)
}

/** Both front doors. @param {string} out */
export function build(out) {
  buildAction(out)
  buildCli(out)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = resolve(process.argv[2] ?? join(root, 'dist'))
  build(out)
  console.log(`built ${out}/index.js (the action) and ${out}/cli.js (the CLI)`)
}
