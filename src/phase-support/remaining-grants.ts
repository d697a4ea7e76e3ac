/** After setup: the grants the family still needs that setup cannot run, as statements and who runs them. */
import { quoteIdent } from '../inputs/names.js'
import { oneLine } from '../domain/escape.js'
import type { Client } from '../postgres/db.js'
import { READ_GROUP_GRANTS } from '../postgres/statements.js'

interface GroupGrantsRow {
  database: string
  database_owner: string
  can_connect: boolean
  has_public: boolean
  schema_owner: string | null
  schema_usage: boolean | null
  schema_create: boolean | null
}

/**
 * One note listing, in the order docs/managed-services.md gives them (step 5), the
 * statements the group role still needs in the admin's database, each with who may
 * run it (a superuser, or the owner of the schema or the database: a GRANT the rotation
 * admin runs on objects it does not own only warns "no privileges were granted");
 * null when nothing is missing.
 */
export async function remainingGrants(client: Client, group: string): Promise<string | null> {
  const row: GroupGrantsRow | undefined = (await client.query(READ_GROUP_GRANTS, [group])).rows[0]
  if (!row) return null
  const g = quoteIdent(group)
  const db = quoteIdent(row.database)
  const lines: string[] = []
  if (row.has_public && !(row.schema_usage && row.schema_create)) {
    const owner = row.schema_owner ? ` or the owner of schema public, ${quoteIdent(row.schema_owner)}` : ''
    lines.push(`as a superuser${owner}: GRANT USAGE, CREATE ON SCHEMA public TO ${g};`)
  }
  if (!row.can_connect)
    lines.push(
      `as a superuser or the owner of database ${db}, ${quoteIdent(row.database_owner)}: GRANT CONNECT ON DATABASE ${db} TO ${g};`,
    )
  if (lines.length === 0) return null
  return oneLine(
    `Remaining grants for "${group}" in database ${db} (setup cannot run them: they are on objects the rotation admin does not own; run them once, before the application uses the family, and the same in every other database it uses; see docs/managed-services.md, Prerequisites in order, step 5): ${lines.join(' ')}`,
  )
}
