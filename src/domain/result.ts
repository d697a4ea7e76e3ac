import type { Phase } from '../inputs/config.js'
import type { Drift } from './drift.js'
import type { PoolerView } from './drain-rule.js'
import type { RoleInfo, SessionGroup } from './family.js'
import type { FamilyState, OpenRotation, WrittenBack } from './state.js'

/** The `status` phase's report, also set as the `status` output (JSON). */
export interface StatusReport {
  group: string
  state: 'idle' | 'open' | 'not set up' | 'unreadable'
  description: string
  active: string | null
  canLogin: Record<string, boolean>
  /** The open rotation, without its sealed credentials. */
  rotation: Omit<OpenRotation, 'sealed' | 'verifier'> | null
  lastClosed: FamilyState['lastClosed']
  lastAborted: FamilyState['lastAborted'] | null
  passwordSetAt: Record<string, string>
  /** close wrote (or was writing) these credentials to GitHub secrets while the rotation is still open. */
  writtenBack: WrittenBack | null
  /** As the phase saw them, each with its server named ('primary' for the admin connection's). */
  sessions: (SessionGroup & { server: string })[]
  drift: Drift[]
  /** pgbouncer-urls: per pooler its version, pool modes, clients and server connections per login. */
  poolers?: PoolerStatus[]
  /** replica-urls: how far each replica's replay is behind the primary (what replica-timeout must cover). */
  replicas?: ReplicaStatus[]
}

export interface ReplicaStatus {
  /** "host:port (replica-urls line n)". */
  replica: string
  /** Bytes of WAL the primary had written that the replica has not replayed yet. */
  behindBytes: number
  /** Age of the last transaction the replica replayed, in seconds (on an idle primary, the time since its last write). */
  lastReplayAgeS: number | null
  /** Its recovery_min_apply_delay ("0" when unset). */
  applyDelay: string
}

export interface PoolerStatus extends PoolerView {
  poolModes: string[]
  /** Database entries that force one server user: the server then sees only that user. */
  forcedUsers: { database: string; user: string }[]
}

export interface PhaseOutputs {
  username?: string
  password?: string
  databaseUrl?: string
  /** PgBouncer auth_file lines (SCRAM verifiers) of the logins that can log in after the phase. */
  pgbouncerUserlist?: string
  previousUsername?: string
  rotationId?: string
  state?: 'idle' | 'open'
  /** setup/open with seal-key: the credentials encrypted for other jobs. */
  sealedCredentials?: string
  remainingConnections?: number
  drained?: boolean
}

/**
 * The action's outputs, in action.yml's order: the output each field of PhaseOutputs is set as,
 * then STATUS_OUTPUT (the status report as JSON). test/unit/action-metadata.test.ts fails when
 * action.yml lists other outputs.
 */
export const OUTPUT_NAMES = {
  username: 'username',
  password: 'password',
  databaseUrl: 'database-url',
  pgbouncerUserlist: 'pgbouncer-userlist',
  previousUsername: 'previous-username',
  rotationId: 'rotation-id',
  state: 'state',
  remainingConnections: 'remaining-connections',
  drained: 'drained',
  sealedCredentials: 'sealed-credentials',
} as const satisfies { readonly [K in keyof PhaseOutputs]-?: string }
export const STATUS_OUTPUT = 'status'
/** The path of a file holding the status JSON (written by the adapter). */
export const STATUS_FILE_OUTPUT = 'status-file'
/** Every output name, in action.yml's order. */
export const OUTPUTS: readonly string[] = [...Object.values(OUTPUT_NAMES), STATUS_OUTPUT, STATUS_FILE_OUTPUT]

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
  /** verify-drain/close/abort with pgbouncer-urls: what each pooler showed at the last look. */
  poolers?: PoolerView[]
}
