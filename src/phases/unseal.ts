import { sealedInput, type Config } from '../inputs/config.js'
import type { PhaseResult } from '../domain/result.js'
import { unsealCredentials } from '../crypto/seal.js'
import type { Reporter } from '../domain/reporter.js'

/**
 * Opens sealed-credentials (from setup or open in another job) and emits
 * username, password and database-url, the secrets masked first. Needs no database.
 */
export function unseal(cfg: Config, reporter: Reporter): PhaseResult {
  const { sealed, key } = sealedInput(cfg)
  const { creds, binding } = unsealCredentials(sealed, key, {
    family: cfg.group,
    rotationId: cfg.rotationId ?? undefined,
  })
  reporter.secret(creds.password)
  reporter.secret(creds.databaseUrl)
  if (creds.userlist) {
    for (const line of creds.userlist.split('\n')) reporter.secret(line)
    reporter.secret(creds.userlist)
  }
  return {
    phase: 'unseal',
    group: cfg.group,
    outputs: {
      username: creds.username,
      password: creds.password,
      databaseUrl: creds.databaseUrl,
      pgbouncerUserlist: creds.userlist,
      rotationId: binding.rotationId === 'setup' ? undefined : binding.rotationId,
    },
    changes: [],
    notes: [
      `Unsealed the credentials of "${creds.username}" (${binding.rotationId === 'setup' ? 'issued by setup' : `rotation ${binding.rotationId}`}).`,
      creds.userlist
        ? 'pgbouncer-userlist: the auth_file lines the sealing phase emitted.'
        : 'pgbouncer-userlist: not emitted: the sealing phase had none (see its notes; values sealed by releases before this output hold none).',
    ],
    roles: { group: null, logins: [] },
    sessions: [],
    offline: true,
  }
}
