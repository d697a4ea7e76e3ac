/**
 * NODE_PG_FORCE_NATIVE makes node-postgres load `pg-native` from NODE_PATH or any
 * node_modules above the bundle, and hand it the connection. The action and the CLI
 * clear it before pg loads: a module on the runner's disk never sees the admin URL.
 * Run through the built dist/index.js and dist/cli.js, as the runner and a shell run them.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { runAction, runnerNode } from '../../scripts/lib/run-action.mjs'
import { familyName, servers } from '../harness/helpers.js'

/** A pg-native that records what it was given and then fails, on a path NODE_PATH names. */
function plantedNative(): { nodePath: string; marker: string } {
  const root = mkdtempSync(join(tmpdir(), 'pg-native-'))
  const marker = join(root, 'loaded')
  const dir = join(root, 'node_modules', 'pg-native')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'index.js'),
    `require('fs').writeFileSync(${JSON.stringify(marker)}, JSON.stringify(process.env))\nthrow new Error('planted pg-native')\n`,
  )
  return { nodePath: join(root, 'node_modules'), marker }
}

describe.each(servers())('PostgreSQL $major: NODE_PG_FORCE_NATIVE', (server) => {
  it('dist/index.js ignores it: the bundled client connects, no pg-native is loaded', async () => {
    const { nodePath, marker } = plantedNative()
    const r = await runAction(
      { phase: 'status', 'admin-url': server.url, role: familyName() },
      { env: { NODE_PG_FORCE_NATIVE: '1', NODE_PATH: nodePath } },
    )
    expect(existsSync(marker)).toBe(false)
    expect(r.code, r.stdout + r.stderr).toBe(0)
  })

  it('dist/cli.js ignores it too', async () => {
    const { nodePath, marker } = plantedNative()
    const cli = resolve('dist', 'cli.js')
    const r = await promisify(execFile)(
      runnerNode(),
      [cli, 'status', '--admin-url', server.url, '--role', familyName()],
      {
        env: { PATH: process.env.PATH ?? '', NODE_PG_FORCE_NATIVE: '1', NODE_PATH: nodePath },
      },
    ).then(
      (x) => ({ code: 0, out: x.stdout + x.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code, out: `${e.stdout}${e.stderr}` }),
    )
    expect(existsSync(marker)).toBe(false)
    expect(r.code, r.out).toBe(0)
  })
})
