/**
 * Flags and environment to the Config the action builds: the same parser (parseConfig), so
 * every value is checked, defaulted and refused with the same words, and no phase learns
 * which front door called it. Without --admin-url the core connects with the PG* variables
 * (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT,
 * PGSSLKEY), as psql does.
 */
import { parseConfig, type Config, type InputReader, type RunInfo } from '../inputs/config.js'
import { envName, UsageError, type RunCommand } from './args.js'
import { CLI_INPUTS } from './inputs.generated.js'

/** Each input from its flag, else from its PG_ROTATION_ variable, else ''. */
export function inputReader(cmd: Pick<RunCommand, 'phase' | 'inputs'>, env: NodeJS.ProcessEnv): InputReader {
  return (name) => {
    if (name === 'phase') return cmd.phase
    return cmd.inputs[name] ?? env[envName(name)] ?? ''
  }
}

export function cliConfig(cmd: Pick<RunCommand, 'phase' | 'inputs'>, env: NodeJS.ProcessEnv): Config {
  const cfg = parseConfig(inputReader(cmd, env), env)
  return { ...cfg, run: cliRunInfo(cfg.run, env) }
}

/** Names the CI run (pipeline, build) a phase belongs to, on a CI the CLI does not recognise. */
export const RUN_ID_VARIABLE = 'PG_ROTATION_RUN_ID'

/** What a run id may hold: it is recorded in the state, printed, and part of application_name. */
const RUN_ID = /^[A-Za-z0-9._:/@+-]{1,200}$/

/**
 * The run a phase belongs to, which the state records when open opens a rotation: only the
 * same run may re-run open (a retried job). The core reads GitHub Actions' GITHUB_RUN_ID
 * (`base`), which stays the same across re-run attempts. The CLI also knows, in this order:
 * PG_ROTATION_RUN_ID (any CI: the caller names the run); GitHub Actions; GitLab CI, whose
 * CI_PIPELINE_ID stays the same when a job is retried (recorded as "gitlab:<id>", so it never
 * matches a GitHub run id; CI_JOB_ID is the attempt). Elsewhere there is none, and a second
 * open is refused.
 */
export function cliRunInfo(base: RunInfo, env: NodeJS.ProcessEnv): RunInfo {
  const explicit = env[RUN_ID_VARIABLE]?.trim()
  if (explicit) return { ...base, runId: checkedRunId(explicit, RUN_ID_VARIABLE) }
  if (base.runId) return base
  const pipeline = env.GITLAB_CI === 'true' ? env.CI_PIPELINE_ID?.trim() : undefined
  if (pipeline)
    return {
      runId: checkedRunId(`gitlab:${pipeline}`, 'CI_PIPELINE_ID'),
      runAttempt: env.CI_JOB_ID ?? '',
      workflow: env.CI_PIPELINE_NAME ?? '',
      repository: env.CI_PROJECT_PATH ?? '',
      actor: env.GITLAB_USER_LOGIN ?? '',
    }
  return base
}

function checkedRunId(value: string, variable: string): string {
  if (RUN_ID.test(value)) return value
  throw new UsageError(
    `${variable} must name the CI run in letters, digits and . _ : / @ + - only (at most 200 characters), e.g. "buildkite:$BUILDKITE_BUILD_ID"`,
  )
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
