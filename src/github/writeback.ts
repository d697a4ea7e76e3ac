import type { Config } from '../inputs/config.js'
import type { SecretOutput } from '../inputs/secret-map.js'
import type { Reporter } from '../domain/reporter.js'
import type { Clock } from '../domain/clock.js'
import type { Credentials } from '../crypto/seal.js'

/** GitHub requests made while the family lock is held: 10 s each, one retry. */
export const UNDER_LOCK = { requestTimeoutMs: 10_000, retryDelaysMs: [1000] } as const

/** What writing back uses of a phase's dependencies (a PhaseDeps is one): the reporter, and the clock its retries wait on. */
export type WriteBackDeps = Clock & { reporter: Reporter }

/**
 * Writes the issued credentials to GitHub secrets (github-secrets maps secret
 * names to outputs). The GitHub client is loaded only here, when write-back is
 * configured.
 */
export async function writeBack(
  cfg: Config,
  creds: Credentials,
  deps: WriteBackDeps,
  limits: { requestTimeoutMs?: number; retryDelaysMs?: readonly number[] } = {},
): Promise<string[]> {
  const { reporter } = deps
  const gh = cfg.github
  if (!gh) return []
  const { writeSecrets } = await import('./secrets.js')
  const value: Record<SecretOutput, string> = {
    username: creds.username,
    password: creds.password,
    'database-url': creds.databaseUrl,
  }
  const secrets = Object.fromEntries(gh.secrets.map((m) => [m.name, value[m.output]]))
  const { written } = await writeSecrets({
    token: gh.token,
    apiUrl: gh.apiUrl,
    repository: gh.repository,
    environment: gh.environment ?? undefined,
    secrets,
    reporter,
    clock: deps,
    ...limits,
  })
  const where = gh.environment ? `environment "${gh.environment}" of ${gh.repository}` : gh.repository
  reporter.info(`Wrote ${written.join(', ')} to the GitHub secrets of ${where}.`)
  return written
}
