import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseVerifier, SCRAM_DEFAULT_ITERATIONS, SCRAM_SALT_BYTES, scramVerifier } from '../../src/crypto/scram.js'

const FORMAT = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/

/** Salt 00 01 02 ... 0f. */
const SALT = Buffer.from([...Array(16).keys()])

/** RFC 5802 / RFC 7677, spelled out step by step, independently of src/crypto/scram.ts. */
function referenceVerifier(password: string, iterations: number, salt: Buffer): string {
  // Hi(password, salt, i) is PBKDF2 with HMAC-SHA-256 and a 32-byte output.
  // Computed here by hand (U1 = HMAC(p, salt || INT(1)), Ui = HMAC(p, Ui-1), XOR of all) rather than with pbkdf2Sync.
  const key = Buffer.from(password, 'utf8')
  let u = createHmac('sha256', key)
    .update(Buffer.concat([salt, Buffer.from([0, 0, 0, 1])]))
    .digest()
  const salted = Buffer.from(u)
  for (let i = 1; i < iterations; i++) {
    u = createHmac('sha256', key).update(u).digest()
    for (let j = 0; j < salted.length; j++) salted[j] ^= u[j]
  }
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}

describe('scramVerifier', () => {
  it('has the pg_authid format SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>', () => {
    const v = scramVerifier('secret-password-123')
    const m = FORMAT.exec(v)
    expect(m).not.toBeNull()
    expect(Number(m![1])).toBe(SCRAM_DEFAULT_ITERATIONS)
    expect(Buffer.from(m![2], 'base64')).toHaveLength(16)
    expect(Buffer.from(m![3], 'base64')).toHaveLength(32)
    expect(Buffer.from(m![4], 'base64')).toHaveLength(32)
  })

  it('uses a random 16-byte salt by default, so two verifiers of one password differ', () => {
    expect(SCRAM_SALT_BYTES).toBe(16)
    const a = parseVerifier(scramVerifier('same password'))
    const b = parseVerifier(scramVerifier('same password'))
    expect(a.salt).toHaveLength(16)
    expect(b.salt).toHaveLength(16)
    expect(a.salt.equals(b.salt)).toBe(false)
    expect(a.storedKey.equals(b.storedKey)).toBe(false)
  })

  it('is deterministic for a given password, iteration count and salt', () => {
    expect(scramVerifier('pencil', 4096, SALT)).toBe(scramVerifier('pencil', 4096, Buffer.from(SALT)))
  })

  it('defaults to 4096 iterations, the PostgreSQL default', () => {
    expect(SCRAM_DEFAULT_ITERATIONS).toBe(4096)
    expect(scramVerifier('pencil', undefined, SALT)).toBe(scramVerifier('pencil', 4096, SALT))
  })

  it.each([1, 2, 4096, 10_000])('uses the iteration count passed (%i) in the prefix and in the derivation', (n) => {
    const v = scramVerifier('pencil', n, SALT)
    expect(v.startsWith(`SCRAM-SHA-256$${n}:`)).toBe(true)
    expect(v).toBe(referenceVerifier('pencil', n, SALT))
  })

  it('gives different keys for different iteration counts, salts and passwords', () => {
    const base = parseVerifier(scramVerifier('pencil', 4096, SALT))
    const otherIter = parseVerifier(scramVerifier('pencil', 4097, SALT))
    const otherSalt = parseVerifier(scramVerifier('pencil', 4096, Buffer.alloc(16, 7)))
    const otherPw = parseVerifier(scramVerifier('pencil2', 4096, SALT))
    for (const o of [otherIter, otherSalt, otherPw]) {
      expect(o.storedKey.equals(base.storedKey)).toBe(false)
      expect(o.serverKey.equals(base.serverKey)).toBe(false)
    }
  })

  it('matches a step-by-step RFC 5802 computation for generated-style passwords', () => {
    for (const pw of ['pencil', 'A-z0._~9', 'x'.repeat(64), 'Zq7~-._abcdefghijKLMNOP0123456789']) {
      expect(scramVerifier(pw, 4096, SALT)).toBe(referenceVerifier(pw, 4096, SALT))
    }
  })

  it('derives SaltedPassword with PBKDF2-HMAC-SHA-256 (cross-checked with pbkdf2Sync)', () => {
    const salted = pbkdf2Sync('pencil', SALT, 4096, 32, 'sha256')
    const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest()
    const serverKey = createHmac('sha256', salted).update('Server Key').digest()
    const p = parseVerifier(scramVerifier('pencil', 4096, SALT))
    expect(p.storedKey.equals(storedKey)).toBe(true)
    expect(p.serverKey.equals(serverKey)).toBe(true)
  })

  it('reproduces a fixed vector (regression check; computed with Python hashlib)', () => {
    expect(scramVerifier('pencil', 4096, SALT)).toBe(
      'SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=',
    )
    expect(scramVerifier('pencil', 1, SALT)).toBe(
      'SCRAM-SHA-256$1:AAECAwQFBgcICQoLDA0ODw==$ulPBEMD7pdxjBcsUkN1eHH+6PaNEw+VlbDgOlKfXVz0=:FLxfly9TUma+46jkj8QyTfQMWRqeNyK1YOt6NKVPr/I=',
    )
  })

  // Verifiers PostgreSQL 18 stored in pg_authid.rolpassword (CREATE ROLE ... PASSWORD '<password>'
  // with password_encryption = scram-sha-256 and the given scram_iterations).
  it.each([
    [
      'pencil',
      'SCRAM-SHA-256$4096:fqQeOLso0RGFYIuJVtlLwA==$coIJ2tu8aX2RBBrmEcYPmty3TsYsTqx23geAQP4tIpQ=:wJAYVXcuhArgmytPCs2KgCVyPi8H1Dq5ygkoOn+/GLU=',
    ],
    [
      'correct horse battery staple',
      'SCRAM-SHA-256$10000:hI1tjrv3NLeUX8pgIg71ZA==$NaF78GMAWjY+5WC/rtmQ8Tzi+2zxOIarEoEBCUdcdPw=:1kc+HLOefBF9RY+x5zVSezXx1nItpSdT4vb5JGoQla4=',
    ],
    [
      'A-z0._~9',
      'SCRAM-SHA-256$4096:c/r/tTRM/aPo04dgpPA/hA==$WzBBeumt+qWpGcLc8EBlhUBqAtnb2a40OjqGFrLnZP0=:2IKoNJLGeebGaAEH+e9yW/lwaT4SeMxVtiWvMWeVwYs=',
    ],
  ])(
    'reproduces the verifier PostgreSQL itself computed for %j from its salt and iteration count',
    (password, stored) => {
      const p = parseVerifier(stored)
      expect(scramVerifier(password, p.iterations, p.salt)).toBe(stored)
    },
  )

  it('NFKC-normalises the password (an approximation of SASLprep): full-width letters equal ASCII', () => {
    expect(scramVerifier('\uFF21\uFF22', 4096, SALT)).toBe(scramVerifier('AB', 4096, SALT))
    expect(scramVerifier('\uFF21\uFF22', 4096, SALT)).toBe(
      'SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$mlQUDtkMOb2gKJ4ktglPRozMfjikwYZGgmu647PclSY=:1xHlDFGtsy4f1+B5eOvj6s+40hONSuUoVrAF9Vjs45Q=',
    )
  })
})

