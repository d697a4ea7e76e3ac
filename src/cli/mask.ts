/**
 * What a person must not see unless they ask. Two kinds of secret:
 * - connection secrets (the passwords in admin-url, replica-urls and pgbouncer-urls in every
 *   form they can take, PGPASSWORD, seal-key, github-token): always shown as ***;
 * - the credentials a phase issues (registered through Reporter.secret: the new password and
 *   the database-url holding it): shown as *** unless --show-secrets.
 * The JSON output's values are not masked: the caller asked for them, and they go to a pipe; its
 * `error` (text for a person) is masked as the terminal is.
 */
import { splitUriList } from '../inputs/pooler-urls.js'
import type { InputReader } from '../inputs/config.js'
import { uriSecrets } from '../postgres/urls.js'

export const MASK = '***'

export class Masker {
  private readonly always = new Set<string>()
  private readonly issued = new Set<string>()
  private sorted: string[] | null = null

  constructor(private readonly showSecrets: boolean) {}

  /** A secret of the connection: never shown. */
  connection(value: string): void {
    this.add(this.always, value)
  }

  /** A credential the phase issued: shown only with --show-secrets. */
  issuedSecret(value: string): void {
    this.add(this.issued, value)
  }

  /** Text with every secret it must not show replaced by ***, longest first (a URL before its password). */
  mask(text: string): string {
    this.sorted ??= [...this.always, ...(this.showSecrets ? [] : this.issued)].sort((a, b) => b.length - a.length)
    let out = text
    for (const s of this.sorted) if (out.includes(s)) out = out.split(s).join(MASK)
    return out
  }

  private add(set: Set<string>, value: string): void {
    if (value === '' || set.has(value)) return
    set.add(value)
    this.sorted = null
  }
}

/** Registers the connection secrets of the inputs and environment, before anything runs. */
export function maskConnectionSecrets(masker: Masker, read: InputReader, env: NodeJS.ProcessEnv): void {
  const uris = [read('admin-url'), ...read('replica-urls').split(/\r?\n/), ...splitUriList(read('pgbouncer-urls'))]
    .map((u) => u.trim())
    .filter(Boolean)
  for (const uri of uris) for (const s of uriSecrets(uri)) masker.connection(s)
  if (env.PGPASSWORD) masker.connection(env.PGPASSWORD)
  for (const name of ['seal-key', 'github-token']) masker.connection(read(name))
}
