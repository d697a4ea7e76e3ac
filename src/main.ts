/**
 * The GitHub Actions adapter: the only module that imports @actions/core.
 * Reads inputs, masks secrets, runs the phase, sets outputs, writes the job summary.
 */
import * as core from './actions-core.js'
import { parseConfig } from './config.js'
import { wasCommitted } from './errors.js'
import type { Reporter } from './reporter.js'
import type { PhaseResult } from './result.js'
import { renderFailureSummary, renderSummary } from './summary.js'

export async function run(): Promise<void> {
  maskConnectionSecrets()
  const phase = core.getInput('phase')
  try {
    const cfg = parseConfig((name) => core.getInput(name), process.env)
    // Loaded after the inputs are valid: a run that fails on input never loads pg or the phases.
    const { runPhase } = await import('./rotate.js')
    const result = await runPhase(cfg, { reporter })
    setOutputs(result)
    await writeSummary(renderSummary(result))
    if (result.failure) core.setFailed(result.failure)
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    await writeSummary(renderFailureSummary(phase, message, wasCommitted(e)))
    core.setFailed(message)
  }
}

const reporter: Reporter = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  secret: (v) => core.setSecret(v),
}

/** admin-url and PGPASSWORD are masked before anything else runs, including the password inside the URI. */
function maskConnectionSecrets(): void {
  const url = core.getInput('admin-url')
  if (url) {
    core.setSecret(url)
    const m = /^[a-z]+:\/\/([^@/?#]*)@/i.exec(url)
    const pw = m?.[1].includes(':') ? m[1].slice(m[1].indexOf(':') + 1) : ''
    if (pw) {
      core.setSecret(pw)
      try {
        const decoded = decodeURIComponent(pw)
        if (decoded !== pw) core.setSecret(decoded)
      } catch {
        // not valid percent-encoding: parseConfig reports it
      }
    }
    const q = /[?&]password=([^&#]*)/.exec(url)
    if (q?.[1]) core.setSecret(q[1])
  }
  if (process.env.PGPASSWORD) core.setSecret(process.env.PGPASSWORD)
  for (const name of ['seal-key', 'github-token']) {
    const v = core.getInput(name)
    if (v) core.setSecret(v)
  }
  for (const line of core.getInput('replica-urls').split(/\r?\n/)) {
    const u = line.trim()
    if (!u) continue
    core.setSecret(u)
    const m = /^[a-z]+:\/\/[^:@/?#]*:([^@/?#]*)@/i.exec(u)
    if (m?.[1]) core.setSecret(m[1])
  }
}

function setOutputs(r: PhaseResult): void {
  const o = r.outputs
  // Secrets were registered with core.setSecret by the phase before they existed anywhere else.
  const outputs: [string, string | number | boolean | undefined][] = [
    ['username', o.username],
    ['password', o.password],
    ['database-url', o.databaseUrl],
    ['previous-username', o.previousUsername],
    ['rotation-id', o.rotationId],
    ['state', o.state],
    ['remaining-connections', o.remainingConnections],
    ['drained', o.drained],
    ['sealed-credentials', o.sealedCredentials],
  ]
  for (const [name, value] of outputs) if (value !== undefined) core.setOutput(name, String(value))
  if (r.status) core.setOutput('status', JSON.stringify(r.status))
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  try {
    await core.summary.addRaw(markdown).write()
  } catch (e) {
    core.warning(`Could not write the job summary: ${(e as Error).message}`)
  }
}
