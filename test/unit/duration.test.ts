import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration } from '../../src/inputs/duration.js'
import { InputError } from '../../src/domain/errors.js'

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h30m15s', 5_415_000],
    ['2m500ms', 120_500],
    ['250ms', 250],
    ['0ms', 0],
    ['0s', 0],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['2.25m', 135_000],
  ])('reads %s as %i milliseconds', (text, ms) => {
    expect(parseDuration(text, 'timeout')).toBe(ms)
  })

  it.each([
    ['30', 30_000],
    ['0', 0],
    ['0.5', 500],
    ['1.25', 1250],
    ['900', 900_000],
  ])('reads a plain number %s as seconds (%i ms)', (text, ms) => {
    expect(parseDuration(text, 'timeout')).toBe(ms)
  })

  it('tells minutes from milliseconds (1m is a minute, 1ms a millisecond)', () => {
    expect(parseDuration('1m', 'timeout')).toBe(60_000)
    expect(parseDuration('1ms', 'timeout')).toBe(1)
    expect(parseDuration('1m1ms', 'timeout')).toBe(60_001)
  })

  it('ignores surrounding whitespace', () => {
    expect(parseDuration('  90s\n', 'timeout')).toBe(90_000)
    expect(parseDuration(' 45 ', 'timeout')).toBe(45_000)
  })

  it('rounds sub-millisecond remainders to whole milliseconds', () => {
    expect(parseDuration('0.0004', 'timeout')).toBe(0)
    expect(parseDuration('1.0006s', 'timeout')).toBe(1001)
  })

  it.each([
    '',
    '   ',
    '-5s',
    '-5',
    '5x',
    '10 m',
    'abc',
    's',
    '1h30',
    '1h 30m',
    '5S',
    '1d',
    '1e3',
    '.5s',
    '5.s',
    '+5s',
    '5s-',
    'ms',
  ])('rejects %j with an InputError that names the input and repeats the value', (text) => {
    let err: unknown
    try {
      parseDuration(text, 'interval')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(InputError)
    const e = err as InputError
    expect(e.input).toBe('interval')
    expect(e.message.startsWith("input 'interval': ")).toBe(true)
    expect(e.message).toContain(`'${text}'`)
    expect(e.message).toMatch(/90s, 10m, 1h/)
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1499, '1s'],
    [1500, '2s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [600_000, '10m'],
    [3_600_000, '1h'],
    [3_601_000, '1h1s'],
    [3_660_000, '1h1m'],
    [5_400_000, '1h30m'],
    [5_415_000, '1h30m15s'],
    [90_000_000, '25h'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })

  it('rounds to the second above one second, carrying into minutes', () => {
    expect(formatDuration(59_600)).toBe('1m')
  })

  it.each(['1m30s', '10m', '1h', '1h30m', '250ms', '15m', '5s'])(
    'formats what parseDuration read from %s back to the same text',
    (text) => {
      expect(formatDuration(parseDuration(text, 'timeout'))).toBe(text)
    },
  )
})
