import { describe, expect, it } from 'vitest'
import { hasReplayed, parseLsn } from '../../src/domain/replay.js'

describe('waiting for a replica to replay a commit', () => {
  it('reads WAL positions as PostgreSQL prints them', () => {
    expect(parseLsn('0/0')).toBe(0n)
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n)
    expect(() => parseLsn('16-B374D848')).toThrow(/not a WAL position/)
  })

  it('a replica has replayed the commit once its replay position reaches the insert position read after it', () => {
    expect(hasReplayed('0/3000148', '0/3000148', 8192)).toBe(true)
    expect(hasReplayed('0/3000200', '0/3000148', 8192)).toBe(true)
    expect(hasReplayed('0/3000100', '0/3000148', 8192)).toBe(false)
    expect(hasReplayed('1/0', '0/FFFFFFF0', 8192)).toBe(true)
  })

  it('a commit that ended exactly at a page boundary is replayed when the replica stopped there, before the next page header', () => {
    // 0/3002000 is a page boundary (8 KiB pages): the insert position then reads 24 bytes past it (short header).
    expect(hasReplayed('0/3002000', '0/3002018', 8192)).toBe(true)
    // At a segment start the header is the long one (40 bytes).
    expect(hasReplayed('0/4000000', '0/4000028', 8192)).toBe(true)
    // Not at the boundary, or not a header's length past it: still behind.
    expect(hasReplayed('0/3001FF8', '0/3002018', 8192)).toBe(false)
    expect(hasReplayed('0/3002000', '0/3002020', 8192)).toBe(false)
    // Other page sizes (--with-wal-blocksize).
    expect(hasReplayed('0/3004000', '0/3004018', 16384)).toBe(true)
    expect(hasReplayed('0/3002000', '0/3002018', 16384)).toBe(false)
  })
})
