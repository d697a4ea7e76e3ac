import { describe, expect, it } from 'vitest'
import { InputError } from '../../src/domain/errors.js'
import {
  SEAL_KEY_MIN_LENGTH,
  SEAL_VERSION,
  SealError,
  sealCredentials,
  sealVerifier,
  unsealCredentials,
  unsealVerifier,
  type SealFailure,
} from '../../src/crypto/seal.js'

const KEY = 'k3y-from-a-secret/0123456789abcdef'
const CREDS = {
  username: 'app_b',
  password: 'Zq9.x~Lm-2Pw_8sTn4Vb7Hc1Jd6Fg3Kr0',
  databaseUrl: 'postgresql://app_b:Zq9.x~Lm-2Pw_8sTn4Vb7Hc1Jd6Fg3Kr0@db.internal:5432/shop?sslmode=verify-full',
}
const BINDING = { family: 'app', rotationId: '20261127T224400Z-3f9a1c' }

/** One sealing shared by the tests that only read it (each sealing costs a scrypt derivation). */
const SEALED = sealCredentials(CREDS, KEY, BINDING)

function sealError(fn: () => unknown): SealError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(SealError)
    expect(e).toBeInstanceOf(InputError)
    const err = e as SealError
    // Nothing secret, ever: not the key, the password, the URL, nor the sealed text.
    for (const secret of [KEY, CREDS.password, CREDS.databaseUrl, SEALED]) expect(err.message).not.toContain(secret)
    expect(err.message).not.toContain('\n')
    return err
  }
  throw new Error('expected a SealError')
}

/** A base64url character other than `c`, varying with the position `i`. */
function other(c: string, i: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let r = alphabet[(alphabet.indexOf(c) + 1 + (i % 63) + 64) % 64]
  if (r === c) r = alphabet[(alphabet.indexOf(c) + 1) % 64]
  return r
}

describe('the verifier and pgbouncer-userlist inside sealed credentials', () => {
  const verifier =
    'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$c3RvcmVka2V5c3RvcmVka2V5c3RvcmVka2V5c3RvcmU=:c2VydmVya2V5c2VydmVya2V5c2VydmVya2V5c2VydmU='
  const userlist = `"app_a" "${verifier}"\n"app_b" "${verifier}"`

  it('round-trip with the credentials', () => {
    const sealed = sealCredentials({ ...CREDS, verifier, userlist }, KEY, BINDING)
    expect(unsealCredentials(sealed, KEY, BINDING).creds).toEqual({ ...CREDS, verifier, userlist })
  })

  it('a value sealed by an earlier release (username, password and URL only) still opens, without them', () => {
    // SEALED holds exactly the payload earlier releases wrote: {u, p, d}.
    const { creds } = unsealCredentials(SEALED, KEY, BINDING)
    expect(creds).toEqual(CREDS)
    expect(creds.userlist).toBeUndefined()
  })

  it('a verifier sealed alone (the state keeps it) opens with unsealVerifier and is never taken for credentials', () => {
    const sealed = sealVerifier('app_b', verifier, KEY, BINDING)
    expect(unsealVerifier(sealed, KEY, { family: 'app' })).toEqual({ username: 'app_b', verifier })
    expect(sealError(() => unsealCredentials(sealed, KEY, BINDING)).reason).toBe('malformed')
    expect(sealError(() => unsealVerifier(sealed, KEY, { family: 'other' })).reason).toBe('family')
    expect(sealed).not.toContain('SCRAM')
  })
})

