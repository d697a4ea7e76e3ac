/**
 * Server text is data. Database names, application_name, client addresses,
 * role names and server error texts can hold newlines, runner commands
 * (`::warning ...::`), Markdown and HTML. Everything the server says passes
 * through one of these before it reaches the log or the job summary.
 */

// C0 controls, DEL, C1 controls (NEL among them), LINE SEPARATOR, PARAGRAPH SEPARATOR,
// and the bidirectional overrides that make a line read differently from what it holds.
// eslint-disable-next-line no-control-regex -- matching control characters is this module's job
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * Server text as one printable line: a backslash and every control character
 * (CR and LF included) written as an escape (`\\`, `\n`, `\x1b`, `\u2028`),
 * and every `##[` as `\x23#[` (the runner finds that command form anywhere in a line).
 */
export function oneLine(text: string): string {
  const line = text.replace(/\\/g, '\\\\').replace(CONTROL, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }
    if (named[c]) return named[c]
    const code = c.charCodeAt(0)
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
  // Embedded anywhere in a log line, `##[` would still be a runner command.
  return defangHashCommand(line)
}

/**
 * Every character the runner's `String.TrimStart()` removes before it looks for
 * `::` (.NET's Char.IsWhiteSpace: the ASCII ones, U+0085 NEL, U+00A0, U+1680,
 * U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), plus U+180E and
 * U+FEFF, which older runtimes counted too. JavaScript's `\s` misses U+0085.
 */
export const RUNNER_WHITESPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'

const LEADING_COMMAND = new RegExp(`^([${RUNNER_WHITESPACE}]*):(?=:)`)

/**
 * A message for the log that no runner parses as a command. The runner knows
 * two forms: `::cmd::` at the start of a line after trimming whitespace, and
 * the older `##[cmd]` anywhere in a line (it searches with an unanchored
 * IndexOf). So in each line (split as the runner splits them: CR, LF, CRLF) a
 * leading `::` (after any of RUNNER_WHITESPACE) and every `##[` get their
 * first character escaped (`\x3a:`, `\x23#[`). The last line of defence: server
 * text inside messages goes through oneLine first.
 */
export function logLine(message: string): string {
  return message
    .split(/\r\n|\r|\n/)
    .map((line) => defangHashCommand(line).replace(LEADING_COMMAND, (_, space: string) => `${space}\\x3a`))
    .join('\n')
}

/** `##[` anywhere becomes `\x23#[`, which the runner's IndexOf("##[") does not find. */
function defangHashCommand(text: string): string {
  return text.replace(/#(?=#\[)/g, '\\x23')
}

/**
 * Text for Markdown (the job summary), on one line, with the characters that
 * could form a link, image, autolink, entity, HTML tag, code span or table cell
 * break backslash-escaped (backslash, backtick, brackets, angle brackets, `&`,
 * `|`, `!`, `@`, the `:` of `://` and the `.` of `www.`). * Emphasis characters are left alone: they can only
 * restyle the text, and escaping them would clutter every role name.
 */
export function markdownText(text: string): string {
  return oneLine(text)
    .replace(/[\\`[\]<>&|!@]/g, (c) => `\\${c}`)
    .replace(/:(?=\/\/)/g, '\\:')
    .replace(/(www)\./gi, '$1\\.')
}

/**
 * Text as a Markdown code span (rendered literally: no link, image or tag).
 * In a table cell a `|` must be written `\|` even inside a code span.
 */
export function markdownCode(text: string, inTable = false): string {
  let body = oneLine(text)
  if (body === '') return '(empty)'
  if (inTable) body = body.replace(/\|/g, '\\|')
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = body.startsWith('`') || body.endsWith('`') || body.startsWith(' ') ? ' ' : ''
  return `${fence}${pad}${body}${pad}${fence}`
}
