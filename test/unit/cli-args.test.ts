/**
 * The CLI's command line, help, masking and terminal output, without a database. What
 * needs PostgreSQL (and the built bundle) is in test/cli/cli.test.ts.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CLI_INPUTS as CLI_INPUTS_PATH, parseAction, renderCliInputs } from '../../scripts/docs.mjs'
import { parseArgs, UsageError } from '../../src/cli/args.js'
import { renderHelp } from '../../src/cli/help.js'
import { cliConfig, unusedInputs } from '../../src/cli/inputs.js'
import { Masker, maskConnectionSecrets } from '../../src/cli/mask.js'
import { TerminalReporter, terminalText, type Output } from '../../src/cli/reporter.js'
import { PHASES } from '../../src/inputs/config.js'

const action = parseAction(readFileSync('action.yml', 'utf8'))

function stream(isTTY: boolean): Output & { text: string } {
  const s = { text: '', isTTY, columns: 40, write: (t: string) => (s.text += t), hasColors: () => isTTY }
  return s
}

describe('flags', () => {
  it('src/cli/inputs.generated.ts is what npm run docs renders from action.yml (run npm run docs when this fails)', () => {
    expect(readFileSync(CLI_INPUTS_PATH, 'utf8')).toBe(renderCliInputs(action))
  })

  it('every input of action.yml but phase is a flag; the phase is the first argument', () => {
    for (const input of action.inputs.filter((i) => i.name !== 'phase')) {
      const value = input.default === 'false' ? 'true' : 'x'
      const cmd = parseArgs(['status', `--${input.name}`, value])
      expect(cmd).toMatchObject({ kind: 'run', phase: 'status', inputs: { [input.name]: value } })
    }
    expect(() => parseArgs(['--phase', 'open'])).toThrow(/the phase is the first argument/)
  })

  it('takes --name value and --name=value; boolean inputs also bare; lists repeat; the CLI switches', () => {
    expect(
      parseArgs([
        'close',
        '--role=app',
        '--force',
        '--terminate',
        'false',
        '--replica-urls',
        'postgresql://r1/db',
        '--replica-urls',
        'postgresql://r2/db',
        '--json',
        '--show-secrets',
      ]),
    ).toEqual({
      kind: 'run',
      phase: 'close',
      inputs: {
        role: 'app',
        force: 'true',
        terminate: 'false',
        'replica-urls': 'postgresql://r1/db\npostgresql://r2/db',
      },
      json: true,
      showSecrets: true,
      verbose: false,
    })
    // A bare boolean before the phase does not take the phase as its value.
    expect(parseArgs(['--adopt', 'setup', '--role', 'app'])).toMatchObject({
      phase: 'setup',
      inputs: { adopt: 'true', role: 'app' },
    })
    expect(parseArgs(['--help'])).toEqual({ kind: 'help', phase: undefined })
    expect(parseArgs(['open', '-h'])).toEqual({ kind: 'help', phase: 'open' })
    expect(parseArgs(['-V'])).toEqual({ kind: 'version' })
  })

  it.each([
    [['open', '--rolle', 'app'], "unknown option '--rolle'", 'rolle'],
    [['open', '-x'], "unknown option '-x'", '-x'],
    [['open', '--role', 'a', '--role', 'b'], "'--role' is given twice", 'role'],
    [['open', '--role', '--force'], "'--role' needs a value", 'role'],
    [['open', '--json=maybe'], "'--json' takes true or false", 'json'],
    [['open', 'close'], "unexpected argument 'close'", undefined],
    [['reopen'], "'reopen' is not a phase", undefined],
    [[], 'no phase given', undefined],
  ])('refuses %j, naming the flag', (argv, message, flag) => {
    let error: unknown
    try {
      parseArgs(argv)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toContain(message)
    expect((error as UsageError).flag).toBe(flag)
  })

  it('builds the Config the action builds: flags first, then PG_ROTATION_<INPUT> variables; unread inputs are named', () => {
    const env = { PGHOST: 'db', PG_ROTATION_SEAL_KEY: 'k'.repeat(20), PG_ROTATION_ROLE: 'from_env' }
    const cfg = cliConfig(parseArgs(['open', '--role', 'app', '--timeout', '1m']) as never, env)
    expect(cfg).toMatchObject({ phase: 'open', group: 'app', sealKey: 'k'.repeat(20), timeoutMs: 60_000, admin: {} })
    expect(cfg.appUrl).toBe('postgresql://db:5432/postgres')
    expect(cliConfig({ phase: 'status', inputs: {} }, env).group).toBe('from_env')
    expect(unusedInputs({ phase: 'open', inputs: { timeout: '1m', role: 'app' } }, env)).toEqual([
      '--timeout is not read by open (only by verify-drain).',
    ])
  })
})

describe('--help', () => {
  it('lists the phases and every input with its default and phases, generated from action.yml', () => {
    const help = renderHelp()
    expect(help).toContain(`Phases, in a rotation's order: ${PHASES.join(', ')}.`)
    for (const input of action.inputs.filter((i) => i.name !== 'phase')) {
      const line = help.split('\n').find((l) => l.startsWith(`  --${input.name} `))
      expect(line, input.name).toContain(
        input.required ? 'required' : `default: ${input.default === '' ? "''" : input.default}`,
      )
    }
    for (const v of ['PGHOST', 'PGSSLROOTCERT', 'PG_ROTATION_SEAL_KEY', '--json', '--show-secrets', 'Exit status'])
      expect(help).toContain(v)
  })

  it('for one phase lists only the inputs it reads', () => {
    const help = renderHelp('verify-drain')
    expect(help).toContain('  --timeout <value>')
    expect(help).not.toContain('  --adopt ')
  })
})

describe('masking and the terminal', () => {
  it('hides every form of the connection passwords always, the issued credentials unless --show-secrets', () => {
    const read = (n: string) =>
      ({ 'admin-url': 'postgresql://admin:p%40ss@db/postgres', 'seal-key': 'seal-key-seal-key' })[n] ?? ''
    const hidden = new Masker(false)
    maskConnectionSecrets(hidden, read, { PGPASSWORD: 'pgpass-value' })
    hidden.issuedSecret('new-password')
    const text = 'p@ss p%40ss pgpass-value seal-key-seal-key new-password postgresql://admin:p%40ss@db/postgres'
    expect(hidden.mask(text)).toBe('*** *** *** *** *** ***')
    const shown = new Masker(true)
    maskConnectionSecrets(shown, read, { PGPASSWORD: 'pgpass-value' })
    shown.issuedSecret('new-password')
    expect(shown.mask(text)).toBe('*** *** *** *** new-password ***')
  })

  it('escapes control characters and runner commands in what it prints', () => {
    expect(terminalText('a\u001b[2Jb\r::error::x\n  ::add-mask::y ##[group]z\u0085')).toBe(
      'a\\x1b[2Jb\\x0d::error::x\n  \\x3a:add-mask::y \\x23#[group]z\\x85',
    )
  })

  it('takes a terminal that reports 0 columns (a pty without a size) as 80 wide', () => {
    const err = stream(true)
    err.columns = 0
    new TerminalReporter(err, new Masker(false)).progress('x'.repeat(100))
    expect(err.text).toBe(`\r\x1b[2K${'x'.repeat(78)}…`)
  })

  it('works when the core calls a method detached from the reporter, as (reporter.notice ?? reporter.info)(message) does', () => {
    const err = stream(false)
    const r = new TerminalReporter(err, new Masker(false))
    const { info, notice, warning } = r
    info('one')
    notice('two')
    warning('three')
    expect(err.text).toBe('one\nnotice: two\nwarning: three\n')
  })

  it('colours only on a terminal; progress redraws one line there and prints one line a poll elsewhere', () => {
    for (const tty of [true, false]) {
      const err = stream(tty)
      const r = new TerminalReporter(err, new Masker(false))
      r.progress('poll 1 at 0s (10s left): "a" 1 session')
      r.progress('poll 2 at 1s (9s left): "a" 0 sessions and a long tail that does not fit')
      r.warning('careful')
      r.finish()
      if (tty) {
        expect(err.text).toBe(
          '\r\x1b[2Kpoll 1 at 0s (10s left): "a" 1 session' +
            '\r\x1b[2Kpoll 2 at 1s (9s left): "a" 0 sessions…' +
            '\r\x1b[2K\x1b[33mwarning:\x1b[39m careful\n',
        )
      } else {
        expect(err.text).toBe(
          'poll 1 at 0s (10s left): "a" 1 session\n' +
            'poll 2 at 1s (9s left): "a" 0 sessions and a long tail that does not fit\n' +
            'warning: careful\n',
        )
      }
    }
  })
})
