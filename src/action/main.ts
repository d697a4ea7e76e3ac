/**
 * The GitHub Actions adapter: the only module that imports @actions/core.
 * Reads inputs, masks secrets, runs the phase, sets outputs, writes the job summary.
 */
import { tmpdir } from 'node:os'
import * as core from './actions-core.js'
import { writeStatusFile } from './status-file.js'
import { parseConfig } from '../inputs/config.js'
import { logLine } from '../domain/escape.js'
import { phaseStory } from '../domain/story.js'
import { wasCommitted } from '../domain/errors.js'
import type { Reporter } from '../domain/reporter.js'
import {
  OUTPUT_NAMES,
  STATUS_FILE_OUTPUT,
  STATUS_OUTPUT,
  type PhaseOutputs,
  type PhaseResult,
} from '../domain/result.js'
import { splitUriList } from '../inputs/pooler-urls.js'
import { maskUriSecrets } from '../postgres/urls.js'
import { refuseNativeDriver } from '../postgres/no-native.js'
import { renderFailureSummary, renderSummary } from './summary.js'

export async function run(): Promise<void> {
  refuseNativeDriver()
  maskConnectionSecrets()
  const phase = core.getInput('phase')
  try {
    const cfg = parseConfig((name) => core.getInput(name), process.env)
    // Loaded after the inputs are valid: a run that fails on input never loads pg or the phases.
    const { runPhase } = await import('../run-phase.js')
    const result = await runPhase(cfg, { reporter })
    logStory(result)
    setOutputs(result)
    await writeSummary(renderSummary(result))
    if (result.failure) core.setFailed(logLine(result.failure))
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    await writeSummary(renderFailureSummary(phase, message, wasCommitted(e)))
    core.setFailed(logLine(message))
  }
}

/** The messages the phase logged while it ran, so the story after it does not repeat them. */
const printed = new Set<string>()

/**
 * No line the action prints holds a runner command it did not write: every
 * message goes through logLine, warnings and errors too (their command format
 * escapes line breaks, but a `##[` inside would be data only as long as the
 * runner parses the `::warning::` form first).
 */
const reporter: Reporter = {
  info: (m) => {
    printed.add(m)
    core.info(logLine(m))
  },
  warning: (m) => {
    printed.add(m)
    core.warning(logLine(m))
  },
  notice: (m) => {
    printed.add(m)
    core.notice(logLine(m))
  },
  debug: (m) => core.debug(logLine(m)),
  secret: (v) => core.setSecret(v),
}

/** After the phase: one line per change, the summary's notes and warnings not yet logged, the outcome. */
function logStory(result: PhaseResult): void {
  const story = phaseStory(result, printed)
  for (const w of story.warnings) core.warning(logLine(w))
  for (const line of story.info) core.info(logLine(line))
}

/**
 * admin-url, replica-urls, pgbouncer-urls and PGPASSWORD are masked before anything else runs:
 * each URI in every form its password can take (see uriSecrets).
 */
function maskConnectionSecrets(): void {
  const uris = [
    core.getInput('admin-url'),
    ...core.getInput('replica-urls').split(/\r?\n/),
    ...splitUriList(core.getInput('pgbouncer-urls')),
  ]
    .map((u) => u.trim())
    .filter(Boolean)
  for (const uri of uris) maskUriSecrets(uri, reporter)
  if (process.env.PGPASSWORD) core.setSecret(process.env.PGPASSWORD)
  for (const name of ['seal-key', 'github-token']) {
    const v = core.getInput(name)
    if (v) core.setSecret(v)
  }
}

function setOutputs(r: PhaseResult): void {
  // Secrets were registered with core.setSecret by the phase before they existed anywhere else.
  const outputs: [string, string][] = []
  for (const [field, name] of Object.entries(OUTPUT_NAMES) as [keyof PhaseOutputs, string][]) {
    const value = r.outputs[field]
    if (value !== undefined) outputs.push([name, String(value)])
  }
  if (r.status) {
    const json = JSON.stringify(r.status)
    outputs.push([STATUS_OUTPUT, json])
    outputs.push([STATUS_FILE_OUTPUT, writeStatusFile(json, process.env.RUNNER_TEMP || tmpdir())])
  }
  core.setOutputs(outputs)
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  try {
    core.appendSummary(markdown)
  } catch (e) {
    core.warning(`Could not write the job summary: ${(e as Error).message}`)
  }
}
