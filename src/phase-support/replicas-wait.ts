/**
 * After a commit, before anything is reported: wait until every replica of
 * replica-urls has replayed it, so the credentials a phase hands out log in
 * there, and a login it disabled no longer does.
 */
import type { Config } from '../inputs/config.js'
import { hasReplayed, seconds } from '../domain/replay.js'
import type { ReplayPosition } from '../postgres/replicas.js'
import { WAL_POSITION } from '../postgres/statements.js'
import type { ReplicaStatus } from '../domain/result.js'
import type { PhaseDeps } from './deps.js'

/** How long past replica-timeout a poll (query or reconnect) of a stalled replica may run. */
const POLL_MARGIN_MS = 500

/** First poll interval; it doubles up to MAX_POLL_MS. */
const FIRST_POLL_MS = 50
const MAX_POLL_MS = 1000

/** A replica that did not replay the commit within replica-timeout; the message says by how much. */
export class ReplicaLagError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ReplicaLagError'
  }
}

/**
 * Waits (with the run's clock, up to replica-timeout) until every replica has
 * replayed everything the primary had written when this is called: call it
 * right after the commit, on the admin connection that made it. Logs and
 * returns one note per replica with the lag it waited for. Throws a
 * ReplicaLagError naming each replica still behind, ending with `next` (what
 * to do); the caller says what was committed.
 */
export async function waitForReplicas(cfg: Config, deps: PhaseDeps, next: string): Promise<string[]> {
  const replicas = deps.replicas
  if (!replicas.count) return []
  const { lsn, block_size: blockSize } = (await deps.session.client.query(WAL_POSITION)).rows[0]
  const start = deps.now().getTime()
  const deadline = start + cfg.replicaTimeoutMs
  const first = new Map<number, ReplayPosition>()
  const last = new Map<number, ReplayPosition>()
  const pending = new Set(Array.from({ length: replicas.count }, (_, i) => i))
  const notes: string[] = []
  let poll = FIRST_POLL_MS
  for (;;) {
    for (const i of [...pending]) {
      let pos: ReplayPosition
      try {
        // The poll may take only the time left (the run's clock; the replica's by Date.now()).
        const left = Math.max(0, deadline - deps.now().getTime())
        pos = await replicas.replayPosition(i, lsn, Date.now() + left + POLL_MARGIN_MS)
      } catch (e) {
        if (deps.now().getTime() < deadline) throw e
        throw new ReplicaLagError(
          `after waiting ${seconds(deps.now().getTime() - start)} (replica-timeout) ${replicas.describe(i)} did not answer whether it replayed the commit (WAL ${lsn}): ${(e as Error).message} ${next} Check the replica; raise replica-timeout if it is slow on purpose.`,
        )
      }
      const firstPos = first.get(i) ?? pos
      first.set(i, firstPos)
      last.set(i, pos)
      if (!hasReplayed(pos.replayed, lsn, blockSize)) continue
      pending.delete(i)
      const waited = deps.now().getTime() - start
      const was = firstPos.behind
      const note =
        was > 0n
          ? `${capital(replicas.describe(i))} replayed the commit (WAL ${lsn}) after ${seconds(waited)}; it was ${was} bytes behind.`
          : `${capital(replicas.describe(i))} had already replayed the commit (WAL ${lsn}).`
      deps.reporter.info(note)
      notes.push(note)
    }
    if (pending.size === 0) return notes
    const now = deps.now().getTime()
    if (now >= deadline) break
    await deps.sleep(Math.min(poll, deadline - now))
    poll = Math.min(poll * 2, MAX_POLL_MS)
  }
  const waited = seconds(deps.now().getTime() - start)
  const lagging = [...pending].map((i) => describeLag(replicas.describe(i), last.get(i) as ReplayPosition, lsn))
  throw new ReplicaLagError(
    `after waiting ${waited} (replica-timeout) ${lagging.join('; ')}. ${next} Raise replica-timeout if the replica lags that much on purpose.`,
  )
}

/** Each replica's replay position relative to what the primary has written now (the status phase). */
export async function replicaStatus(deps: PhaseDeps): Promise<ReplicaStatus[]> {
  const { lsn } = (await deps.session.client.query(WAL_POSITION)).rows[0]
  const out: ReplicaStatus[] = []
  for (let i = 0; i < deps.replicas.count; i++) {
    const pos = await deps.replicas.replayPosition(i, lsn)
    out.push({
      replica: deps.replicas.describe(i),
      behindBytes: pos.behind > 0n ? Number(pos.behind) : 0,
      lastReplayAgeS: pos.replayAgeS,
      applyDelay: pos.applyDelay,
    })
  }
  return out
}

function describeLag(replica: string, pos: ReplayPosition, lsn: string): string {
  const parts = [
    `${replica} has not replayed the commit (WAL ${lsn}): it is ${pos.behind} bytes behind (replayed up to ${pos.replayed}`,
  ]
  parts[0] += pos.received === null ? ', receives nothing by streaming)' : `, received up to ${pos.received})`
  if (pos.replayAgeS !== null) parts.push(`the last transaction it replayed committed ${pos.replayAgeS} s ago`)
  if (pos.applyDelay !== '0' && pos.applyDelay !== '0ms')
    parts.push(`its recovery_min_apply_delay is ${pos.applyDelay}, so it applies every commit that late`)
  return parts.join(', ')
}

const capital = (s: string): string => s[0].toUpperCase() + s.slice(1)
