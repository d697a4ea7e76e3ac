/**
 * The command-line tool as a user runs it: the bundle (dist/cli.js, which `npm run build`
 * builds and test/dist.test.ts keeps fresh), a Node process per command, against
 * real PostgreSQL. The same state as the action: a rotation opened by one front door is
 * closed by the other.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAction } from '../../scripts/docs.mjs'
import { packCli } from '../../scripts/pack-cli.mjs'
import { connectTo } from '../harness/clients.js'
import { familyName, loginAs, loginError, phase, servers } from '../harness/helpers.js'
import type { TestServer } from '../harness/servers.js'

// The committed build, as the end-to-end tests run dist/index.js: test/dist.test.ts fails when
// dist/ is not what src/ builds to, so building the CLI again here would only cost time.
const dir = resolve('dist')

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `node cli.js <args>` with only the environment given (no PG* or CI variables leak in from the test run). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'cli.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A run with --json: exactly one JSON object on stdout. */
async function json(args: string[], env?: Record<string, string>) {
  const r = await cli([...args, '--json'], env)
  const lines = r.stdout.split('\n').filter(Boolean)
  expect(lines, r.stderr).toHaveLength(1)
  return { ...r, result: JSON.parse(lines[0]) }
}

/** A line a CI runner would take as a command: `::` at its start (after spaces), or `##[` anywhere. */
function runnerCommands(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((l) => /^\s*::/.test(l) || l.includes('##['))
}

function pgEnv(server: TestServer): Record<string, string> {
  return {
    PGHOST: server.host,
    PGPORT: String(server.port),
    PGUSER: decodeURIComponent(new URL(server.url.replace(/^postgres(ql)?:/, 'http:')).username),
    PGPASSWORD: server.password,
    PGDATABASE: 'postgres',
  }
}

it('--help names every input of action.yml with its default and phases, --version the package version, both without a database', async () => {
  const help = await cli(['--help'])
  expect(help.code).toBe(0)
  const action = parseAction(readFileSync('action.yml', 'utf8'))
  for (const input of action.inputs.filter((i) => i.name !== 'phase')) {
    const line = help.stdout.split('\n').find((l) => l.startsWith(`  --${input.name} `))
    expect(line, `--help lacks --${input.name}`).toBeDefined()
    expect(line).toContain(input.required ? 'required' : `default: ${input.default === '' ? "''" : input.default}`)
    expect(line).toContain(input.phases.length === 7 ? 'phases: all' : `phases: ${input.phases.join(', ')}`)
  }
  for (const p of ['setup', 'open', 'verify-drain', 'close', 'abort', 'status', 'unseal'])
    expect(help.stdout).toContain(p)
  const version = await cli(['--version'])
  expect(version).toMatchObject({ code: 0, stdout: `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n` })
})

