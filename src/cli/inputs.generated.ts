// Generated from action.yml by `npm run docs` (scripts/docs.mjs); edit action.yml, not this file.
// test/cli/help.test.ts fails when it is stale.

import type { CliInput } from './args.js'

export const CLI_PHASES = ["setup","open","verify-drain","close","abort","status","unseal"] as const

export const CLI_INPUTS: readonly CliInput[] = [
  {
    "name": "admin-url",
    "text": "Connection URI of an administrative role (superuser, or CREATEROLE as on managed services), from a secret. URI parameters follow libpq (sslmode=verify-full, sslrootcert=..., channel_binding=require, require_auth=scram-sha-256); one the action cannot honour is refused (docs/security.md). When empty, PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE apply. Always masked.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "open",
      "verify-drain",
      "close",
      "abort",
      "status"
    ]
  },
  {
    "name": "role",
    "text": "The NOLOGIN group role that owns the objects, e.g. app.",
    "required": true,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "open",
      "verify-drain",
      "close",
      "abort",
      "status",
      "unseal"
    ]
  },
  {
    "name": "login-roles",
    "text": "The two alternating login roles, comma-separated. Empty: <role>_a,<role>_b.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "open",
      "verify-drain",
      "close",
      "abort",
      "status"
    ]
  },
  {
    "name": "app-url",
    "text": "Where the application connects (e.g. through a pooler), without credentials; used to build the database-url output. Empty: host, port, database, sslmode and other parameters of the admin connection, without what names a runner file or the admin (sslrootcert, sslcert, sslkey, sslpassword, sslcrl, passfile, service, application_name); a notice says what was left out. Set it when the application connects elsewhere (a pooler, a private address) or needs TLS files of its own.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "open"
    ]
  },
  {
    "name": "password-length",
    "text": "Length of generated passwords, at least 16.",
    "required": false,
    "default": "32",
    "boolean": false,
    "phases": [
      "setup",
      "open"
    ]
  },
  {
    "name": "password-encryption",
    "text": "scram-sha-256: compute the SCRAM verifier in the action and send only the verifier, so the password never reaches server logs. server: send the plaintext password for the server to hash; it then reaches the server log (and statement-capturing extensions such as pgaudit) whenever statements are logged (log_statement = ddl or all, log_min_duration_statement) or that statement fails (log_min_error_statement), so use it only for services that refuse verifiers. A statement that carries a password or verifier is always sent alone, never with other statements whose failure would log it. Also applies to the random passwords close and abort set.",
    "required": false,
    "default": "scram-sha-256",
    "boolean": false,
    "phases": [
      "setup",
      "open",
      "close",
      "abort"
    ]
  },
  {
    "name": "timeout",
    "text": "How long verify-drain waits for the old login's sessions to end (90s, 10m, 1h, 1h30m, or seconds).",
    "required": false,
    "default": "15m",
    "boolean": false,
    "phases": [
      "verify-drain"
    ]
  },
  {
    "name": "interval",
    "text": "How often verify-drain looks.",
    "required": false,
    "default": "5s",
    "boolean": false,
    "phases": [
      "verify-drain"
    ]
  },
  {
    "name": "terminate-after",
    "text": "After this long, terminate the old login's remaining sessions and confirm they are gone, under the family's lock and only while the rotation is still open (the admin needs what close needs, and pg_signal_backend). Empty: never.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "verify-drain"
    ]
  },
  {
    "name": "min-new-connections",
    "text": "Also wait until the new login has at least this many sessions (proof that the application switched).",
    "required": false,
    "default": "0",
    "boolean": false,
    "phases": [
      "verify-drain"
    ]
  },
  {
    "name": "terminate",
    "text": "close: terminate the sessions of the old login that are still connected, right after the commit, also those that logged in while close ran. abort (with force): terminate the sessions of the aborted (incoming) login.",
    "required": false,
    "default": "false",
    "boolean": true,
    "phases": [
      "close",
      "abort"
    ]
  },
  {
    "name": "force",
    "text": "close: close even though sessions of the old login remain (they run on until they disconnect). abort: disable the incoming login although it has sessions (a deploy already uses it: move the application back to the previous credentials first) or close already wrote its credentials to GitHub secrets. open: on a re-run by the opening workflow run without seal-key, issue a new password to the incoming login (a deploy that received the first one can no longer log in).",
    "required": false,
    "default": "false",
    "boolean": true,
    "phases": [
      "open",
      "close",
      "abort"
    ]
  },
  {
    "name": "rotation-id",
    "text": "Refuse to act on any rotation but this one (the rotation-id output of open); unseal: refuse credentials sealed for any other rotation.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "verify-drain",
      "close",
      "abort",
      "unseal"
    ]
  },
  {
    "name": "adopt",
    "text": "Turn the existing single login named by role into the group role (it keeps working until the first rotation closes) instead of refusing to touch a role that can log in.",
    "required": false,
    "default": "false",
    "boolean": true,
    "phases": [
      "setup"
    ]
  },
  {
    "name": "fix-ownership",
    "text": "Move objects owned by the login roles to the group role (REASSIGN OWNED, database by database).",
    "required": false,
    "default": "false",
    "boolean": true,
    "phases": [
      "setup"
    ]
  },
  {
    "name": "replica-urls",
    "text": "Connection URIs of read replicas (streaming standbys of admin-url's server), one per line (# comments allowed). Their sessions count too (pg_stat_activity only shows its own server). setup and open check that each answers and is a standby before changing anything; setup, open, close and abort wait until each has replayed their commit (up to replica-timeout), and setup and open log in there with the new credentials before reporting them. Masked.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "open",
      "verify-drain",
      "close",
      "abort",
      "status"
    ]
  },
  {
    "name": "replica-timeout",
    "text": "How long to wait for every replica of replica-urls to replay the phase's commit, e.g. 1m, 90s. Past it the phase fails, saying what was committed and how far each replica lags.",
    "required": false,
    "default": "1m",
    "boolean": false,
    "phases": [
      "setup",
      "open",
      "close",
      "abort"
    ]
  },
  {
    "name": "pgbouncer-urls",
    "text": "Admin console URIs of every PgBouncer (or console-compatible pooler) in front of the database, one per line or comma-separated, e.g. postgresql://stats:PASSWORD@pgbouncer-1:6432/pgbouncer. The old login then counts as drained only when no pooler has a client logged in as it, and close ends its idle pooled server connections. A pooler that cannot be read fails the phase, changing nothing (verify-drain: at its first look; later, a poll is never drained while one cannot be read). See docs/poolers.md. Masked.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "verify-drain",
      "close",
      "abort",
      "status"
    ]
  },
  {
    "name": "seal-key",
    "text": "A passphrase of at least 16 characters, from a secret. setup and open then also emit sealed-credentials; unseal and close open them. Masked.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "open",
      "unseal",
      "close"
    ]
  },
  {
    "name": "sealed-credentials",
    "text": "The sealed-credentials output of setup or open, passed from another job.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "unseal",
      "close"
    ]
  },
  {
    "name": "github-token",
    "text": "A fine-grained token or GitHub App token with Secrets: write, used to write the new credentials to GitHub secrets (the workflow's GITHUB_TOKEN cannot write secrets). Masked.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "close"
    ]
  },
  {
    "name": "github-secrets",
    "text": "Which secrets to write, one SECRET_NAME=output per line (output: username, password or database-url). close writes them before it disables the old login.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "close"
    ]
  },
  {
    "name": "github-environment",
    "text": "Write the secrets of this environment instead of repository secrets.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "close"
    ]
  },
  {
    "name": "github-repository",
    "text": "owner/name of the repository whose secrets are written. Empty: the current one.",
    "required": false,
    "default": "",
    "boolean": false,
    "phases": [
      "setup",
      "close"
    ]
  }
]
