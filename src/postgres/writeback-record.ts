import { close } from './db.js'
import type { AdminSession } from './session.js'
import { readState, type FamilyState, type WrittenBack } from '../domain/state.js'
import { READ_STATE_COMMENT, RECORD_TIMEOUTS, renderStep } from './statements.js'

/**
 * Sets (or, with null, clears) the state's `writtenBack` field on a second,
 * autocommit connection, so the record survives the phase's own transaction
 * failing afterwards. Close calls it while its transaction holds the family
 * lock and has not written the state yet, so no other phase can interleave;
 * it refuses unless the state still belongs to the open rotation `rotationId`.
 */
export async function recordWriteBack(
  session: AdminSession,
  group: string,
  rotationId: string,
  record: WrittenBack | null,
): Promise<void> {
  const client = await session.another()
  try {
    await client.query(RECORD_TIMEOUTS)
    const comment: string | null = (await client.query(READ_STATE_COMMENT, [group])).rows[0]?.comment ?? null
    const read = readState(comment, group)
    if (read.kind !== 'ok' || read.state.rotation?.id !== rotationId) {
      throw new Error(`the state of "${group}" is no longer that of rotation ${rotationId}`)
    }
    const { writtenBack: _previous, ...rest } = read.state
    const next: FamilyState = record ? { ...rest, writtenBack: record } : rest
    await client.query(renderStep({ kind: 'write-state', group, state: next }, 0).sql)
  } finally {
    await close(client)
  }
}
