/**
 * The `github-secrets` input: which GitHub secrets receive which output. Pure,
 * and free of the GitHub client, so the config can use it at start-up.
 */
import { InputError } from '../domain/errors.js'

export const SECRET_OUTPUTS = ['username', 'password', 'database-url'] as const
export type SecretOutput = (typeof SECRET_OUTPUTS)[number]

/** One line of the `github-secrets` input: write `output` to the secret `name`. */
export interface SecretMapping {
  /** Upper-cased, as GitHub stores it. */
  name: string
  output: SecretOutput
}

const INPUT = 'github-secrets'

/**
 * Parses `github-secrets`: one `SECRET_NAME=output` per line, output one of
 * username, password, database-url. Blank lines and lines starting with `#` are
 * ignored. Names follow GitHub's rules and are upper-cased, as GitHub does.
 */
export function parseSecretMap(text: string): SecretMapping[] {
  const out: SecretMapping[] = []
  const seen = new Map<string, number>()
  text.split(/\r?\n/).forEach((raw, i) => {
    const n = i + 1
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const eq = line.indexOf('=')
    if (eq < 0) throw new InputError(INPUT, `line ${n}: expected SECRET_NAME=output, e.g. DB_PASSWORD=password`)
    const name = line.slice(0, eq).trim()
    const output = line.slice(eq + 1).trim()
    const problem = secretNameProblem(name)
    if (problem) throw new InputError(INPUT, `line ${n}: ${problem}`)
    const upper = name.toUpperCase()
    const first = seen.get(upper)
    if (first !== undefined) {
      throw new InputError(
        INPUT,
        `line ${n}: secret ${upper} is already written by line ${first} (secret names are case-insensitive); name each secret once`,
      )
    }
    if (!(SECRET_OUTPUTS as readonly string[]).includes(output)) {
      // Echo only what looks like a misspelt output name: the text could be a pasted value.
      const shown = /^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(output)
        ? `'${output}' is not an output that can be written`
        : output === ''
          ? 'no output after ='
          : 'the text after = is not an output'
      throw new InputError(INPUT, `line ${n}: ${shown}; use one of ${SECRET_OUTPUTS.join(', ')}`)
    }
    seen.set(upper, n)
    out.push({ name: upper, output: output as SecretOutput })
  })
  return out
}

/** What is wrong with a secret name by GitHub's rules, or null. */
export function secretNameProblem(name: string): string | null {
  if (name === '') return 'the secret name before = is empty'
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    // eslint-disable-next-line no-control-regex -- a name with control characters is not echoed
    const shown = name.length <= 100 && !/[\0-\x1f\x7f]/.test(name) ? `'${name}' ` : ''
    return `secret name ${shown}may contain only letters, digits and underscores`
  }
  if (/^[0-9]/.test(name)) return `secret name '${name}' must not start with a digit`
  if (/^GITHUB_/i.test(name)) return `secret name '${name}' must not start with GITHUB_ (reserved by GitHub)`
  return null
}
