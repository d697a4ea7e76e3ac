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
 * (CR and LF included) written as an escape (`\\`, `\n`, `\x1b`, `\u2028`).
 */
export function oneLine(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(CONTROL, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }
    if (named[c]) return named[c]
    const code = c.charCodeAt(0)
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/**
 * A message for the log that no runner parses as a command: each of its lines
 * (split as the runner splits them: CR, LF, CRLF) that would start, after
 * leading whitespace, with `::` or `##[` gets its first character escaped.
 * The last line of defence; server text inside messages goes through oneLine first.
 */
export function logLine(message: string): string {
  return message
    .split(/\r\n|\r|\n/)
    .map((line) =>
      line.replace(
        /^(\s*)([:#])(?=:|#\[)/,
        (_, space: string, c: string) => `${space}\\x${c.charCodeAt(0).toString(16)}`,
      ),
    )
    .join('\n')
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
