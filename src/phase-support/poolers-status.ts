/** status with pgbouncer-urls: per pooler its version, pool modes, clients and server connections per login. */
import { describePoolers, poolerViews } from '../domain/drain-rule.js'
import { oneLine } from '../domain/escape.js'
import { POOLER_INPUT } from '../inputs/pooler-urls.js'
import type { PoolerStatus } from '../domain/result.js'
import type { PhaseDeps } from './deps.js'

export async function poolerStatus(deps: PhaseDeps, logins: string[]): Promise<PoolerStatus[]> {
  const readings = await deps.poolers.read()
  const views = poolerViews(readings, logins)
  deps.reporter.info(describePoolers(views, logins))
  return readings.map((r, i) => {
    if (!r.snapshot) {
      deps.reporter.warning(`${POOLER_INPUT}: pooler ${r.label} (entry ${r.line}) cannot be read: ${r.error}`)
      return { ...views[i], poolModes: [], forcedUsers: [] }
    }
    const mine = r.snapshot.pools.filter((p) => logins.includes(p.user))
    const poolModes = [
      ...new Set(
        (mine.length ? mine : r.snapshot.pools.filter((p) => p.database !== 'pgbouncer')).map((p) => p.poolMode),
      ),
    ]
    for (const f of r.snapshot.forcedUsers) {
      deps.reporter.warning(
        `pooler ${r.label}: database entry "${oneLine(f.database)}" forces user "${oneLine(f.user)}"; the server sees only that user, so drain and close cannot tell its clients' logins apart.`,
      )
    }
    return { ...views[i], poolModes, forcedUsers: r.snapshot.forcedUsers }
  })
}
