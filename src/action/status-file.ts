import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Writes the status JSON to a new file under `dir` (the runner's RUNNER_TEMP, emptied after
 * each job) and returns its path, for the status-file output. A directory of its own per
 * call, so two status steps of a job never overwrite each other's file.
 */
export function writeStatusFile(json: string, dir: string): string {
  const path = join(mkdtempSync(join(dir, 'pg-credential-rotation-status-')), 'status.json')
  writeFileSync(path, `${json}\n`, { mode: 0o600 })
  return path
}
