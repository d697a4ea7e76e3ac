import type { Phase } from './config.js'
import type { Drift } from './drift.js'
import type { RoleInfo, SessionGroup } from './family.js'
import type { FamilyState, OpenRotation } from './state.js'

/** The `status` phase's report, also set as the `status` output (JSON). */
export interface StatusReport {
  group: string
  state: 'idle' | 'open' | 'not set up' | 'unreadable'
  description: string
  active: string | null
  canLogin: Record<string, boolean>
  rotation: OpenRotation | null
  lastClosed: FamilyState['lastClosed']
  lastAborted: FamilyState['lastAborted'] | null
  passwordSetAt: Record<string, string>
  sessions: { login: string; server: string; database: string | null; applicationName: string; clientAddr: string | null; count: number }[]
  drift: Drift[]
}

export interface PhaseOutputs {
  username?: string
  password?: string
  databaseUrl?: string
  previousUsername?: string
  rotationId?: string
  state?: 'idle' | 'open'
  /** setup/open with seal-key: the credentials encrypted for other jobs. */
  sealedCredentials?: string
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
  /** The phase did not touch the database (unseal): no roles to show. */
  offline?: boolean
  /** Set by the status phase. */
  status?: StatusReport
}
