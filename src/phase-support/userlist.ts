/**
 * The pgbouncer-userlist output: the auth_file lines of the logins that can log
 * in after the phase, each with its SCRAM verifier exactly as PostgreSQL stores
 * it. The verifier of a password the phase set is the one it computed; any other
 * comes from pg_authid when the admin may read it (superusers), else from the
 * copy the state keeps sealed under seal-key. When one is unknown, or with
 * password-encryption: server, nothing is emitted and a note says why: a list
 * missing a login that still logs in would lock that login out of PgBouncer.
 */
import type { Config } from '../inputs/config.js'
import type { Client } from '../postgres/db.js'
import { CAN_READ_AUTHID, READ_VERIFIERS } from '../postgres/statements.js'
import { quoteIdent, quoteLiteral } from '../inputs/names.js'
import { unsealCredentials, unsealVerifier } from '../crypto/seal.js'
import type { Reporter } from '../domain/reporter.js'
import { isScramVerifier, renderUserlist, verifierInUserlist, type UserlistEntry } from '../domain/userlist.js'

export const USERLIST_OUTPUT = 'pgbouncer-userlist'

/** What pg_authid holds for the family's roles (secret null: no password); null when the admin cannot read it. */
export type StoredSecrets = Record<string, string | null> | null

/** Reads the stored passwords of `roles` from pg_authid, or null when the admin may not (it is superuser-only). */
export async function readStoredSecrets(client: Client, roles: string[]): Promise<StoredSecrets> {
  try {
    if (!(await client.query(CAN_READ_AUTHID)).rows[0]?.readable) return null
    const rows: { name: string; secret: string | null }[] = (await client.query(READ_VERIFIERS, [roles])).rows
    return Object.fromEntries(rows.map((r) => [r.name, r.secret]))
  } catch {
    return null
  }
}

/** A sealed copy of a login's verifier: the state's (sealVerifier) or open's sealed credentials. */
export type SealedCopy = { kind: 'verifier'; sealed: string } | { kind: 'credentials'; sealed: string }

/** Where the verifier of a login the phase did not set a password for may come from. */
export interface VerifierSources {
  stored: StoredSecrets
  /** Sealed copies, tried in order when pg_authid cannot be read. */
  sealed: SealedCopy[]
}

export type Known = { login: string; verifier: string } | { login: string; missing: string }

/** The verifier of `login` from pg_authid, else from a sealed copy; or why it is unknown. */
export function knownVerifier(cfg: Pick<Config, 'group' | 'sealKey'>, login: string, sources: VerifierSources): Known {
  if (sources.stored) {
    const secret = sources.stored[login] ?? null
    if (isScramVerifier(secret)) return { login, verifier: secret }
    const what =
      secret === null
        ? 'has no password'
        : /^md5/.test(String(secret))
          ? 'has an md5 password'
          : 'has no SCRAM verifier'
    return {
      login,
      missing: `it ${what} in pg_authid, and PgBouncer needs the login's SCRAM verifier for SCRAM pass-through; set a SCRAM password (password_encryption = scram-sha-256) or let a rotation issue one`,
    }
  }
  let problem = ''
  for (const copy of sources.sealed) {
    if (!cfg.sealKey) {
      problem = 'the state keeps it sealed, but this step has no seal-key to open it'
      continue
    }
    try {
      if (copy.kind === 'verifier') {
        const v = unsealVerifier(copy.sealed, cfg.sealKey, { family: cfg.group })
        if (v.username === login && isScramVerifier(v.verifier)) return { login, verifier: v.verifier }
      } else {
        const { creds } = unsealCredentials(copy.sealed, cfg.sealKey, { family: cfg.group })
        const v = creds.verifier ?? (creds.userlist ? verifierInUserlist(creds.userlist, login) : null)
        if (creds.username === login && isScramVerifier(v)) return { login, verifier: v }
      }
    } catch (e) {
      problem = `its sealed copy could not be opened (${(e as Error).message})`
    }
  }
  const hint = `a superuser can read it (SELECT rolpassword FROM pg_authid WHERE rolname = ${quoteLiteral(login)}) to write its line by hand; pass seal-key to setup, open and close so the state keeps each verifier the action sets, sealed, for the next rotation`
  return {
    login,
    missing: `the admin cannot read pg_authid (superuser only), and ${problem || 'the state keeps no sealed copy of it (its password was set without seal-key, or outside this action)'}; ${hint}`,
  }
}

/**
 * The pgbouncer-userlist output for `entries` (in that order), masked before it
 * exists anywhere else, and a note for the summary; undefined output when a
 * verifier is missing or the server computes them.
 */
export function userlistOutput(
  cfg: Pick<Config, 'passwordEncryption'>,
  reporter: Reporter,
  entries: Known[],
): { userlist?: string; note: string } {
  if (cfg.passwordEncryption === 'server') {
    return {
      note: `${USERLIST_OUTPUT}: not emitted: with password-encryption: server the server computes the SCRAM verifier from the password and the action never sees it. For PgBouncer, use auth_query (docs/poolers.md), or password-encryption: scram-sha-256.`,
    }
  }
  const missing = entries.find((e): e is { login: string; missing: string } => 'missing' in e)
  if (missing) {
    return {
      note: `${USERLIST_OUTPUT}: not emitted, because the action does not know the SCRAM verifier of ${quoteIdent(missing.login)}, which the list must keep (a list without it would lock it out of PgBouncer): ${missing.missing}.`,
    }
  }
  const known = entries as UserlistEntry[]
  for (const e of known) reporter.secret(e.verifier)
  const userlist = renderUserlist(known)
  for (const line of userlist.split('\n')) reporter.secret(line)
  reporter.secret(userlist)
  return {
    userlist,
    note: `${USERLIST_OUTPUT}: the auth_file lines of ${known.map((e) => quoteIdent(e.login)).join(' and ')}, with their SCRAM verifiers as PostgreSQL stores them.`,
  }
}
