import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'

/**
 * SCRAM-SHA-256 verifier as PostgreSQL stores it in pg_authid.rolpassword
 * (src/common/scram-common.c, scram_build_secret):
 *
 *   SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
 *
 * SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations)
 * StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
 * ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * Sending the verifier instead of the password keeps the plaintext out of the
 * server's statement log. Passwords are NFKC-normalised as an approximation of
 * SASLprep; generated passwords are ASCII, for which SASLprep is the identity.
 */
export const SCRAM_SALT_BYTES = 16
export const SCRAM_DEFAULT_ITERATIONS = 4096

export function scramVerifier(
  password: string,
  iterations: number = SCRAM_DEFAULT_ITERATIONS,
  salt: Buffer = randomBytes(SCRAM_SALT_BYTES),
): string {
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}

/**
 * One verifier per iteration count for `password`, computed once: the phase seals
 * and lists the very verifier (same salt) that the apply step sets, whatever
 * attempt of the transaction sets it.
 */
export function verifierOnce(password: string): (iterations: number) => string {
  const made = new Map<number, string>()
  return (iterations) => {
    let v = made.get(iterations)
    if (v === undefined) made.set(iterations, (v = scramVerifier(password, iterations)))
    return v
  }
}

export interface ParsedVerifier {
  iterations: number
  salt: Buffer
  storedKey: Buffer
  serverKey: Buffer
}

export function parseVerifier(verifier: string): ParsedVerifier {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier)
  if (!m) throw new Error('not a SCRAM-SHA-256 verifier')
  return {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2], 'base64'),
    storedKey: Buffer.from(m[3], 'base64'),
    serverKey: Buffer.from(m[4], 'base64'),
  }
}
