import { describe, expect, it } from 'vitest'
import { logLine, markdownCode, markdownText, oneLine } from '../../src/domain/escape.js'
import { outsideCodeSpans, runnerCommands, runnerLines, unescaped } from '../harness/markdown.js'

const HOSTILE_DB = 'hj\n::warning title=x::pwned\r::error::also\u2028::notice::ls\u0085::debug::nel'
const HOSTILE_APP =
  '[x](https://evil.example/p) ![i](https://evil.example/i.png) <img src=x> www.evil.example a@evil.example | `code` &amp;'

describe('oneLine: server text in a log line', () => {
  it('keeps a database name with line breaks and runner commands on one line, every break visible', () => {
    const s = oneLine(HOSTILE_DB)
    expect(runnerLines(s)).toHaveLength(1)
    expect(s).toBe('hj\\n::warning title=x::pwned\\r::error::also\\u2028::notice::ls\\x85::debug::nel')
  })

  it('defangs ##[ anywhere in the text, so it stays data wherever the line embeds it', () => {
    expect(oneLine('x ##[stop-commands]hush')).toBe('x \\x23#[stop-commands]hush')
    expect(runnerCommands(`application_name '${oneLine('##[error]forged')}'`)).toEqual([])
    // An escape the text already holds stays distinguishable from one the escaping wrote.
    expect(oneLine('\\x23#[x]')).toBe('\\\\x23#[x]')
  })

  it('escapes other controls, bidirectional overrides and the backslash itself, so the text reads unambiguously', () => {
    expect(oneLine('a\tb\x1b[31mc\x00d\u202ee\\n')).toBe('a\\tb\\x1b[31mc\\x00d\\u202ee\\\\n')
    expect(oneLine('plain name_1 "quoted" ü')).toBe('plain name_1 "quoted" ü')
  })
})

describe("logLine: the adapter's last line of defence for info messages", () => {
  it('no line of the message starts a runner command, even after leading whitespace or a bare CR', () => {
    const out = logLine('poll 1: ok\n::warning title=x::pwned\r  ::error::x\r\n##[add-mask]secret\nfine :: here')
    for (const line of runnerLines(out)) expect(line.trimStart()).not.toMatch(/^(::|##\[)/)
    expect(out).toBe('poll 1: ok\n\\x3a:warning title=x::pwned\n  \\x3a:error::x\n\\x23#[add-mask]secret\nfine :: here')
  })

  it('no ##[command] anywhere in a line: the runner finds that form with an unanchored IndexOf', () => {
    const msg =
      'Copied the configuration of "app_a" to "app_b": application_name=x ##[stop-commands]hush; a ###[error]b'
    const out = logLine(msg)
    expect(runnerCommands(out)).toEqual([])
    expect(out).toBe(
      'Copied the configuration of "app_a" to "app_b": application_name=x \\x23#[stop-commands]hush; a #\\x23#[error]b',
    )
  })

  it('every character the runner trims before :: counts as whitespace, U+0085 NEL included', () => {
    const spaces = [
      '\u0085',
      '\u00a0',
      '\u1680',
      '\u2000',
      '\u2005',
      '\u200a',
      '\u2028',
      '\u2029',
      '\u202f',
      '\u205f',
      '\u3000',
    ]
    for (const sp of spaces) {
      const out = logLine(`${sp}${sp}::stop-commands::hush`)
      expect(runnerCommands(out), JSON.stringify(sp)).toEqual([])
      expect(out).toBe(`${sp}${sp}\\x3a:stop-commands::hush`)
    }
  })

  it("leaves the action's ordinary messages as they are", () => {
    expect(logLine('Waiting up to 15m for "app_a" to drain.')).toBe('Waiting up to 15m for "app_a" to drain.')
  })
})

describe('markdownText: server text in the job summary', () => {
  it('an application_name holding a link, an image, a tag, autolinks and an entity renders none of them', () => {
    const md = markdownText(HOSTILE_APP)
    expect(unescaped(md, '[]<>!`&|@')).toEqual([])
    expect(md).not.toMatch(/(?<!\\):\/\//)
    expect(md).not.toMatch(/www\./i)
    expect(md).toBe(
      '\\[x\\](https\\://evil.example/p) \\!\\[i\\](https\\://evil.example/i.png) \\<img src=x\\> www\\.evil.example a\\@evil.example \\| \\`code\\` \\&amp;',
    )
  })

  it('keeps line breaks out, so a name cannot end a table row or open a block', () => {
    expect(runnerLines(markdownText(HOSTILE_DB))).toHaveLength(1)
  })
})

describe('markdownCode: server text as a code span', () => {
  it('renders literally: a fence longer than any backtick run, pipes escaped in a table cell', () => {
    expect(markdownCode('a`b``c')).toBe('```a`b``c```')
    expect(markdownCode('`x`')).toBe('`` `x` ``')
    expect(markdownCode('<img src=x>|y', true)).toBe('`<img src=x>\\|y`')
    expect(markdownCode('')).toBe('(empty)')
    expect(outsideCodeSpans(`| ${markdownCode(HOSTILE_APP, true)} |`)).toBe('|  |')
  })
})
