import { createCipheriv, createDecipheriv, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { InputError } from '../domain/errors.js'
import { SEAL_KEY_MIN_LENGTH } from './limits.js'

export { SEAL_KEY_MIN_LENGTH }

/**
 * Sealed credentials: the new login's username, password and database URL,
 * encrypted so they can travel as a job output (the runner drops outputs that
 * contain a masked value) and be opened in a later job that knows `seal-key`.
 *
 *   pgrot1.<family>.<rotation id>.<salt>.<nonce>.<key check>.<ciphertext+tag>
 *
 * Every part is unpadded base64url, so the text is one line without `.` inside
 * a part. The key comes from `seal-key` by scrypt (N=2^15, r=8, p=1, 16-byte
 * random salt per sealing); its first 32 bytes are the AES-256-GCM key, the
 * next 8 a key check, so a wrong key is told apart from an altered value
 * (the check is as costly to test as the ciphertext, so it helps no guesser).
 * The whole header, family and rotation id included, is the associated data:
 * changing any character of it makes opening fail. Nonces are random, 12 bytes.
 */
export const SEAL_VERSION = 'pgrot1'

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const
const SALT_BYTES = 16
const NONCE_BYTES = 12
const TAG_BYTES = 16
const CHECK_BYTES = 8
const KEY_BYTES = 32
const PARTS = 7
/** Far above any real value (a password is at most 1024 characters); keeps garbage from being parsed. */
const MAX_SEALED_LENGTH = 64 * 1024

/** In plaintext: what sealCredentials encrypts into the sealed string and unsealCredentials returns. */
export interface Credentials {
  username: string
  password: string
  databaseUrl: string
  /**
   * The login's SCRAM-SHA-256 verifier as the action set it (absent with password-encryption: server,
   * and in values sealed by releases before pgbouncer-userlist).
   */
  verifier?: string
  /** The pgbouncer-userlist output of the phase that sealed the credentials, when it had one. */
  userlist?: string
}

/** What a sealed value belongs to: the group role (family) and the rotation that issued it. */
export interface SealBinding {
  family: string
  rotationId: string
}

export type SealFailure =
  'key-too-short' | 'empty' | 'not-sealed' | 'version' | 'malformed' | 'family' | 'rotation' | 'wrong-key' | 'altered'

/** Sealing or unsealing failed. Names the input at fault; never carries a secret or the sealed text. */
export class SealError extends InputError {
  constructor(
    input: 'sealed-credentials' | 'seal-key',
    readonly reason: SealFailure,
    message: string,
  ) {
    super(input, message)
    this.name = 'SealError'
  }
}

/** Encrypts the credentials with a key derived from `key`, bound to the family and rotation. */
export function sealCredentials(creds: Credentials, key: string, binding: SealBinding): string {
  checkKey(key)
  for (const field of ['username', 'password', 'databaseUrl'] as const) {
    if (typeof creds[field] !== 'string') throw new TypeError(`sealCredentials: ${field} must be a string`)
  }
  for (const field of ['verifier', 'userlist'] as const) {
    if (creds[field] !== undefined && typeof creds[field] !== 'string')
      throw new TypeError(`sealCredentials: ${field} must be a string`)
  }
  const payload = {
    u: creds.username,
    p: creds.password,
    d: creds.databaseUrl,
    ...(creds.verifier !== undefined ? { v: creds.verifier } : {}),
    ...(creds.userlist !== undefined ? { l: creds.userlist } : {}),
  }
  return sealPayload(payload, key, binding)
}

/**
 * Seals one login's SCRAM verifier alone (no password), for the state comment:
 * the next open lists it in pgbouncer-userlist when the admin cannot read
 * pg_authid. unsealCredentials refuses it (it holds no credentials).
 */
export function sealVerifier(username: string, verifier: string, key: string, binding: SealBinding): string {
  checkKey(key)
  return sealPayload({ u: username, v: verifier }, key, binding)
}

/** Opens a value made by sealVerifier; checks the family only (it outlives its rotation). */
export function unsealVerifier(
  sealed: string,
  key: string,
  expected: { family: string },
): { username: string; verifier: string } {
  checkKey(key)
  const sealedParts = decodeParts(splitSealed(sealed))
  checkBinding(sealedParts, expected)
  const d = decryptPayload(sealedParts, key) as { u?: unknown; v?: unknown } | null
  if (!d || typeof d.u !== 'string' || typeof d.v !== 'string')
    throw fail('malformed', 'opened, but does not hold a verifier')
  return { username: d.u, verifier: d.v }
}

/** The envelope: header (version, binding, salt, nonce, key check) and the AES-256-GCM ciphertext of `payload` as JSON. */
function sealPayload(payload: Record<string, string>, key: string, binding: SealBinding): string {
  if (!binding.family) throw new TypeError('sealCredentials: family must not be empty')
  if (!binding.rotationId) throw new TypeError('sealCredentials: rotationId must not be empty')
  const salt = randomBytes(SALT_BYTES)
  const nonce = randomBytes(NONCE_BYTES)
  const { aesKey, check } = deriveKey(key, salt)
  const header = [
    SEAL_VERSION,
    b64(Buffer.from(binding.family, 'utf8')),
    b64(Buffer.from(binding.rotationId, 'utf8')),
    b64(salt),
    b64(nonce),
    b64(check),
  ].join('.')
  const plaintext = Buffer.from(JSON.stringify(payload), 'utf8')
  const cipher = createCipheriv('aes-256-gcm', aesKey, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(header, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  plaintext.fill(0)
  aesKey.fill(0)
  return `${header}.${b64(ciphertext)}`
}

/**
 * Opens a value made by sealCredentials. Checks, in this order: format and
 * version, the family (and the rotation id when `expected.rotationId` is given),
 * the key, then the authentication tag. Each failure is a SealError.
 */
export function unsealCredentials(
  sealed: string,
  key: string,
  expected: { family: string; rotationId?: string },
): { creds: Credentials; binding: SealBinding } {
  checkKey(key)
  const sealedParts = decodeParts(splitSealed(sealed))
  checkBinding(sealedParts, expected)
  const creds = decrypt(sealedParts, key)
  return { creds, binding: { family: sealedParts.family, rotationId: sealedParts.rotationId } }
}

/** The parts of a sealed value, decoded but not yet checked against a binding or a key. */
interface SealedParts {
  family: string
  rotationId: string
  salt: Buffer
  nonce: Buffer
  check: Buffer
  /** Ciphertext followed by the authentication tag. */
  ciphertext: Buffer
  /** Everything before the ciphertext: the associated data. */
  header: string
}

/** Splits the text into its seven parts; refuses anything that is not one sealed value of this version. */
function splitSealed(sealed: string): string[] {
  const text = sealed.trim()
  if (text === '') throw fail('empty', 'is empty; pass the sealed-credentials output of the open phase')
  if (text.length > MAX_SEALED_LENGTH)
    throw fail(
      'malformed',
      `is ${text.length} characters long, far more than a sealed value; pass the sealed-credentials output of the open phase`,
    )

  const parts = text.split('.')
  const version = parts[0]
  if (version !== SEAL_VERSION) {
    // Only echo something that looks like a version tag: the value itself could be a pasted secret.
    if (/^pgrot\d{1,4}$/.test(version)) {
      throw fail(
        'version',
        `was sealed in format '${version}', which this version of the action cannot open (it reads ${SEAL_VERSION}); open it with the action version that sealed it, or run open again`,
      )
    }
    throw fail(
      'not-sealed',
      `is not a sealed value (it must start with '${SEAL_VERSION}.'); pass the sealed-credentials output of the open phase`,
    )
  }
  if (parts.length !== PARTS) {
    throw fail(
      'malformed',
      `has ${parts.length} dot-separated parts instead of ${PARTS}: it was truncated or altered; pass the sealed-credentials output of the open phase unchanged`,
    )
  }
  return parts
}

/** Decodes each part strictly; the family and rotation id must be non-empty UTF-8. */
function decodeParts(parts: string[]): SealedParts {
  const familyBytes = decodePart(parts[1], 'family')
  const rotationBytes = decodePart(parts[2], 'rotation id')
  const salt = decodePart(parts[3], 'salt', SALT_BYTES)
  const nonce = decodePart(parts[4], 'nonce', NONCE_BYTES)
  const check = decodePart(parts[5], 'key check', CHECK_BYTES)
  const ciphertext = decodePart(parts[6], 'ciphertext')
  if (ciphertext.length <= TAG_BYTES)
    throw fail(
      'malformed',
      'is too short to hold credentials: it was truncated; pass the sealed-credentials output of the open phase unchanged',
    )

  const family = utf8(familyBytes)
  const rotationId = utf8(rotationBytes)
  if (family === null || rotationId === null || family === '' || rotationId === '') {
    throw fail(
      'malformed',
      'has an unreadable family or rotation id: it was altered; pass the sealed-credentials output of the open phase unchanged',
    )
  }
  const header = parts.slice(0, PARTS - 1).join('.')
  return { family, rotationId, salt, nonce, check, ciphertext, header }
}

/** A family name holding one is not echoed in a message (it could break the log line). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const CONTROL_CHARACTER = /[\0-\x1f\x7f]/

/** Refuses a value sealed for another family, or for another rotation when one is expected. */
function checkBinding(sealed: SealedParts, expected: { family: string; rotationId?: string }): void {
  const { family, rotationId } = sealed
  if (family !== expected.family) {
    const shown =
      Buffer.byteLength(family) <= 63 && !CONTROL_CHARACTER.test(family) ? `the family '${family}'` : 'another family'
    throw fail(
      'family',
      `was sealed for ${shown}, not '${expected.family}'; pass the sealed-credentials of a rotation of '${expected.family}'`,
    )
  }
  if (expected.rotationId !== undefined && rotationId !== expected.rotationId) {
    const shown = /^[A-Za-z0-9._:-]{1,100}$/.test(rotationId) ? `rotation ${rotationId}` : 'another rotation'
    throw fail(
      'rotation',
      `was sealed for ${shown}, not rotation ${expected.rotationId}; pass the sealed-credentials and rotation-id outputs of the same open phase`,
    )
  }
}

/** Derives the key, tells a wrong key from an altered value, decrypts and reads the credentials. */
function decrypt(sealed: SealedParts, key: string): Credentials {
  return parsePayload(decryptPayload(sealed, key))
}

/** Derives the key, tells a wrong key from an altered value, decrypts and parses the JSON payload (null: not JSON). */
function decryptPayload(sealed: SealedParts, key: string): unknown {
  const { ciphertext } = sealed
  const { aesKey, check: expectedCheck } = deriveKey(key, sealed.salt)
  try {
    if (!timingSafeEqual(sealed.check, expectedCheck)) {
      throw new SealError(
        'seal-key',
        'wrong-key',
        'is not the key these credentials were sealed with; use the same seal-key secret in the job that ran open and in this one',
      )
    }
    const decipher = createDecipheriv('aes-256-gcm', aesKey, sealed.nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(Buffer.from(sealed.header, 'ascii'))
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES))
    let plaintext: Buffer
    try {
      plaintext = Buffer.concat([
        decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)),
        decipher.final(),
      ])
    } catch {
      throw fail(
        'altered',
        'failed its integrity check: it was altered or truncated after sealing; pass the sealed-credentials output of the open phase unchanged',
      )
    }
    let data: unknown
    try {
      data = JSON.parse(plaintext.toString('utf8'))
    } catch {
      data = null
    }
    plaintext.fill(0)
    return data
  } finally {
    aesKey.fill(0)
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new SealError(
      'seal-key',
      'key-too-short',
      `is empty; give a random value of at least ${SEAL_KEY_MIN_LENGTH} characters from a secret (e.g. openssl rand -base64 32)`,
    )
  }
  if ([...key].length < SEAL_KEY_MIN_LENGTH) {
    throw new SealError(
      'seal-key',
      'key-too-short',
      `is shorter than ${SEAL_KEY_MIN_LENGTH} characters; give a random value of at least ${SEAL_KEY_MIN_LENGTH} characters from a secret (e.g. openssl rand -base64 32)`,
    )
  }
}