describe('sealCredentials / unsealCredentials', () => {
  it('round-trips the credentials and returns the binding', () => {
    const { creds, binding } = unsealCredentials(SEALED, KEY, { family: 'app' })
    expect(creds).toEqual(CREDS)
    expect(binding).toEqual(BINDING)
  })

  it('round-trips unusual family names, rotation ids and credentials', () => {
    const creds = { username: 'ÄpP "x".y', password: 'p@ss:w/rd?#&=+ ünï€ødé 🔑', databaseUrl: '' }
    const binding = { family: 'My.App "prod" ü.🔑', rotationId: 'a.b:c-d_e' }
    const sealed = sealCredentials(creds, KEY, binding)
    expect(sealed.split('.')).toHaveLength(7)
    expect(unsealCredentials(sealed, KEY, { family: binding.family, rotationId: binding.rotationId })).toEqual({
      creds,
      binding,
    })
  })

  it('starts with the version prefix and has seven base64url parts', () => {
    expect(SEAL_VERSION).toBe('pgrot1')
    expect(SEALED.startsWith('pgrot1.')).toBe(true)
    const parts = SEALED.split('.')
    expect(parts).toHaveLength(7)
    for (const p of parts.slice(1)) expect(p).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(parts[1], 'base64url').toString()).toBe('app')
    expect(Buffer.from(parts[2], 'base64url').toString()).toBe(BINDING.rotationId)
    expect(Buffer.from(parts[3], 'base64url')).toHaveLength(16) // salt
    expect(Buffer.from(parts[4], 'base64url')).toHaveLength(12) // nonce
    expect(SEALED).toMatch(/^[A-Za-z0-9_.-]+$/) // one line, no quoting needed anywhere
  })

  it('accepts surrounding whitespace (a trailing newline from an output or a file)', () => {
    expect(unsealCredentials(`  ${SEALED}\n`, KEY, { family: 'app' }).creds).toEqual(CREDS)
  })

  it('contains no piece of 8 characters or more of the password or the URL', () => {
    for (const secret of [CREDS.password, CREDS.databaseUrl]) {
      for (let i = 0; i + 8 <= secret.length; i++) expect(SEALED).not.toContain(secret.slice(i, i + 8))
    }
  })

  it('uses a fresh salt and nonce for every sealing', () => {
    const again = sealCredentials(CREDS, KEY, BINDING)
    const [a, b] = [SEALED.split('.'), again.split('.')]
    expect(b.slice(0, 3)).toEqual(a.slice(0, 3)) // version, family, rotation id
    expect(b[3]).not.toBe(a[3]) // salt
    expect(b[4]).not.toBe(a[4]) // nonce
    expect(b[6]).not.toBe(a[6]) // ciphertext
    expect(unsealCredentials(again, KEY, { family: 'app' }).creds).toEqual(CREDS)
  })

  it('refuses a wrong key, naming seal-key', () => {
    const err = sealError(() => unsealCredentials(SEALED, 'another-key-of-enough-length', { family: 'app' }))
    expect(err.input).toBe('seal-key')
    expect(err.reason).toBe('wrong-key')
    expect(err.message).toMatch(
      /^input 'seal-key': is not the key these credentials were sealed with; use the same seal-key/,
    )
  })

  it('refuses a key that differs only in case or by a trailing character', () => {
    expect(sealError(() => unsealCredentials(SEALED, KEY.toUpperCase(), { family: 'app' })).reason).toBe('wrong-key')
    expect(sealError(() => unsealCredentials(SEALED, `${KEY}x`, { family: 'app' })).reason).toBe('wrong-key')
  })

  it('requires a seal-key of at least 16 characters, when sealing and when unsealing', () => {
    expect(SEAL_KEY_MIN_LENGTH).toBe(16)
    const short = '0123456789abcde'
    for (const fn of [
      () => sealCredentials(CREDS, short, BINDING),
      () => unsealCredentials(SEALED, short, { family: 'app' }),
    ]) {
      const err = sealError(fn)
      expect(err.input).toBe('seal-key')
      expect(err.reason).toBe('key-too-short')
      expect(err.message).toContain('at least 16 characters')
      expect(err.message).not.toContain(short)
    }
    expect(sealError(() => sealCredentials(CREDS, '', BINDING)).message).toMatch(/^input 'seal-key': is empty/)
    // Sixteen characters are enough, counted as characters rather than bytes or UTF-16 units.
    expect(() => sealCredentials(CREDS, '0123456789abcdef', BINDING)).not.toThrow()
    expect(sealError(() => sealCredentials(CREDS, '🔑'.repeat(15), BINDING)).reason).toBe('key-too-short')
  })

  it('refuses credentials sealed for another family, saying which', () => {
    const err = sealError(() => unsealCredentials(SEALED, KEY, { family: 'billing' }))
    expect(err.input).toBe('sealed-credentials')
    expect(err.reason).toBe('family')
    expect(err.message).toBe(
      "input 'sealed-credentials': was sealed for the family 'app', not 'billing'; pass the sealed-credentials of a rotation of 'billing'",
    )
  })

  it('refuses credentials of another rotation when the rotation id is given', () => {
    expect(unsealCredentials(SEALED, KEY, { family: 'app', rotationId: BINDING.rotationId }).creds).toEqual(CREDS)
    const err = sealError(() =>
      unsealCredentials(SEALED, KEY, { family: 'app', rotationId: '20261201T000000Z-000000' }),
    )
    expect(err.reason).toBe('rotation')
    expect(err.message).toContain(`was sealed for rotation ${BINDING.rotationId}, not rotation 20261201T000000Z-000000`)
  })

  it('cannot be moved to another family or rotation by editing the header', () => {
    const parts = SEALED.split('.')
    const moved = [parts[0], Buffer.from('billing').toString('base64url'), ...parts.slice(2)].join('.')
    expect(sealError(() => unsealCredentials(moved, KEY, { family: 'billing' })).reason).toBe('altered')
    const otherRotation = [
      ...parts.slice(0, 2),
      Buffer.from('20261201T000000Z-000000').toString('base64url'),
      ...parts.slice(3),
    ].join('.')
    expect(sealError(() => unsealCredentials(otherRotation, KEY, { family: 'app' })).reason).toBe('altered')
  })

  it('refuses an unknown version, and text that is not a sealed value at all', () => {
    const v2 = sealError(() => unsealCredentials(SEALED.replace(/^pgrot1/, 'pgrot2'), KEY, { family: 'app' }))
    expect(v2.reason).toBe('version')
    expect(v2.message).toContain(
      "was sealed in format 'pgrot2', which this version of the action cannot open (it reads pgrot1)",
    )

    for (const text of ['hello', CREDS.password, CREDS.databaseUrl, `x${SEALED}`]) {
      const err = sealError(() => unsealCredentials(text, KEY, { family: 'app' }))
      expect(err.reason).toBe('not-sealed')
      expect(err.message).toBe(
        "input 'sealed-credentials': is not a sealed value (it must start with 'pgrot1.'); pass the sealed-credentials output of the open phase",
      )
    }
    expect(sealError(() => unsealCredentials('  ', KEY, { family: 'app' })).reason).toBe('empty')
  })

  it('refuses truncation at every point of the header and at a sample of points through the ciphertext', () => {
    const cuts = new Set<number>()
    for (let n = 1; n < 80; n++) cuts.add(n) // through the version, family, rotation id and salt
    for (let n = 80; n < SEALED.length; n += 23) cuts.add(n)
    for (let n = 1; n <= 6; n++) cuts.add(SEALED.length - n) // a few characters off the end
    const reasons = new Set<SealFailure>()
    for (const n of cuts) {
      const err = sealError(() => unsealCredentials(SEALED.slice(0, n), KEY, { family: 'app' }))
      reasons.add(err.reason)
    }
    // A cut inside the ciphertext leaves a well-formed value that fails authentication.
    expect([...reasons].sort()).toEqual(['altered', 'malformed', 'not-sealed'])
  })

  it('refuses single-character alterations: every position of the version, family and dots, a sample of the rest', () => {
    const parts = SEALED.split('.')
    const starts: number[] = []
    parts.reduce((at, p) => (starts.push(at), at + p.length + 1), 0)
    // Version, family and every dot: all positions (they fail before key derivation).
    const positions = new Set<number>()
    for (let i = 0; i < starts[2]; i++) positions.add(i)
    for (const s of starts.slice(1)) positions.add(s - 1)
    // Rotation id, salt, nonce, key check and ciphertext: each alteration costs a key
    // derivation (~0.1 s), so first, middle and last of each, every 4th character of
    // the rotation id and every 32nd of the ciphertext.
    for (let k = 2; k < 7; k++) {
      const len = parts[k].length
      for (const off of [0, len >> 1, len - 1]) positions.add(starts[k] + off)
    }
    for (let i = starts[2]; i < starts[3] - 1; i += 4) positions.add(i)
    for (let i = starts[6]; i < SEALED.length; i += 32) positions.add(i)

    const reasons = new Set<SealFailure>()
    for (const i of positions) {
      const c = SEALED[i]
      const replacement = c === '.' ? 'A' : other(c, i)
      const altered = SEALED.slice(0, i) + replacement + SEALED.slice(i + 1)
      expect(altered).not.toBe(SEALED)
      const err = sealError(() => unsealCredentials(altered, KEY, { family: 'app' }))
      reasons.add(err.reason)
    }
    expect(positions.size).toBeGreaterThan(40)
    // The key check is part of the header: altering it reads as a wrong key, which also fails.
    expect([...reasons].sort()).toEqual(['altered', 'family', 'malformed', 'not-sealed', 'version', 'wrong-key'].sort())
  })

  it('refuses a last character changed to one that decodes to the same bytes (non-canonical base64url)', () => {
    // In unpadded base64url the last character of a part may carry unused low bits;
    // a lenient decoder would ignore them and open the altered value.
    const parts = SEALED.split('.')
    for (let k = 1; k < parts.length; k++) {
      const p = parts[k]
      const bytes = Buffer.from(p, 'base64url')
      for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
        const q = p.slice(0, -1) + c
        if (q === p || !Buffer.from(q, 'base64url').equals(bytes)) continue
        const altered = [...parts.slice(0, k), q, ...parts.slice(k + 1)].join('.')
        expect(sealError(() => unsealCredentials(altered, KEY, { family: 'app' })).reason).toBe('malformed')
      }
    }
  })

  it('refuses padding, whitespace inside and standard base64 characters', () => {
    const parts = SEALED.split('.')
    for (const bad of [
      `${parts[6]}=`,
      `${parts[6].slice(0, 10)} ${parts[6].slice(10)}`,
      parts[6].replace(/[-_]/, '+'),
    ]) {
      if (bad === parts[6]) continue
      const altered = [...parts.slice(0, 6), bad].join('.')
      expect(sealError(() => unsealCredentials(altered, KEY, { family: 'app' })).reason).toBe('malformed')
    }
    expect(sealError(() => unsealCredentials(`${SEALED}.extra`, KEY, { family: 'app' })).message).toContain(
      'has 8 dot-separated parts instead of 7',
    )
  })

  it('derives the key with scrypt in well under a second', () => {
    const t0 = performance.now()
    sealCredentials(CREDS, KEY, BINDING)
    const ms = performance.now() - t0
    expect(ms).toBeLessThan(2000)
    expect(ms).toBeGreaterThan(5) // not a fast hash by mistake
  })
})
