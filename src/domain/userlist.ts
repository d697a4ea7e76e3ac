/**
 * PgBouncer's auth_file (userlist.txt): one line per login, `"name" "secret"`,
 * a double quote inside either written twice. The secret here is always the
 * login's SCRAM-SHA-256 verifier exactly as PostgreSQL stores it: PgBouncer
 * then authenticates clients with it and, because it is the server's own
 * verifier (same salt and iterations), logs in to the server with the client's
 * proof (SCRAM pass-through). No plaintext password is ever written.
 */
export interface UserlistEntry {
  login: string
  verifier: string
}

/** The pgbouncer-userlist output: the lines of `entries`, in the order given, without a trailing newline. */
export function renderUserlist(entries: readonly UserlistEntry[]): string {
  return entries.map((e) => `${quote(e.login)} ${quote(e.verifier)}`).join('\n')
}

/** The verifier a userlist (as renderUserlist wrote it) gives `login`, or null. */
export function verifierInUserlist(userlist: string, login: string): string | null {
  for (const line of userlist.split('\n')) {
    const m = /^"((?:[^"]|"")*)" "((?:[^"]|"")*)"$/.exec(line)
    if (m && m[1].replace(/""/g, '"') === login) return m[2].replace(/""/g, '"')
  }
  return null
}

/** Only SCRAM verifiers go into the list: an md5 hash or a plaintext password cannot do SCRAM pass-through. */
export function isScramVerifier(secret: string | null | undefined): secret is string {
  return (
    typeof secret === 'string' && /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(secret)
  )
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`