function deriveKey(key: string, salt: Buffer): { aesKey: Buffer; check: Buffer } {
  const out = scryptSync(Buffer.from(key, 'utf8'), salt, KEY_BYTES + CHECK_BYTES, SCRYPT)
  return { aesKey: out.subarray(0, KEY_BYTES), check: Buffer.from(out.subarray(KEY_BYTES)) }
}

/** Values sealed before the verifier and userlist were added hold only u, p and d: they read as before. */
function parsePayload(data: unknown): Credentials {
  const d = data as { u?: unknown; p?: unknown; d?: unknown; v?: unknown; l?: unknown } | null
  if (
    !d ||
    typeof d.u !== 'string' ||
    typeof d.p !== 'string' ||
    typeof d.d !== 'string' ||
    !['undefined', 'string'].includes(typeof d.v) ||
    !['undefined', 'string'].includes(typeof d.l)
  ) {
    throw fail(
      'malformed',
      'opened, but does not hold credentials; pass the sealed-credentials output of the open phase',
    )
  }
  return {
    username: d.u,
    password: d.p,
    databaseUrl: d.d,
    ...(typeof d.v === 'string' ? { verifier: d.v } : {}),
    ...(typeof d.l === 'string' ? { userlist: d.l } : {}),
  }
}

const b64 = (b: Buffer) => b.toString('base64url')

/** Strict base64url: only the alphabet, no padding, and canonical (re-encodes to the same text). */
function decodePart(part: string, what: string, bytes?: number): Buffer {
  const buf = /^[A-Za-z0-9_-]+$/.test(part) ? Buffer.from(part, 'base64url') : null
  if (!buf || buf.toString('base64url') !== part || (bytes !== undefined && buf.length !== bytes)) {
    throw fail(
      'malformed',
      `has an invalid ${what} part: it was truncated or altered; pass the sealed-credentials output of the open phase unchanged`,
    )
  }
  return buf
}

function utf8(b: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b)
  } catch {
    return null
  }
}

function fail(reason: SealFailure, message: string): SealError {
  return new SealError('sealed-credentials', reason, message)
}
