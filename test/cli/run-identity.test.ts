/**
 * The CLI outside GitHub Actions knows which pipeline it runs in: a retried `open` job in the
 * same GitLab pipeline (same CI_PIPELINE_ID, a new CI_JOB_ID) is a re-run of open, as a
 * re-run attempt of a GitHub workflow run is (same GITHUB_RUN_ID): with seal-key it emits the
 * same credentials again. Another pipeline is refused. Buildkite (BUILDKITE_BUILD_ID) and Azure
 * Pipelines (BUILD_BUILDID, except in a classic release job) likewise. PG_ROTATION_RUN_ID names the run on any other CI. The CLI runs in-process here (runCommand, the same code dist/cli.js bundles)
 * against real PostgreSQL.
 */
import { Writable } from 'node:stream'
import { expect, it } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { runCommand } from '../../src/cli/run.js'
import { describeEachServer, familyName, loginError, phase } from '../harness/helpers.js'

const SEAL_KEY = 'a-seal-key-of-some-length'

function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = ''
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk)
      done()
    },
  })
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => out }
}

/** `pg-credential-rotation <args> --json` with only the environment given. */
async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const cmd = parseArgs([...args, '--json'])
  if (cmd.kind !== 'run') throw new Error('expected a run command')
  const stdout = sink()
  const stderr = sink()
  const code = await runCommand(cmd, { stdout: stdout.stream, stderr: stderr.stream, env })
  return { code, result: JSON.parse(stdout.text()), stderr: stderr.text() }
}