it('npm run pack:cli makes a tarball without dependencies that `npx <its URL>` runs, as from a GitHub release', async () => {
  const out = mkdtempSync(join(tmpdir(), 'cli-pack-'))
  const server = createServer((req, res) => createReadStream(join(out, req.url!.slice(1))).pipe(res))
  try {
    const tarball = packCli(out, dir)
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }))
    expect(manifest).toMatchObject({ bin: { 'pg-credential-rotation': 'dist/cli.js' }, type: 'module' })
    expect(manifest.dependencies).toBeUndefined()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${tarball.split('/').pop()}`
    // Asynchronously: this process serves the tarball meanwhile.
    const version = await new Promise<string>((resolve, reject) => {
      const env = { ...process.env, npm_config_cache: join(out, 'cache'), npm_config_update_notifier: 'false' }
      const child = spawn('npx', ['--yes', url, '--version'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
      let text = ''
      child.stdout.on('data', (d) => (text += d))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`npx exited ${code}`))))
    })
    expect(version).toBe(`${manifest.version}\n`)
  } finally {
    server.close()
    rmSync(out, { recursive: true, force: true })
  }
}, 120_000)

it.each([
  [['open', '--role', 'app', '--bogus', 'x'], /unknown option '--bogus'/],
  [['reopen', '--role', 'app'], /'reopen' is not a phase/],
  [['--role', 'app'], /no phase given/],
  [['open', '--admin-url', 'postgresql://u:p@h/db'], /--role: is required/],
  [['open', '--role', 'app', '--password-length', 'long'], /--password-length: 'long' is not a whole number/],
  [['verify-drain', '--role', 'app', '--timeout', '10x'], /--timeout/],
  [['close', '--role', 'app', '--force=maybe'], /--force: 'maybe' is not a boolean/],
  [['close', '--role', 'app', '--force', 'maybe'], /unexpected argument 'maybe'/],
  [['open', '--role'], /option '--role' needs a value/],
])('a usage error exits 2 and names the flag: %j', async (args, message) => {
  const r = await cli(args, { PGHOST: '127.0.0.1' })
  expect(r.code, r.stderr).toBe(2)
  expect(r.stderr).toMatch(message)
  expect(r.stdout).toBe('')
})

describe.each(servers())('PostgreSQL $major: the CLI', (server) => {
  const admin = ['--admin-url', server.url]

  it('rotates with --json: setup, open, verify-drain, close; each a JSON object with the action output names, the new password working and the old one retired', async () => {
    const role = familyName('cli')
    const setup = await json(['setup', '--role', role, ...admin])
    expect(setup.code, setup.stderr).toBe(0)
    expect(setup.result).toMatchObject({
      phase: 'setup',
      ok: true,
      error: null,
      outputs: { username: `${role}_a`, state: 'idle' },
    })
    expect(setup.result.changes.join('\n')).toContain(`CREATE ROLE "${role}" NOLOGIN`)
    const first = setup.result.outputs
    expect(first['database-url']).toBe(
      `postgresql://${role}_a:${first.password}@${server.host}:${server.port}/postgres`,
    )
    const app = await loginAs(server, `${role}_a`, first.password)

    const open = await json(['open', '--role', role, ...admin])
    expect(open.code, open.stderr).toBe(0)
    const o = open.result.outputs
    const openOutputs = parseAction(readFileSync('action.yml', 'utf8'))
      .outputs.filter((x) => x.phases.includes('open'))
      .map((x) => x.name)
    for (const name of Object.keys(o)) expect(openOutputs, `${name} is no output of open`).toContain(name)
    for (const name of ['database-url', 'password', 'previous-username', 'rotation-id', 'state', 'username'])
      expect(o, name).toHaveProperty([name])
    expect(o).toMatchObject({ username: `${role}_b`, 'previous-username': `${role}_a`, state: 'open' })
    expect(await loginError(server, `${role}_b`, o.password)).toBeNull()
    expect(open.stderr).not.toContain(o.password)

    setTimeout(() => void app.end(), 300)
    const drain = await json([
      'verify-drain',
      '--role',
      role,
      '--rotation-id',
      o['rotation-id'],
      '--interval',
      '100ms',
      '--timeout',
      '20s',
      ...admin,
    ])
    expect(drain.code, drain.stderr).toBe(0)
    expect(drain.result).toMatchObject({
      ok: true,
      outputs: { drained: true, 'remaining-connections': 0, 'rotation-id': o['rotation-id'] },
    })
    // Progress on stderr (not a terminal here: one line a poll), with the time left.
    expect(drain.stderr).toMatch(/poll 1 at .* left\): /)

    const close = await json(['close', '--role', role, '--rotation-id', o['rotation-id'], ...admin])
    expect(close.code, close.stderr).toBe(0)
    expect(close.result.outputs).toMatchObject({
      username: `${role}_b`,
      'previous-username': `${role}_a`,
      state: 'idle',
    })
    expect(await loginError(server, `${role}_a`, first.password)).not.toBeNull()
    expect(await loginError(server, `${role}_b`, o.password)).toBeNull()

    const status = await json(['status', '--role', role, ...admin])
    expect(status.result.outputs.status).toMatchObject({ group: role, state: 'idle', active: `${role}_b` })
  })

  it('for a person: no password and no runner command in what it prints, even from hostile server text; --show-secrets prints the new password', async () => {
    const role = familyName('cli')
    const setup = await cli(['setup', '--role', role, ...admin])
    expect(setup.code, setup.stderr).toBe(0)
    expect(setup.stdout).toMatch(/^setup done/)
    expect(setup.stdout).toMatch(/password +\*\*\* {2}\(--show-secrets prints it\)/)
    expect(setup.stdout).toMatch(new RegExp(`username +${role}_a`))
    expect(setup.stdout).toContain(`Created role "${role}" (NOLOGIN).`)
    expect(setup.stdout).not.toContain(`CREATE ROLE "${role}" NOLOGIN;`)
    expect(setup.stdout + setup.stderr).not.toContain(server.password)

    const open = await json(['open', '--role', role, ...admin])
    const password = open.result.outputs.password as string
    // A session of the incoming login whose application_name tries to command a runner and a terminal.
    const hostile = await connectTo(
      `postgresql://${role}_b:${encodeURIComponent(password)}@${server.host}:${server.port}/postgres`,
      `x\n::add-mask::y\r::error::pwned ##[warning]z \u001b[31mred`,
    )
    try {
      const status = await cli(['status', '--role', role, ...admin])
      expect(status.code, status.stderr).toBe(0)
      const printed = status.stdout + status.stderr
      expect(printed).toContain(`Open rotation ${open.result.outputs['rotation-id']}`)
      // Older servers store non-printable bytes of application_name as '?'; newer keep them: escaped as text.
      expect(printed).toMatch(/(\\x1b|\?)\[31mred/)
      expect(runnerCommands(printed)).toEqual([])
      expect(printed).not.toContain('\u001b')
      for (const secret of [password, open.result.outputs['database-url'], server.password])
        expect(printed).not.toContain(secret)
    } finally {
      await hostile.end()
    }
    await phase(server, { phase: 'abort', role })
    const shown = await cli(['open', '--role', role, '--show-secrets', '--verbose', ...admin])
    expect(shown.code, shown.stderr).toBe(0)
    const revealed = /^ {2}password +(\S+)$/m.exec(shown.stdout)?.[1]
    expect(revealed).toHaveLength(32)
    // --verbose: the statements too, the password in them redacted even with --show-secrets.
    expect(shown.stdout).toContain(`ALTER ROLE "${role}_b" WITH LOGIN PASSWORD '***';`)
    expect(await loginError(server, `${role}_b`, revealed!)).toBeNull()
    expect(shown.stdout + shown.stderr).not.toContain(server.password)
    expect(runnerCommands(shown.stdout + shown.stderr)).toEqual([])
  })

  it("exits 1 when the phase refuses or fails, with the action's words on stderr; 0 when there is nothing to do", async () => {
    const role = familyName('cli')
    const setup = await phase(server, { phase: 'setup', role })
    // Refused: close with no rotation open. The action fails with the same message.
    const refused = await json(['close', '--role', role, ...admin])
    const actionError = await phase(server, { phase: 'close', role }).then(
      () => '',
      (e: Error) => e.message,
    )
    expect(actionError).not.toBe('')
    expect(refused.code).toBe(1)
    expect(refused.result).toMatchObject({ ok: false, error: actionError })
    expect(refused.stderr).toContain(`error: ${actionError}`)
    expect(refused.stderr).toContain('Nothing was changed.')

    // Failed after reporting: verify-drain times out with the old login still connected.
    await phase(server, { phase: 'open', role })
    const held = await loginAs(server, `${role}_a`, setup.outputs.password!)
    const notDrained = await json([
      'verify-drain',
      '--role',
      role,
      '--timeout',
      '300ms',
      '--interval',
      '100ms',
      ...admin,
    ]).finally(() => held.end())
    expect(notDrained.code).toBe(1)
    expect(notDrained.result).toMatchObject({ ok: false, outputs: { drained: false, 'remaining-connections': 1 } })
    expect(notDrained.result.error).toMatch(/^Not drained: /)
    expect(notDrained.stderr).toContain(`error: ${notDrained.result.error}`)

    // Nothing to do is success: abort, then abort again.
    expect((await cli(['abort', '--role', role, ...admin])).code).toBe(0)
    const again = await json(['abort', '--role', role, ...admin])
    expect(again.code).toBe(0)
    expect(again.result.notes.join(' ')).toMatch(/Nothing to do/)

    // A server that refuses the admin: 1, and the password given is not repeated.
    const wrong = server.url.replace(`:${encodeURIComponent(server.password)}@`, ':not-the-password@')
    const denied = await cli(['status', '--role', role, '--admin-url', wrong])
    expect(denied.code).toBe(1)
    expect(denied.stderr).toMatch(/error: /)
    expect(denied.stderr).not.toContain('not-the-password')
  })

  it('connects with PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE when --admin-url is absent, and never prints PGPASSWORD', async () => {
    const role = familyName('cli')
    const env = pgEnv(server)
    const setup = await json(['setup', '--role', role], env)
    expect(setup.code, setup.stderr).toBe(0)
    expect(setup.result.outputs['database-url']).toBe(
      `postgresql://${role}_a:${setup.result.outputs.password}@${server.host}:${server.port}/postgres`,
    )
    const human = await cli(['status', '--role', role], env)
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain(`${role}_a`)
    // Secrets as PG_ROTATION_<INPUT> variables: out of the process list.
    const sealed = await json(['open', '--role', role], { ...env, PG_ROTATION_SEAL_KEY: 'a-seal-key-of-some-length' })
    expect(sealed.result.outputs['sealed-credentials']).toMatch(/\S{40,}/)
    const unseal = await json(
      ['unseal', '--role', role, '--sealed-credentials', sealed.result.outputs['sealed-credentials']],
      {
        PG_ROTATION_SEAL_KEY: 'a-seal-key-of-some-length',
      },
    )
    expect(unseal.result.outputs.password).toBe(sealed.result.outputs.password)

    const wrong = await cli(['status', '--role', role], { ...env, PGPASSWORD: 'wrong-password-value' })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/password authentication failed/)
    expect(wrong.stdout + wrong.stderr).not.toContain('wrong-password-value')
    const nowhere = await cli(['status', '--role', role], { ...env, PGPORT: '1' })
    expect(nowhere.code).toBe(1)
  })

  it('shares the state with the action: opened by the CLI and closed by the action, opened by the action and closed by the CLI', async () => {
    const role = familyName('cli')
    await json(['setup', '--role', role, ...admin])
    const open = await json(['open', '--role', role, ...admin])
    const closed = await phase(server, { phase: 'close', role, 'rotation-id': open.result.outputs['rotation-id'] })
    expect(closed.outputs).toMatchObject({ username: `${role}_b`, state: 'idle' })
    expect(await loginError(server, `${role}_b`, open.result.outputs.password)).toBeNull()

    const byAction = await phase(server, { phase: 'open', role })
    const status = await json(['status', '--role', role, ...admin])
    expect(status.result.outputs).toMatchObject({
      state: 'open',
      'rotation-id': byAction.outputs.rotationId,
      'previous-username': `${role}_b`,
    })
    const close = await json(['close', '--role', role, '--rotation-id', byAction.outputs.rotationId!, ...admin])
    expect(close.code, close.stderr).toBe(0)
    expect(close.result.outputs).toMatchObject({ username: `${role}_a`, state: 'idle' })
    expect(await loginError(server, `${role}_a`, byAction.outputs.password!)).toBeNull()
    expect(await loginError(server, `${role}_b`, open.result.outputs.password)).not.toBeNull()
  })
})
