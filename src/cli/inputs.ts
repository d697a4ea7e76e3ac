/**
 * Flags and environment to the Config the action builds: the same parser (parseConfig), so
 * every value is checked, defaulted and refused with the same words, and no phase learns
 * which front door called it. Without --admin-url the core connects with the PG* variables
 * (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT,
 * PGSSLKEY), as psql does.
 */
import { parseConfig, type Config, type InputReader } from '../inputs/config.js'
import { envName, type RunCommand } from './args.js'
import { CLI_INPUTS } from './inputs.generated.js'

/** Each input from its flag, else from its PG_ROTATION_ variable, else ''. */
export function inputReader(cmd: Pick<RunCommand, 'phase' | 'inputs'>, env: NodeJS.ProcessEnv): InputReader {
  return (name) => {
    if (name === 'phase') return cmd.phase
    return cmd.inputs[name] ?? env[envName(name)] ?? ''
  }
}

export function cliConfig(cmd: Pick<RunCommand, 'phase' | 'inputs'>, env: NodeJS.ProcessEnv): Config {
  return parseConfig(inputReader(cmd, env), env)
}

/** Inputs given (as flags or variables) that the phase does not read: worth a warning, not an error. */
export function unusedInputs(cmd: Pick<RunCommand, 'phase' | 'inputs'>, env: NodeJS.ProcessEnv): string[] {
  const read = inputReader(cmd, env)
  // pgbouncer-urls: the core adds its own note.
  const ignored = CLI_INPUTS.filter((i) => i.name !== 'pgbouncer-urls' && !i.phases.includes(cmd.phase))
  return ignored
    .filter((i) => read(i.name) !== '')
    .map((i) => `--${i.name} is not read by ${cmd.phase} (only by ${i.phases.join(', ')}).`)
}
