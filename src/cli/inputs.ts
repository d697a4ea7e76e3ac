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
 * A CI whose run the CLI recognises: `id` names a variable that stays the same when a job of
 * the run is retried and differs between runs (pipelines, builds). The state records it as
 * "<prefix>:<id>", so it never matches another CI's run or a GitHub run id.
 */
interface CiRun {
  ci: string
  /** Whether the CLI runs on it (the variable the CI sets on every job). */
  on(env: NodeJS.ProcessEnv): boolean
  prefix: string
  id: string
  /** The rest of what the state records of the run (the attempt: the retried job's own id or count). */
  info(env: NodeJS.ProcessEnv): Omit<RunInfo, 'runId'>
}

const v = (env: NodeJS.ProcessEnv, name: string) => env[name] ?? ''

/** GitLab CI, Buildkite and Azure Pipelines, as their documentation names their variables. */
export const CI_RUNS: CiRun[] = [
  {
    // CI_PIPELINE_ID stays when a job is retried; CI_JOB_ID is the attempt.
    ci: 'GitLab CI',
    on: (env) => env.GITLAB_CI === 'true',
    prefix: 'gitlab',
    id: 'CI_PIPELINE_ID',
    info: (env) => ({
      runAttempt: v(env, 'CI_JOB_ID'),
      workflow: v(env, 'CI_PIPELINE_NAME'),
      repository: v(env, 'CI_PROJECT_PATH'),
      actor: v(env, 'GITLAB_USER_LOGIN'),
    }),
  },
  {
    // A retried job stays in its build (BUILDKITE_BUILD_ID, a UUID); BUILDKITE_RETRY_COUNT counts the retries.
    ci: 'Buildkite',
    on: (env) => env.BUILDKITE === 'true',
    prefix: 'buildkite',
    id: 'BUILDKITE_BUILD_ID',
    info: (env) => ({
      runAttempt: v(env, 'BUILDKITE_RETRY_COUNT'),
      workflow: v(env, 'BUILDKITE_PIPELINE_SLUG'),
      repository: v(env, 'BUILDKITE_ORGANIZATION_SLUG'),
      actor: v(env, 'BUILDKITE_BUILD_CREATOR'),
    }),
  },
  {
    // Re-running failed jobs keeps the run's Build.BuildId; System.JobAttempt counts the attempts.
    // A classic release job (Release.ReleaseId set) carries the Build.BuildId of its primary
    // artifact's build, the same in every release of that build: no run is known there.
    ci: 'Azure Pipelines',
    on: (env) => env.TF_BUILD?.toLowerCase() === 'true' && !env.RELEASE_RELEASEID?.trim(),
    prefix: 'azure',
    id: 'BUILD_BUILDID',
    info: (env) => ({
      runAttempt: v(env, 'SYSTEM_JOBATTEMPT'),
      workflow: v(env, 'BUILD_DEFINITIONNAME'),
      repository: v(env, 'BUILD_REPOSITORY_NAME'),
      actor: v(env, 'BUILD_REQUESTEDFOR'),
    }),
  },
]

/**
 * The run a phase belongs to, which the state records when open opens a rotation: only the
 * same run may re-run open (a retried job). The core reads GitHub Actions' GITHUB_RUN_ID
 * (`base`), which stays the same across re-run attempts. The CLI also knows, in this order:
 * PG_ROTATION_RUN_ID (any CI: the caller names the run); GitHub Actions; the CIs of CI_RUNS.
 * Elsewhere there is none, and a second open is refused.
 */
export function cliRunInfo(base: RunInfo, env: NodeJS.ProcessEnv): RunInfo {
  const explicit = env[RUN_ID_VARIABLE]?.trim()
  if (explicit) return { ...base, runId: checkedRunId(explicit, RUN_ID_VARIABLE) }
  if (base.runId) return base
  for (const ci of CI_RUNS) {
    const id = ci.on(env) ? env[ci.id]?.trim() : undefined
    if (id) return { runId: checkedRunId(`${ci.prefix}:${id}`, ci.id), ...ci.info(env) }
  }
  return base
}

function checkedRunId(value: string, variable: string): string {
  if (RUN_ID.test(value)) return value
  throw new UsageError(
    `${variable} must name the CI run in letters, digits and . _ : / @ + - only (at most 200 characters), e.g. "myci:<the pipeline's id>"`,
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
