/**
 * The @actions/core functions the adapter uses, taken from @actions/core's own
 * modules (command.js, file-command.js, summary.js). Importing '@actions/core'
 * as a whole also evaluates its OIDC client (@actions/http-client and undici)
 * and @actions/exec at start-up: about 90 ms on every run, for features this
 * action never uses. These are the same implementations without that cost
 * (getInput, setOutput, setFailed, info, warning, notice, debug, error and setSecret
 * mirror lib/core.js line for line; issueFileCommand and prepareKeyValueMessage
 * mirror lib/file-command.js).
 *
 * node:crypto (the output delimiter) loads when an output is first set, not at
 * start-up: a run that stops at an input error never needs it (about 4 ms of a
 * cold start that is ~25 ms of Node's own). The job summary is appended as
 * lib/summary.js's `summary.addRaw(markdown).write()` does, without loading
 * summary.js (it loads fs/promises, another ~3 ms with its own chunk).
 */
import { accessSync, appendFileSync, constants, existsSync } from 'node:fs'
import { EOL } from 'node:os'
import { issueCommand } from '../../node_modules/@actions/core/lib/command.js'
import { toCommandValue } from '../../node_modules/@actions/core/lib/utils.js'

/** lib/summary.js SUMMARY_ENV_VAR. */
const SUMMARY_ENV_VAR = 'GITHUB_STEP_SUMMARY'

/** lib/summary.js `summary.addRaw(markdown).write()`: the same checks and messages, then the same append. */
export function appendSummary(markdown: string): void {
  const pathFromEnv = process.env[SUMMARY_ENV_VAR]
  if (!pathFromEnv) {
    throw new Error(
      `Unable to find environment variable for $${SUMMARY_ENV_VAR}. Check if your runtime environment supports job summaries.`,
    )
  }
  try {
    accessSync(pathFromEnv, constants.R_OK | constants.W_OK)
  } catch {
    throw new Error(
      `Unable to access summary file: '${pathFromEnv}'. Check if the file has correct read/write permissions.`,
    )
  }
  appendFileSync(pathFromEnv, markdown, { encoding: 'utf8' })
}

/** lib/file-command.js issueFileCommand. */
function issueFileCommand(command: string, message: string): void {
  const filePath = process.env[`GITHUB_${command}`]
  if (!filePath) {
    throw new Error(`Unable to find environment variable for file command ${command}`)
  }
  if (!existsSync(filePath)) {
    throw new Error(`Missing file at path: ${filePath}`)
  }
  appendFileSync(filePath, `${toCommandValue(message)}${EOL}`, {
    encoding: 'utf8',
  })
}

/** lib/file-command.js prepareKeyValueMessage, with node:crypto loaded when an output is first set. */
function prepareKeyValueMessage(key: string, value: string): string {
  const delimiter = `ghadelimiter_${process.getBuiltinModule('node:crypto').randomUUID()}`
  const convertedValue = toCommandValue(value)
  if (key.includes(delimiter)) {
    throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`)
  }
  if (convertedValue.includes(delimiter)) {
    throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`)
  }
  return `${key}<<${delimiter}${EOL}${convertedValue}${EOL}${delimiter}`
}

export function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim()
}

export function setSecret(secret: string): void {
  issueCommand('add-mask', {}, secret)
}

export function setOutput(name: string, value: string): void {
  if (process.env['GITHUB_OUTPUT']) {
    issueFileCommand('OUTPUT', prepareKeyValueMessage(name, value))
    return
  }
  process.stdout.write(EOL)
  issueCommand('set-output', { name }, toCommandValue(value))
}

export function info(message: string): void {
  process.stdout.write(message + EOL)
}

export function debug(message: string): void {
  issueCommand('debug', {}, message)
}

export function warning(message: string): void {
  issueCommand('warning', {}, message)
}

export function notice(message: string): void {
  issueCommand('notice', {}, message)
}

export function error(message: string): void {
  issueCommand('error', {}, message)
}

export function setFailed(message: string): void {
  process.exitCode = 1
  error(message)
}
