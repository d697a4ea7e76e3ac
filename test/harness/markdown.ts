/** The lines a runner reads from a step's output (it splits on CR, LF and CRLF). */
export const runnerLines = (out: string): string[] => out.split(/\r\n|\r|\n/)

/** What the runner's String.TrimStart() removes: .NET's Char.IsWhiteSpace (U+0085 included, unlike JavaScript's \s). */
const DOTNET_LEADING_WHITESPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*/

/**
 * The lines of a step's output that the runner parses as commands, as it does:
 * `::cmd::` at the start of the line after TrimStart(), or `##[cmd]` anywhere in
 * the line (its older parser searches with an unanchored IndexOf).
 */
export function runnerCommands(out: string): string[] {
  return runnerLines(out).filter((l) => l.replace(DOTNET_LEADING_WHITESPACE, '').startsWith('::') || l.includes('##['))
}

/** Markdown with its code spans removed: what a renderer parses as markup. */
export function outsideCodeSpans(md: string): string {
  return md.replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '')
}

/** The characters of `chars` that occur in markdown without a backslash before them. */
export function unescaped(md: string, chars: string): string[] {
  const found: string[] = []
  for (let i = 0; i < md.length; i++) {
    if (md[i] === '\\') {
      i++
      continue
    }
    if (chars.includes(md[i])) found.push(md[i])
  }
  return found
}
