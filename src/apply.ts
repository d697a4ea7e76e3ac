import { createHash } from 'node:crypto'
import type { Config } from './config.js'
import { statementError, type Client } from './db.js'
import type { Observation } from './family.js'
import { observe } from './observe.js'
import { generatePassword } from './password.js'
import type { Plan } from './plan.js'
import type { Reporter } from './reporter.js'
import { scramVerifier } from './scram.js'
import { GROUP_EXISTS_NOLOGIN, LOCK_FAMILY, renderStep, serializeOnGroup, type Statement } from './statements.js'

/** Length of the random password that replaces an outgoing login's password; nobody keeps it. */
const SCRAMBLE_LENGTH = 64

export interface Applied {
  before: Observation
  plan: Plan
  executed: Statement[]
  /** The plaintext password issued to plan.issue, if any. */
  password: string | null
}

/** Advisory-lock key of a family: the first 8 bytes of a hash of the group role's name. */
export function familyLockKey(group: string): string {
  return createHash('sha256').update(`pg-credential-rotation:${group}`).digest().readBigInt64BE(0).toString()
}

/**
 * Runs one phase's change as one transaction: lock the family, observe, plan,
 * execute the plan's statements, commit. A plan that refuses (throws), or any
 * failed statement, rolls everything back.
 */
export async function applyInTransaction(
  client: Client,
  cfg: Pick<Config, 'role' | 'logins' | 'passwordLength' | 'passwordEncryption'>,
  reporter: Reporter,
  decide: (obs: Observation) => Plan,
): Promise<Applied> {
  await client.query('BEGIN')
  try {
    await client.query(LOCK_FAMILY, [familyLockKey(cfg.role)])
    const group = (await client.query(GROUP_EXISTS_NOLOGIN, [cfg.role])).rows[0]
    if (group?.nologin) {
      try {
        await client.query(serializeOnGroup(cfg.role))
      } catch (e) {
        throw statementError(e, serializeOnGroup(cfg.role))
      }
    }
    const before = await observe(client, { group: cfg.role, logins: cfg.logins })
    const plan = decide(before)
    const executed: Statement[] = []
    let password: string | null = null
    for (const step of plan.steps) {
      let secret: string | undefined
      if (step.kind === 'enable-login' || step.kind === 'disable-login') {
        const plaintext = generatePassword(step.kind === 'enable-login' ? cfg.passwordLength : SCRAMBLE_LENGTH)
        reporter.secret(plaintext)
        if (step.kind === 'enable-login') password = plaintext
        if (cfg.passwordEncryption === 'scram-sha-256') {
          secret = scramVerifier(plaintext, before.scramIterations)
          reporter.secret(secret)
        } else {
          secret = plaintext
        }
      }
      const stmt = renderStep(step, before.serverVersion, secret)
      reporter.debug(`sql: ${stmt.display}`)
      try {
        await client.query(stmt.sql)
      } catch (e) {
        throw statementError(e, stmt.display)
      }
      executed.push(stmt)
    }
    await client.query('COMMIT')
    return { before, plan, executed, password }
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {})
    throw e
  }
}
