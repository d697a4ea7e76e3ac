/**
 * Shared pieces of the load and fault tests. These tests start their own
 * servers (with special settings: statement logging, max_connections=1100, a
 * restart), on PostgreSQL 14 and 18 when installed and wanted (PG_MAJORS).
 */
import pg from 'pg'
import { expect } from 'vitest'
import type { App, AppStats } from './app.mjs'
import { installedMajors } from '../../scripts/lib/embedded-postgres.mjs'
import type { ActionRun } from '../../scripts/lib/run-action.mjs'
import { connectTo, withClient as withAnyClient } from '../harness/clients.js'
import { wantedMajors } from '../harness/servers.js'

/** The oldest and newest supported majors, those installed and not excluded by PG_MAJORS. */
export function loadMajors(): number[] {
  const have = installedMajors()
  const want = wantedMajors()
  return [14, 18].filter((m) => have.includes(m) && want.includes(m))
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function admin(url: string, applicationName = 'load-test-admin'): Promise<pg.Client> {
  return connectTo(url, applicationName)
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return withAnyClient(url, fn, 'load-test-admin')
}

/** Everything a phase may change about a family, byte for byte: pg_authid rows, memberships, per-role settings, the state comment. */
export async function snapshotFamily(url: string, names: string[]): Promise<unknown> {
  return withClient(url, async (c) => {
    const authid = await c.query(`SELECT * FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname`, [names])
    const members = await c.query(
      `SELECT am.*, m.rolname AS member_name, g.rolname AS group_name
         FROM pg_auth_members am JOIN pg_authid m ON m.oid = am.member JOIN pg_authid g ON g.oid = am.roleid
        WHERE m.rolname = ANY($1) OR g.rolname = ANY($1) ORDER BY 1, 2, 3`,
      [names],
    )
    const settings = await c.query(
      `SELECT r.rolname, s.setdatabase, s.setconfig FROM pg_db_role_setting s JOIN pg_authid r ON r.oid = s.setrole
        WHERE r.rolname = ANY($1) ORDER BY 1, 2`,
      [names],
    )
    const comments = await c.query(
      `SELECT rolname, shobj_description(oid, 'pg_authid') AS comment FROM pg_authid WHERE rolname = ANY($1) ORDER BY 1`,
      [names],
    )
    return { authid: authid.rows, members: members.rows, settings: settings.rows, comments: comments.rows }
  })
}

/** What a runner shows of a step's log: everything but the mask commands. */
export function visible(r: ActionRun): string {
  return (r.stdout + r.stderr).replace(/^::add-mask::.*$/gm, '')
}

/** The ::error:: lines of a run. */
export function errorsOf(r: ActionRun): string[] {
  return [...r.stdout.matchAll(/^::error::(.*)$/gm)].map((m) => m[1])
}

/** A readable account of a failed run, for assertion messages (masked values replaced). */
export function describeRun(r: ActionRun): string {
  let text = `exit ${r.code}\n${r.stdout}\n${r.stderr}`
  for (const m of r.masks.filter((x) => x.length >= 6)) text = text.split(m).join('***')
  return text
}

/** Percentiles of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN
}

/**
 * Stops the test application, prints what it saw (a heading, the test's own lines, the
 * totals), and requires that nothing failed: no query, no connection attempt, no idle
 * connection, no other error; and that exactly `logins` served queries.
 */
export async function stopAndRequireNoFailure(
  app: App,
  heading: string,
  lines: string[],
  logins: string[],
): Promise<AppStats> {
  await app.stop()
  const stats = app.stats()
  console.log(
    [
      `${heading}, ${stats.perSecond.length - 1} s`,
      ...lines,
      `  queries ok ${stats.ok}, failed ${stats.failed}; connects failed ${stats.connectFailed}; idle errors ${stats.idleErrors}; errors: ${stats.errors.join(' | ') || 'none'}`,
    ].join('\n'),
  )
  expect(stats.errors).toEqual([])
  expect(stats.failed).toBe(0)
  expect(stats.connectFailed).toBe(0)
  expect(stats.idleErrors).toBe(0)
  expect(Object.keys(stats.okBy).sort()).toEqual([...logins].sort())
  return stats
}