describeEachServer('the CLI run identity', (server) => {
  const open = (role: string, env: NodeJS.ProcessEnv) =>
    cli(['open', '--role', role, '--admin-url', server.url], { PG_ROTATION_SEAL_KEY: SEAL_KEY, ...env })

  it('a retried open job in the same GitLab pipeline emits the same credentials again; another pipeline is refused', async () => {
    const role = familyName('gl')
    await phase(server, { phase: 'setup', role })
    const gitlab = { GITLAB_CI: 'true', CI_PIPELINE_ID: '4711', CI_PROJECT_PATH: 'team/app', GITLAB_USER_LOGIN: 'ops' }

    const first = await open(role, { ...gitlab, CI_JOB_ID: '90001' })
    expect(first.code, first.stderr).toBe(0)
    const o = first.result.outputs

    const retry = await open(role, { ...gitlab, CI_JOB_ID: '90002' })
    expect(retry.code, retry.stderr).toBe(0)
    expect(retry.result.outputs).toMatchObject({
      'rotation-id': o['rotation-id'],
      password: o.password,
      'database-url': o['database-url'],
    })
    expect(retry.result.notes.join(' ')).toMatch(/emitted again/)
    expect(retry.result.changes).toEqual([])
    expect(await loginError(server, `${role}_b`, o.password)).toBeNull()

    const other = await open(role, { ...gitlab, CI_PIPELINE_ID: '4712', CI_JOB_ID: '90003' })
    expect(other.code).toBe(1)
    expect(other.result.error).toMatch(/A rotation is already open .*by workflow run gitlab:4711/)

    // Nor is a run with no identity, nor a GitHub run whose id happens to be the pipeline's.
    expect((await open(role, {})).code).toBe(1)
    expect((await open(role, { GITHUB_RUN_ID: '4711', GITHUB_RUN_ATTEMPT: '2' })).code).toBe(1)

    const status = await cli(['status', '--role', role, '--admin-url', server.url], {})
    expect(status.result.outputs.status.rotation.openedBy).toEqual({
      runId: 'gitlab:4711',
      runAttempt: '90001',
      workflow: '',
      repository: 'team/app',
      actor: 'ops',
    })
  })

  it.each([
    {
      ci: 'Buildkite',
      marker: 'BUILDKITE',
      run: { BUILDKITE: 'true', BUILDKITE_BUILD_ID: '0190b6d2-1b7e-4c1a-9f0e-3f1d2c4b5a69' },
      first: { BUILDKITE_RETRY_COUNT: '0' },
      retry: { BUILDKITE_RETRY_COUNT: '1' },
      other: { BUILDKITE_BUILD_ID: '0190b6d2-1b7e-4c1a-9f0e-3f1d2c4b5a70' },
      extra: { BUILDKITE_PIPELINE_SLUG: 'deploy', BUILDKITE_ORGANIZATION_SLUG: 'acme', BUILDKITE_BUILD_CREATOR: 'Ops' },
      openedBy: {
        runId: 'buildkite:0190b6d2-1b7e-4c1a-9f0e-3f1d2c4b5a69',
        runAttempt: '0',
        workflow: 'deploy',
        repository: 'acme',
        actor: 'Ops',
      },
    },
    {
      ci: 'Azure Pipelines',
      marker: 'TF_BUILD',
      run: { TF_BUILD: 'True', BUILD_BUILDID: '20931' },
      first: { SYSTEM_JOBATTEMPT: '1' },
      retry: { SYSTEM_JOBATTEMPT: '2' },
      other: { BUILD_BUILDID: '20932' },
      extra: { BUILD_DEFINITIONNAME: 'deploy', BUILD_REPOSITORY_NAME: 'acme/shop', BUILD_REQUESTEDFOR: 'Ops Team' },
      openedBy: {
        runId: 'azure:20931',
        runAttempt: '1',
        workflow: 'deploy',
        repository: 'acme/shop',
        actor: 'Ops Team',
      },
    },
  ])(
    'a retried open job in the same $ci run emits the same credentials again; another run is refused',
    async ({ marker, run, first, retry, other, extra, openedBy }) => {
      const role = familyName('ci')
      await phase(server, { phase: 'setup', role })
      const a = await open(role, { ...run, ...extra, ...first })
      expect(a.code, a.stderr).toBe(0)
      const again = await open(role, { ...run, ...extra, ...retry })
      expect(again.code, again.stderr).toBe(0)
      expect(again.result.outputs).toMatchObject({
        'rotation-id': a.result.outputs['rotation-id'],
        password: a.result.outputs.password,
      })
      expect(again.result.notes.join(' ')).toMatch(/emitted again/)
      const refused = await open(role, { ...run, ...extra, ...retry, ...other })
      expect(refused.code).toBe(1)
      expect(refused.result.error).toMatch(new RegExp(`already open .*by workflow run ${openedBy.runId}`))
      // The run id alone, without the variable that says the CLI runs on that CI, names no run.
      expect((await open(role, { ...run, ...extra, [marker]: '' })).code).toBe(1)
      const status = await cli(['status', '--role', role, '--admin-url', server.url], {})
      expect(status.result.outputs.status.rotation.openedBy).toEqual(openedBy)
    },
  )

  it('an Azure Pipelines classic release job is no run the CLI knows: another release of the same build is refused', async () => {
    const role = familyName('rel')
    await phase(server, { phase: 'setup', role })
    // A classic release job carries BUILD_BUILDID of its primary artifact's build, the same in every
    // release of that build: it names no run. Release.ReleaseId (RELEASE_RELEASEID) says it is one.
    const release = { TF_BUILD: 'True', BUILD_BUILDID: '20931', SYSTEM_JOBATTEMPT: '1' }
    const first = await open(role, { ...release, RELEASE_RELEASEID: '118' })
    expect(first.code, first.stderr).toBe(0)
    const second = await open(role, { ...release, RELEASE_RELEASEID: '119' })
    expect(second.code).toBe(1)
    expect(second.result.error).toMatch(/A rotation is already open/)
    expect(second.result.outputs?.password).toBeUndefined()
    const status = await cli(['status', '--role', role, '--admin-url', server.url], {})
    expect(status.result.outputs.status.rotation.openedBy.runId).toBe('')
    // PG_ROTATION_RUN_ID names the run there: the same release re-runs open, another is refused.
    const named = familyName('rel')
    await phase(server, { phase: 'setup', role: named })
    const openNamed = (id: string) =>
      cli(['open', '--role', named, '--admin-url', server.url], {
        PG_ROTATION_SEAL_KEY: SEAL_KEY,
        ...release,
        RELEASE_RELEASEID: id,
        PG_ROTATION_RUN_ID: `azure-release:${id}`,
      })
    const a = await openNamed('118')
    expect(a.code, a.stderr).toBe(0)
    const again = await openNamed('118')
    expect(again.code, again.stderr).toBe(0)
    expect(again.result.outputs.password).toBe(a.result.outputs.password)
    expect((await openNamed('119')).code).toBe(1)
  })

  it('PG_ROTATION_RUN_ID names the run on any CI: the same value is a re-run, another is refused', async () => {
    const role = familyName('ci')
    await phase(server, { phase: 'setup', role })
    const first = await open(role, { PG_ROTATION_RUN_ID: 'buildkite:0190-abc' })
    expect(first.code, first.stderr).toBe(0)
    const again = await open(role, { PG_ROTATION_RUN_ID: 'buildkite:0190-abc' })
    expect(again.code, again.stderr).toBe(0)
    expect(again.result.outputs.password).toBe(first.result.outputs.password)
    const other = await open(role, { PG_ROTATION_RUN_ID: 'buildkite:0191-def' })
    expect(other.code).toBe(1)
    expect(other.result.error).toMatch(/already open/)
  })

  it('a malformed PG_ROTATION_RUN_ID is a usage error naming the variable, before anything is read', async () => {
    const role = familyName('ci')
    const bad = await open(role, { PG_ROTATION_RUN_ID: 'line\n##[error]x' })
    expect(bad.code).toBe(2)
    expect(bad.result.error).toMatch(/PG_ROTATION_RUN_ID/)
  })
})
