import { InputError } from '../domain/errors.js'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses `90s`, `10m`, `1h`, `1h30m`, `250ms`, or a plain number of seconds
 * (`30`, `0.5`) into milliseconds. Rejects negative, empty and garbled values
 * with an error that names the input.
 */
export function parseDuration(value: string, input: string): number {
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const part = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy
  let total = 0
  let matched = 0
  let m: RegExpExecArray | null
  while ((m = part.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]]
    matched = part.lastIndex
  }
  if (text === '' || matched !== text.length) {
    throw new InputError(
      input,
      `'${value}' is not a duration; use a number of seconds or a value such as 90s, 10m, 1h, 1h30m or 500ms`,
    )
  }
  return Math.round(total)
}

/** 90000 -> "1m30s"; used in messages and summaries. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  let s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('')
}
