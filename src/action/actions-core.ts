/**
 * The @actions/core functions the adapter uses, taken from @actions/core's own
 * modules (command.js, file-command.js, summary.js). Importing '@actions/core'
 * as a whole also evaluates its OIDC client (@actions/http-client and undici)
 * and @actions/exec at start-up: about 90 ms on every run, for features this
 * action never uses. These are the same implementations without that cost
 * (getInput, setOutput, setFailed, info, warning, notice, debug, error and setSecret
 * mirror lib/core.js line for line).
 */
import { EOL } from 'node:os'
import { issueCommand } from '../../node_modules/@actions/core/lib/command.js'
import { issueFileCommand, prepareKeyValueMessage } from '../../node_modules/@actions/core/lib/file-command.js'
import { summary } from '../../node_modules/@actions/core/lib/summary.js'
import { toCommandValue } from '../../node_modules/@actions/core/lib/utils.js'

export { summary }

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
