/** Pure rules for waiting on a replica's replay of a commit (see phase-support/replicas-wait.ts). */

/** A pg_lsn in its text form ("16/B374D848") as a number of bytes. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn)
  if (!m) throw new Error(`internal: not a WAL position: ${JSON.stringify(lsn)}`)
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`)
}

/** Page header sizes of the WAL: a long one opens each segment, a short one every other page. */
const PAGE_HEADERS = [24n, 40n]

/**
 * Whether a replica that has replayed up to `replayed` has replayed everything
 * before `target`, the primary's insert position read right after a commit.
 * When that commit ended exactly at a page boundary, the insert position points
 * past the next page's header, which no record ends at: a replay that stopped
 * at that boundary has replayed the commit.
 */
export function hasReplayed(replayed: string, target: string, blockSize: number): boolean {
  const done = parseLsn(replayed)
  const want = parseLsn(target)
  if (done >= want) return true
  const offset = want % BigInt(blockSize)
  return PAGE_HEADERS.includes(offset) && done === want - offset
}

/** "3.1 s" for a wait in milliseconds. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}
