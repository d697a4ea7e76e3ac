import type { Phase } from './config.js'
import type { RoleInfo, SessionGroup } from './family.js'

export interface PhaseOutputs {
  username?: string
  password?: string
  databaseUrl?: string
  previousUsername?: string
  rotationId?: string
  state: 'idle' | 'open'
  remainingConnections?: number
  drained?: boolean
}

/** What a phase did, for outputs and the job summary. */
export interface PhaseResult {
  phase: Phase
  group: string
  outputs: PhaseOutputs
  /** Statements executed, with secrets replaced by '***'. */
  changes: string[]
  notes: string[]
  /** The family after the phase. */
  roles: { group: RoleInfo | null; logins: (RoleInfo | { name: string; missing: true })[] }
  sessions: SessionGroup[]
  /** Set when the phase reported outputs but must fail the step (verify-drain not drained). */
  failure?: string
}
