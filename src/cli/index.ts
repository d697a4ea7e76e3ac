/**
 * The command-line entry (bin pg-credential-rotation, dist/cli.js). --help and --version
 * answer from this small module; the phases, pg and the rest load only for a run.
 */
import pkg from '../../package.json' with { type: 'json' }
import { parseArgs, UsageError, type Command } from './args.js'
import { renderHelp } from './help.js'
import { refuseNativeDriver } from '../postgres/no-native.js'

async function main(argv: string[]): Promise<number> {
  refuseNativeDriver()
  let cmd: Command
  try {
    cmd = parseArgs(argv)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    const { usageError } = await import('./run.js')
    const phase = argv.find((a) => !a.startsWith('-')) ?? ''
    return usageError(
      { stdout: process.stdout, stderr: process.stderr, env: process.env },
      phase,
      e.message,
      argv.includes('--json'),
    )
  }
  if (cmd.kind === 'version') {
    process.stdout.write(`${pkg.version}\n`)
    return 0
  }
  if (cmd.kind === 'help') {
    process.stdout.write(renderHelp(cmd.phase))
    return 0
  }
  const { runCommand } = await import('./run.js')
  return runCommand(cmd, { stdout: process.stdout, stderr: process.stderr, env: process.env })
}

process.exitCode = await main(process.argv.slice(2))
