import { InputError } from '../domain/errors.js'

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes. */
export const MAX_NAME_BYTES = 63

const RESERVED = new Set(['public', 'none', 'current_user', 'session_user', 'current_role', 'all'])

/**
 * Checks a role name before it reaches SQL. Names are always quoted when used,
 * so any character is safe there; this only rejects names PostgreSQL would
 * truncate, reserve or refuse.
 */
export function checkRoleName(name: string, input: string): string {
  if (name.length === 0) throw new InputError(input, 'a role name is empty')
  // Control characters (tabs, line breaks, NUL) have no place in a role name, and a line
  // break could start a workflow command in the runner's log.
  // eslint-disable-next-line no-control-regex -- the control characters are what this rejects
  if (/[\x00-\x1f\x7f]/.test(name))
    throw new InputError(input, 'a role name contains a control character (tab, line break or similar)')
  const bytes = Buffer.byteLength(name, 'utf8')
  if (bytes > MAX_NAME_BYTES) {
    throw new InputError(
      input,
      `role name '${name}' is ${bytes} bytes; PostgreSQL would truncate it to ${MAX_NAME_BYTES} bytes, so use a shorter name`,
    )
  }
  // PostgreSQL reserves these spellings exactly; "Public" or "None" are ordinary names.
  if (RESERVED.has(name)) throw new InputError(input, `'${name}' is a reserved role name`)
  if (name.startsWith('pg_'))
    throw new InputError(input, `role names starting with 'pg_' are reserved by PostgreSQL ('${name}')`)
  return name
}

/** Quotes an identifier for a message that shows SQL to run by hand (same rule as pg's escapeIdentifier). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** Quotes a string literal for a message that shows SQL to run by hand (standard_conforming_strings on). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}
