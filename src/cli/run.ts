/**
 * One phase from the command line: flags to Config (as the action does), the phase through
 * runPhase with the terminal's reporter, the result on stdout (for a person, or one JSON
 * object), and the exit status: 0 done or nothing to do, 1 failed or refused (the action's
 * words on stderr), 2 a usage error (naming the flag).
 */
import { InputError, wasCommitted } from '../domain/errors.js'
import type { Config } from '../inputs/config.js'
import { UsageError, type RunCommand } from './args.js'
import { BIN } from './help.js'
import { cliConfig, inputReader, unusedInputs } from './inputs.js'
import { jsonFailure, jsonLine, jsonResult } from './json.js'
import { Masker, maskConnectionSecrets } from './mask.js'
import { renderResult } from './render.js'
import { styleFor, TerminalReporter, type Output } from './reporter.js'

export interface Io {
  stdout: Output
  stderr: Output
  env: NodeJS.ProcessEnv
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const

export async function runCommand(cmd: RunCommand, io: Io): Promise<number> {
  const masker = new Masker(cmd.showSecrets)
  // Before anything can print: the connection's secrets in every form they take.
  maskConnectionSecrets(masker, inputReader(cmd, io.env), io.env)
  const reporter = new TerminalReporter(io.stderr, masker, cmd.verbose)
  let cfg: Config
  try {
    cfg = cliConfig(cmd, io.env)
  } catch (e) {
    if (e instanceof UsageError) return usageError(io, cmd.phase, e.message, cmd.json, masker)
    if (!(e instanceof InputError)) throw e
    return usageError(io, cmd.phase, `--${e.input}: ${e.message.replace(/^input '[^']*': /, '')}`, cmd.json, masker)
  }
  for (const w of unusedInputs(cmd, io.env)) reporter.warning(w)
  try {
    // Loaded after the inputs are valid: a usage error never loads pg or the phases.
    const { runPhase } = await import('../run-phase.js')
    const result = await runPhase(cfg, { reporter })
    reporter.finish()
    io.stdout.write(
      cmd.json ? jsonLine(jsonResult(result, masker)) : renderResult(result, masker, styleFor(io.stdout), cmd.verbose),
    )
    if (!result.failure) return EXIT.ok
    reporter.error(result.failure)
    return EXIT.failed
  } catch (e) {
    reporter.finish()
    const message = e instanceof Error ? e.message : String(e)
    reporter.error(message)
    reporter.info(
      wasCommitted(e)
        ? 'Some changes were made before the failure (a commit, GitHub secrets written, or sessions ended): the message above says which.'
        : 'Nothing was changed.',
    )
    if (cmd.json) io.stdout.write(jsonLine(jsonFailure(cmd.phase, masker.mask(message))))
    return EXIT.failed
  }
}

/** A command line that cannot run: the reason on stderr (and in the JSON object with --json), status 2. */
export function usageError(io: Io, phase: string, message: string, json: boolean, masker = new Masker(false)): number {
  const reporter = new TerminalReporter(io.stderr, masker)
  reporter.error(message)
  reporter.info(`Run '${BIN} --help' for the phases and flags.`)
  if (json) io.stdout.write(jsonLine(jsonFailure(phase, masker.mask(message))))
  return EXIT.usage
}