describe('parseVerifier', () => {
  it('round-trips: the parsed parts rebuild the same verifier', () => {
    const v = scramVerifier('round-trip-password', 5000, SALT)
    const p = parseVerifier(v)
    expect(p.iterations).toBe(5000)
    expect(p.salt.equals(SALT)).toBe(true)
    expect(p.storedKey).toHaveLength(32)
    expect(p.serverKey).toHaveLength(32)
    expect(
      `SCRAM-SHA-256$${p.iterations}:${p.salt.toString('base64')}$${p.storedKey.toString('base64')}:${p.serverKey.toString('base64')}`,
    ).toBe(v)
    expect(scramVerifier('round-trip-password', p.iterations, p.salt)).toBe(v)
  })

  it('round-trips random-salt verifiers too', () => {
    for (let i = 0; i < 5; i++) {
      const v = scramVerifier(`pw-${i}-xxxxxxxxxxxxxxxx`, 4096)
      const p = parseVerifier(v)
      expect(scramVerifier(`pw-${i}-xxxxxxxxxxxxxxxx`, p.iterations, p.salt)).toBe(v)
    }
  })

  it.each([
    '',
    'pencil',
    'md5' + 'a'.repeat(32),
    'SCRAM-SHA-1$4096:AAAA$BBBB:CCCC',
    'SCRAM-SHA-256$:AAAA$BBBB:CCCC',
    'SCRAM-SHA-256$4096:AAAA$BBBB',
    'SCRAM-SHA-256$4096:AA AA$BBBB:CCCC',
    'SCRAM-SHA-256$4096:AAAA$BBBB:CCCC:DDDD',
    ' SCRAM-SHA-256$4096:AAAA$BBBB:CCCC',
  ])('rejects %j, which is not a SCRAM-SHA-256 verifier', (text) => {
    expect(() => parseVerifier(text)).toThrow(/not a SCRAM-SHA-256 verifier/)
  })
})
