import { randomInt } from 'node:crypto'
import { MIN_PASSWORD_LENGTH } from './limits.js'

export { MIN_PASSWORD_LENGTH }

/** RFC 3986 unreserved characters: safe in a URI userinfo without escaping. */
export const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'

/** A password from a cryptographically secure source (uniform over the alphabet). */
export function generatePassword(length: number): string {
  if (!Number.isInteger(length) || length < MIN_PASSWORD_LENGTH) {
    throw new RangeError(`password length must be an integer of at least ${MIN_PASSWORD_LENGTH}`)
  }
  let out = ''
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]
  return out
}
