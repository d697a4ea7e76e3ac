/**
 * The terminal's Reporter: what the core says goes to stderr (stdout is the result's), each
 * line masked, with control characters escaped and no runner command (`::` or `##[` at a
 * line's start: the CLI may run inside a CI runner). Colour only when stderr is a terminal
 * that takes it (Node's hasColors: NO_COLOR, FORCE_COLOR, TERM). verify-drain's polls are
 * one line redrawn in place on a terminal, one line each elsewhere.
 */
import { logLine } from '../domain/escape.js'
import type { Reporter } from '../domain/reporter.js'
import type { Masker } from './mask.js'

/** The part of a stream the CLI uses (process.stdout, process.stderr, or a test's stand-in). */
export interface Output {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
  hasColors?(): boolean
}

// Every control character but tab and newline, DEL, C1 controls, line and paragraph separators, bidi overrides.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * Text for a terminal: control characters (escape sequences among them) written as \xNN, and
 * no runner command: `::` or `##[` at a line's start (logLine), nor `##[` anywhere in a line,
 * which the Actions runner's older command format also obeys.
 */
export function terminalText(text: string): string {
  const visible = text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0)
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
  return logLine(visible).replace(/##\[/g, '\\x23#[')
}

export interface Style {
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  yellow(s: string): string
  green(s: string): string
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`
const COLOURS: Style = { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39) }
const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s, green: (s) => s }

/** Colours for a stream: only on a terminal that has them. */
export function styleFor(out: Output): Style {
  return out.isTTY && (out.hasColors?.() ?? true) ? COLOURS : PLAIN
}

export class TerminalReporter implements Reporter {
  private readonly style: Style
  /** A progress line is on screen without its newline. */
  private drawn = false

  constructor(
    private readonly err: Output,
    private readonly masker: Masker,
    private readonly verbose = false,
  ) {
    this.style = styleFor(err)
  }

  // Arrow properties: the core may call a method detached from the reporter ((r.notice ?? r.info)(m)).
  info = (message: string): void => this.line(this.clean(message))

  notice = (message: string): void => this.line(`${this.style.bold('notice:')} ${this.clean(message)}`)

  warning = (message: string): void => this.line(`${this.style.yellow('warning:')} ${this.clean(message)}`)

  debug = (message: string): void => {
    if (this.verbose) this.line(this.style.dim(`debug: ${this.clean(message)}`))
  }

  error = (message: string): void => this.line(`${this.style.red('error:')} ${this.clean(message)}`)

  secret = (value: string): void => this.masker.issuedSecret(value)

  progress = (message: string): void => {
    const text = this.clean(message).replace(/\n/g, ' ')
    if (!this.err.isTTY) return this.line(text)
    const width = Math.max(20, (this.err.columns || 80) - 1) // a pty without a size says 0
    const shown = [...text].length > width ? `${[...text].slice(0, width - 1).join('')}…` : text
    this.err.write(`\r\x1b[2K${shown}`)
    this.drawn = true
  }

  /** Ends a progress line left on screen (the last poll stays visible). */
  finish(): void {
    if (this.drawn) this.err.write('\n')
    this.drawn = false
  }

  private line(text: string): void {
    if (this.drawn) this.err.write('\r\x1b[2K')
    this.drawn = false
    this.err.write(`${text}\n`)
  }

  private clean(message: string): string {
    return terminalText(this.masker.mask(message))
  }
}
