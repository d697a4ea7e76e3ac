import { describe, expect, it } from 'vitest'
import { generatePassword, MIN_PASSWORD_LENGTH, PASSWORD_ALPHABET } from '../../src/crypto/password.js'

describe('generatePassword', () => {
  it.each([16, 17, 32, 64, 128, 1024])('returns exactly %i characters', (n) => {
    expect(generatePassword(n)).toHaveLength(n)
  })

  it('uses only RFC 3986 unreserved characters, so it needs no escaping in a URI', () => {
    for (let i = 0; i < 200; i++) {
      const p = generatePassword(32)
      expect(p).toMatch(/^[A-Za-z0-9._~-]+$/)
      expect(encodeURIComponent(p)).toBe(p)
    }
  })

  it('draws only from PASSWORD_ALPHABET, which is the 66 unreserved characters without duplicates', () => {
    expect(PASSWORD_ALPHABET).toHaveLength(66)
    expect(new Set(PASSWORD_ALPHABET).size).toBe(66)
    expect(encodeURIComponent(PASSWORD_ALPHABET)).toBe(PASSWORD_ALPHABET)
    const allowed = new Set(PASSWORD_ALPHABET)
    for (const c of generatePassword(1024)) expect(allowed.has(c)).toBe(true)
  })

  it('contains no character that needs quoting in SQL literals, shells or JSON', () => {
    for (let i = 0; i < 50; i++) expect(generatePassword(64)).not.toMatch(/['"\\$`\s%@:/?#&=+]/)
  })

  it('enforces the minimum length of 16', () => {
    expect(MIN_PASSWORD_LENGTH).toBe(16)
    expect(() => generatePassword(15)).toThrow(RangeError)
    expect(() => generatePassword(0)).toThrow(/at least 16/)
    expect(() => generatePassword(-32)).toThrow(RangeError)
  })

  it('refuses lengths that are not whole numbers', () => {
    expect(() => generatePassword(20.5)).toThrow(RangeError)
    expect(() => generatePassword(Number.NaN)).toThrow(RangeError)
    expect(() => generatePassword(Number.POSITIVE_INFINITY)).toThrow(RangeError)
  })

  it('gives a different password every time (1000 samples are all distinct)', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) seen.add(generatePassword(16))
    expect(seen.size).toBe(1000)
  })

  it('uses every character of the alphabet, roughly uniformly, over many samples', () => {
    const counts = new Map<string, number>()
    const sample = Array.from({ length: 200 }, () => generatePassword(330)).join('') // 66,000 characters
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1)
    expect([...counts.keys()].sort()).toEqual([...PASSWORD_ALPHABET].sort())
    // Expected 1000 per character; a uniform source stays far inside these bounds.
    for (const [, n] of counts) {
      expect(n).toBeGreaterThan(800)
      expect(n).toBeLessThan(1200)
    }
  })
})
