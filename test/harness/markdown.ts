/** The lines a runner reads from a step's output (it splits on CR, LF and CRLF). */
export const runnerLines = (out: string): string[] => out.split(/\r\n|\r|\n/)

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
