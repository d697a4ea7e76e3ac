/**
 * The command line: `pg-credential-rotation <phase> [--<input> <value>]…` plus the CLI's own
 * options. Every input of action.yml is a flag of the same name (CLI_INPUTS, generated from
 * action.yml); values are checked later by the same parser the action uses (parseConfig).
 */
import { CLI_INPUTS, CLI_PHASES } from './inputs.generated.js'

/** One input of action.yml as a flag (see scripts/docs.mjs, renderCliInputs). */
export interface CliInput {
  name: string
  /** The description, without its "Phases:" sentence. */
  text: string
  required: boolean
  default: string
  /** Its default is true or false: a bare `--<name>` means true. */
  boolean: boolean
  phases: readonly string[]
}

/** The variable that gives an input: seal-key -> PG_ROTATION_SEAL_KEY. */
export function envName(input: string): string {
  return `PG_ROTATION_${input.toUpperCase().replace(/-/g, '_')}`
}

/** A command line the CLI cannot run: exit status 2, before anything is read or changed. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The flag at fault, without its dashes. */
    readonly flag?: string,
  ) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface RunCommand {
  kind: 'run'
  phase: string
  /** The inputs given as flags, by their action.yml names. */
  inputs: Record<string, string>
  json: boolean
  showSecrets: boolean
  verbose: boolean
}

export type Command = { kind: 'help'; phase?: string } | { kind: 'version' } | RunCommand

/** The CLI's own switches (not inputs of the action). */
const SWITCHES = { json: 'json', 'show-secrets': 'showSecrets', verbose: 'verbose' } as const

/** Inputs that hold a list: a repeated flag adds a line. */
const LISTS = new Set(['replica-urls', 'pgbouncer-urls', 'github-secrets'])

const BOOLEAN_TEXT = /^(true|True|TRUE|false|False|FALSE)$/

export function parseArgs(argv: readonly string[]): Command {
  const inputs = new Map<string, string>()
  const switches = { json: false, showSecrets: false, verbose: false }
  let phase: string | undefined
  let help = false
  let version = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '-h' || arg === '--help') help = true
    else if (arg === '-V' || arg === '--version') version = true
    else if (!arg.startsWith('-')) {
      if (phase !== undefined)
        throw new UsageError(`unexpected argument '${arg}': give one phase, then --<input> <value> pairs`)
      phase = arg
    } else {
      const eq = arg.indexOf('=')
      const name = arg.startsWith('--') ? arg.slice(2, eq >= 0 ? eq : undefined) : arg
      const inline = eq >= 0 ? arg.slice(eq + 1) : undefined
      if (name in SWITCHES) {
        switches[SWITCHES[name as keyof typeof SWITCHES]] = inline === undefined ? true : switchValue(name, inline)
        continue
      }
      const input = inputFlag(name)
      let value: string
      if (inline !== undefined) value = inline
      else if (input.boolean) value = BOOLEAN_TEXT.test(argv[i + 1] ?? '') ? argv[++i] : 'true'
      else {
        const next = argv[i + 1]
        if (next === undefined || /^--[a-z]/.test(next))
          throw new UsageError(
            `option '--${name}' needs a value (use --${name}=<value> for one that starts with --)`,
            name,
          )
        value = next
        i++
      }
      addInput(inputs, name, value)
    }
  }
  if (version) return { kind: 'version' }
  if (help) return { kind: 'help', phase: phase && isPhase(phase) ? phase : undefined }
  if (phase === undefined) throw new UsageError(`no phase given; use one of ${CLI_PHASES.join(', ')}`)
  if (!isPhase(phase)) throw new UsageError(`'${phase}' is not a phase; use one of ${CLI_PHASES.join(', ')}`)
  return { kind: 'run', phase, inputs: Object.fromEntries(inputs), ...switches }
}

function isPhase(text: string): boolean {
  return (CLI_PHASES as readonly string[]).includes(text)
}

/** The input a `--<name>` stands for; a usage error naming the flag when there is none. */
function inputFlag(name: string): CliInput {
  if (name === 'phase')
    throw new UsageError('the phase is the first argument, not a flag: pg-credential-rotation <phase> …', 'phase')
  const input = CLI_INPUTS.find((i) => i.name === name)
  if (!input) {
    const shown = name.startsWith('-') ? name : `--${name}`
    throw new UsageError(`unknown option '${shown}'`, name)
  }
  return input
}

function addInput(inputs: Map<string, string>, name: string, value: string): void {
  const before = inputs.get(name)
  if (before === undefined) inputs.set(name, value)
  else if (LISTS.has(name)) inputs.set(name, `${before}\n${value}`)
  else throw new UsageError(`option '--${name}' is given twice`, name)
}

function switchValue(name: string, text: string): boolean {
  if (!BOOLEAN_TEXT.test(text)) throw new UsageError(`option '--${name}' takes true or false (got '${text}')`, name)
  return text.toLowerCase() === 'true'
}
