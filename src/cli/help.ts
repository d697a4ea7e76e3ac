/** `--help`: the phases and every flag with its default and phases, from action.yml (CLI_INPUTS). */
import { envName } from './args.js'
import { CLI_INPUTS, CLI_PHASES } from './inputs.generated.js'

export const BIN = 'pg-credential-rotation'
const WIDTH = 80

/** The whole help, or (with a phase) only the flags that phase reads. */
export function renderHelp(phase?: string): string {
  const inputs = phase ? CLI_INPUTS.filter((i) => i.phases.includes(phase)) : CLI_INPUTS
  const out = [
    `Usage: ${BIN} <phase> [--<input> <value>]… [--json] [--show-secrets]`,
    '',
    ...wrap(
      "Rotates a PostgreSQL application's password without an outage: a NOLOGIN group role owns everything, two login roles take turns, and the old login is disabled only after its sessions have drained. The same phases, inputs and state as the GitHub Action.",
      0,
    ),
    '',
    `Phases, in a rotation's order: ${CLI_PHASES.join(', ')}.`,
    '',
    phase ? `Inputs read by ${phase}:` : 'Inputs (each input of the action is a flag of the same name):',
  ]
  for (const i of inputs) {
    const value = i.boolean ? ' [true|false]' : ' <value>'
    const facts = [
      i.required ? 'required' : `default: ${i.default === '' ? "''" : i.default}`,
      `phases: ${i.phases.length === CLI_PHASES.length ? 'all' : i.phases.join(', ')}`,
    ]
    out.push(`  --${i.name}${value}  (${facts.join('; ')})`, ...wrap(i.text, 6))
  }
  out.push(
    '',
    'Options:',
    '  --json            print one JSON object on stdout: phase, ok, outputs (the',
    "                    action's output names, secrets included), changes, notes, error",
    '  --show-secrets    print the new password and database-url instead of ***',
    '  --verbose         also print the statements executed and debug lines (secrets redacted)',
    `  -h, --help        this text; '${BIN} <phase> --help' lists that phase's inputs`,
    '  -V, --version     print the version',
    '',
    'Environment:',
    ...wrap(
      'PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY give the admin connection when --admin-url is absent, as for psql.',
      2,
    ),
    ...wrap(
      `${envName('<input>')} gives any input (${envName('seal-key')}, ${envName('admin-url')}): secrets stay out of the process list and shell history. A flag wins over its variable.`,
      2,
    ),
    '',
    'Exit status: 0 done, or nothing to do; 1 failed or refused; 2 usage error.',
    '',
  )
  return out.join('\n')
}

function wrap(text: string, indent: number): string[] {
  const pad = ' '.repeat(indent)
  const out: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && pad.length + line.length + 1 + word.length > WIDTH) {
      out.push(pad + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) out.push(pad + line)
  return out
}
