import { applyInTransaction } from '../apply.js'
import type { Config } from '../config.js'
import type { Client } from '../db.js'
import { planSetup } from '../plan.js'
import type { PhaseResult } from '../result.js'
import { credentialOutputs, finish, planContext, type PhaseDeps } from './common.js'

/** Creates what is missing of the family; issues a password only to a family that has none in use. */
export async function setup(client: Client, cfg: Config, deps: PhaseDeps): Promise<PhaseResult> {
  const applied = await applyInTransaction(client, cfg, deps.reporter, (obs) => planSetup(obs, cfg, planContext(deps)))
  const { plan, password } = applied
  const outputs = {
    username: plan.state.active,
    state: 'idle' as const,
    ...(plan.issue && password ? credentialOutputs(cfg, deps.reporter, plan.issue, password) : {}),
  }
  const notes = plan.noop ? [`Nothing to do: ${plan.noop}.`, ...plan.notes] : plan.notes
  return finish(client, cfg, outputs, applied.executed.map((s) => s.display), notes)
}
