#!/usr/bin/env node
// @ts-check
/**
 * `npm run pack:cli [-- <destination dir>]`: packs the command-line tool as the tarball
 * release.yml attaches to each GitHub release, so that
 *
 *   npx https://github.com/<owner>/<repo>/releases/download/vX.Y.Z/pg-credential-rotation-X.Y.Z.tgz status …
 *
 * works without a registry. The tarball holds the bundle (dist/cli.js and dist/cli/, built by
 * `npm run build`), docs/cli.md as its README, and LICENSE, under a package.json with the bin
 * and no dependencies: installing it downloads nothing else. Prints the tarball's path.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * @param {string} dest directory the tarball is written to
 * @param {string} [dist] the build to pack (default dist/)
 * @returns {string} the tarball's path
 */
export function packCli(dest, dist = join(root, 'dist')) {
  if (!existsSync(join(dist, 'cli.js')) || !existsSync(join(dist, 'cli', 'index.js')))
    throw new Error(`${dist}/cli.js or ${dist}/cli/ is missing: run npm run build first`)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const stage = mkdtempSync(join(tmpdir(), 'pack-cli-'))
  try {
    const manifest = {
      name: pkg.name,
      version: pkg.version,
      description:
        'Zero-downtime PostgreSQL password rotation from a terminal or any CI: the GitHub Action as a command',
      license: pkg.license,
      type: 'module',
      bin: { 'pg-credential-rotation': 'dist/cli.js' },
      engines: pkg.engines,
      files: ['dist/'],
    }
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    cpSync(join(dist, 'cli.js'), join(stage, 'dist', 'cli.js'))
    cpSync(join(dist, 'cli'), join(stage, 'dist', 'cli'), { recursive: true })
    // The CLI's chunks are ES modules: dist/cli.js needs the "type" of its own folder.
    writeFileSync(join(stage, 'dist', 'package.json'), '{\n  "type": "module"\n}\n')
    cpSync(join(root, 'docs', 'cli.md'), join(stage, 'README.md'))
    cpSync(join(root, 'LICENSE'), join(stage, 'LICENSE'))
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', resolve(dest)], {
      cwd: stage,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    return join(resolve(dest), JSON.parse(out)[0].filename)
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(packCli(process.argv[2] ?? root))
}
