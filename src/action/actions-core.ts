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
 *
 * Lines go to file descriptor 1 with fs.writeSync instead of process.stdout: creating
 * process.stdout on the runner's pipe sets up a net.Socket and its stream machinery,
 * about 2 ms of every run (docs/benchmarks.md). If something touches process.stdout
 * anyway, its writes come here too (./stdout.ts): fd 1 has one writer. The text is byte for
 * byte what lib/command.js's issueCommand writes (the tests compare them), except for the
 * line break a command gets after text that did not end its line.
 */
import fs from 'node:fs'
import { EOL } from 'node:os'
import { toCommandValue } from '../../node_modules/@actions/core/lib/utils.js'

/** A short wait while the reader drains a full pipe; nothing else runs in the meantime. */
const PIPE_FULL_WAIT_MS = 1

/** Whether the last byte written to fd 1 ended a line (fd 1's only writer is writeStdout, see ./stdout.ts). */
let atLineStart = true

/**
 * Writes all of `data` (a string as UTF-8) to file descriptor 1, in order with every earlier
 * write. A full non-blocking pipe (EAGAIN) is waited out, never dropped: a line may be an
 * ::add-mask:: that must reach the runner before the secret does.
 */
export function writeStdout(data: string | Buffer): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  let written = 0
  while (written < bytes.length) {
    try {
      written += fs.writeSync(1, bytes, written, bytes.length - written)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PIPE_FULL_WAIT_MS)
    }
  }
  if (bytes.length) atLineStart = bytes[bytes.length - 1] === 0x0a
}

/**
 * lib/command.js issueCommand: `::name key=value,...::message`, escaped as there. The runner
 * takes a command only at a line's start: after text that did not end its line (a
 * dependency's process.stdout.write), a line break comes first.
 */
function issueCommand(command: string, properties: Record<string, string>, message: string): void {
  const props = Object.entries(properties)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${escapeProperty(v)}`)
    .join(',')
  writeStdout(`${atLineStart ? '' : EOL}::${command}${props ? ` ${props}` : ''}::${escapeData(message)}${EOL}`)
}

/** lib/command.js escapeData. */
function escapeData(s: string): string {
  return toCommandValue(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** lib/command.js escapeProperty. */
function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

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
    fs.accessSync(pathFromEnv, fs.constants.R_OK | fs.constants.W_OK)
  } catch {
    throw new Error(
      `Unable to access summary file: '${pathFromEnv}'. Check if the file has correct read/write permissions.`,
    )
  }
  fs.appendFileSync(pathFromEnv, markdown, { encoding: 'utf8' })
}

/**
 * lib/file-command.js issueFileCommand, for several messages at once: the file gets
 * what one issueFileCommand per message would append, in one write.
 */
function issueFileCommand(command: string, messages: string[]): void {
  const filePath = process.env[`GITHUB_${command}`]
  if (!filePath) {
    throw new Error(`Unable to find environment variable for file command ${command}`)
  }
  if (!fs.existsSync(filePath)) {
    throw new Error(`Missing file at path: ${filePath}`)
  }
  fs.appendFileSync(filePath, messages.map((m) => `${toCommandValue(m)}${EOL}`).join(''), {
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
  setOutputs([[name, value]])
}

/** setOutput for each pair, in order, with one append to GITHUB_OUTPUT for all of them. */
export function setOutputs(outputs: [name: string, value: string][]): void {
  if (process.env['GITHUB_OUTPUT']) {
    issueFileCommand(
      'OUTPUT',
      outputs.map(([name, value]) => prepareKeyValueMessage(name, value)),
    )
    return
  }
  for (const [name, value] of outputs) {
    writeStdout(EOL)
    issueCommand('set-output', { name }, toCommandValue(value))
  }
}

export function info(message: string): void {
  writeStdout(message + EOL)
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
