/**
 * docs/recipes/gitlab-ci.yml: parsed as YAML (GitLab's syntax is YAML; GitHub's workflow
 * parser does not apply), its jobs in the rotation's order, the sealed credentials crossing
 * jobs as a dotenv artifact, the seal key only from a CI variable, abort only when the deploy
 * fails, and every command it runs a command line the CLI accepts.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseArgs } from '../../src/cli/args.js'

interface Job {
  stage?: string
  needs?: string[]
  when?: string
  script?: string[]
  variables?: Record<string, string>
  artifacts?: { reports?: { dotenv?: string } }
}

const text = readFileSync('docs/recipes/gitlab-ci.yml', 'utf8')
const doc = parse(text) as { stages: string[]; variables: Record<string, string> } & Record<string, unknown>
const jobs = Object.fromEntries(
  Object.entries(doc).filter(([name]) => !['stages', 'variables', 'default'].includes(name) && !name.startsWith('.')),
) as Record<string, Job>

/** The CLI's arguments in a script line that runs it ($ROTATE ...), up to a redirection; quotes removed. */
function cliArgs(line: string): string[] | null {
  const m = /^\$ROTATE (.*?)(?: >.*)?$/.exec(line)
  if (!m) return null
  return [...m[1].matchAll(/"([^"]*)"|(\S+)/g)].map((x) => x[1] ?? x[2])
}

function phasesOf(job: Job): string[] {
  return (job.script ?? []).flatMap((l) => {
    const args = cliArgs(l)
    return args ? [args[0]] : []
  })
}

describe('docs/recipes/gitlab-ci.yml', () => {
  it('runs open, deploy, verify-drain and close in that order, each after the one before', () => {
    const order = ['open', 'deploy', 'verify-drain', 'close']
    expect(doc.stages).toEqual(order)
    for (const [i, name] of order.entries()) {
      expect(jobs[name]?.stage, name).toBe(order[i])
      if (i > 0) expect(jobs[name].needs, name).toContain(order[i - 1])
    }
    expect(phasesOf(jobs.open)).toEqual(['open'])
    expect(phasesOf(jobs.deploy)).toEqual(['status', 'unseal'])
    expect(phasesOf(jobs['verify-drain'])).toEqual(['verify-drain'])
    expect(phasesOf(jobs.close)).toEqual(['close'])
  })

  it('passes the rotation id and sealed-credentials from open to the later jobs as a dotenv artifact', () => {
    const dotenv = jobs.open.artifacts?.reports?.dotenv
    expect(dotenv).toBeTruthy()
    expect(jobs.open.script!.join('\n')).toMatch(new RegExp(`ROTATION_ID=.*SEALED_CREDENTIALS=.*> ${dotenv}$`, 'm'))
    for (const name of ['deploy', 'verify-drain', 'close', 'abort']) {
      expect(jobs[name].needs, name).toContain('open')
      expect(jobs[name].script!.join('\n'), name).toContain('--rotation-id "$ROTATION_ID"')
    }
    const unseal = jobs.deploy.script!.map(cliArgs).find((a) => a?.[0] === 'unseal')!
    expect(unseal).toEqual(expect.arrayContaining(['--sealed-credentials', '$SEALED_CREDENTIALS']))
  })

  it('takes the seal key and the admin URL only from masked CI variables, never from the file or a command line', () => {
    expect(Object.keys(doc.variables)).not.toContain('PG_ROTATION_SEAL_KEY')
    expect(Object.keys(doc.variables)).not.toContain('PG_ROTATION_ADMIN_URL')
    expect(text).toMatch(/^# {3}PG_ROTATION_SEAL_KEY /m)
    for (const job of Object.values(jobs))
      for (const line of job.script ?? []) expect(line).not.toMatch(/--(seal-key|admin-url)\b/)
  })

  it('aborts only when the deploy failed, and only a rotation that open started', () => {
    expect(jobs.abort).toMatchObject({ when: 'on_failure', needs: ['open', 'deploy'] })
    expect(phasesOf(jobs.abort)).toEqual(['abort'])
    expect(jobs.abort.script![0]).toMatch(/-z "\$ROTATION_ID".*exit 0/)
  })

  it('runs only command lines the CLI accepts', () => {
    let n = 0
    for (const job of Object.values(jobs))
      for (const line of job.script ?? []) {
        const args = cliArgs(line)
        if (!args) continue
        n++
        expect(parseArgs(args), line).toMatchObject({ kind: 'run' })
      }
    expect(n).toBe(6)
  })
})
