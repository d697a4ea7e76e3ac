/**
 * A real PgBouncer in front of a test server, one per test file: see
 * scripts/lib/pgbouncer.mjs (plain JavaScript, so `npm run bench` uses it too).
 * Tests that need it skip, printing pgbouncerMissing(), where it is not installed.
 */
export {
  pgbouncerBinary,
  pgbouncerMissing,
  startPgBouncer,
  type PgBouncer,
  type PgBouncerOptions,
  type ServerInfo,
} from '../../scripts/lib/pgbouncer.mjs'
