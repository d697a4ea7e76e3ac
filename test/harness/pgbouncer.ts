/**
 * A real PgBouncer in front of a test server, one per test file: see
 * scripts/lib/pgbouncer.mjs (plain JavaScript, so `npm run bench` uses it too).
 * Tests that need it skip, printing pgbouncerMissing(), where it is not installed.
 * Pooler tests run on poolerPairs(servers()): each installed PgBouncer (Debian's 1.18
 * and the current release scripts/build-pgbouncer.sh builds, with KILL_CLIENT).
 */
export {
  hasKillClient,
  pgbouncerBinaries,
  pgbouncerBinary,
  pgbouncerMissing,
  poolerPairs,
  startPgBouncer,
  type PgBouncer,
  type PgBouncerOptions,
  type ServerInfo,
} from '../../scripts/lib/pgbouncer.mjs'
