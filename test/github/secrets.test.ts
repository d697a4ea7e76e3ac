import { createRequire } from 'node:module'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { InputError } from '../../src/domain/errors.js'
import { GitHubSecretsError, parseSecretMap, writeSecrets, type WriteSecretsOptions } from '../../src/github/secrets.js'
import type { Reporter } from '../../src/domain/reporter.js'
import { fakeGitHub as startFakeGitHub, KEY_ID, type FakeGitHub } from '../harness/fake-github.js'

// libsodium-wrappers' ES-module build is broken (see loadSodium in src/github/secrets.ts): use the CommonJS one.
type Sodium = typeof import('libsodium-wrappers')
const sodium = createRequire(import.meta.url)('libsodium-wrappers') as Sodium

const TOKEN = 'github_pat_11AAAAAAA0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP'
const PASSWORD = 'Zq9.x~Lm-2Pw_8sTn4Vb7Hc1Jd6Fg3Kr0'
const DATABASE_URL = `postgresql://app_b:${PASSWORD}@db.internal:5432/shop?sslmode=verify-full`

function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: (m) => lines.push(`debug: ${m}`),
    secret: () => {},
  }
}

const servers: FakeGitHub[] = []
type FakeOptions = Omit<Parameters<typeof startFakeGitHub>[0], 'token'>
const fakeGitHub = (opts: FakeOptions = {}) => startFakeGitHub({ token: TOKEN, ...opts })
async function github(opts: FakeOptions = {}): Promise<FakeGitHub> {
  const s = await fakeGitHub(opts)
  servers.push(s)
  return s
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

function options(gh: FakeGitHub, extra: Partial<WriteSecretsOptions> = {}): WriteSecretsOptions {
  return {
    token: TOKEN,
    apiUrl: gh.apiUrl,
    repository: 'octo-org/shop',
    secrets: { DB_PASSWORD: PASSWORD, DATABASE_URL },
    retryDelaysMs: [1, 1],
    ...extra,
  }
}

/** The error writeSecrets fails with; checks it carries neither the token nor a secret value. */
async function failure(promise: Promise<unknown>): Promise<GitHubSecretsError> {
  const e = await promise.then(
    () => {
      throw new Error('expected writeSecrets to fail')
    },
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(GitHubSecretsError)
  const err = e as GitHubSecretsError
  for (const secret of [TOKEN, PASSWORD, DATABASE_URL, 'github_pat_']) expect(err.message).not.toContain(secret)
  expect(err.message).not.toContain('\n')
  return err
}

beforeAll(async () => {
  await sodium.ready
})

describe('writeSecrets', () => {
  it('writes repository secrets that GitHub can open with its private key', async () => {
    const gh = await github()
    const reporter = recorder()
    const result = await writeSecrets({ ...options(gh), reporter })
    expect(result).toEqual({ written: ['DB_PASSWORD', 'DATABASE_URL'] })
    expect(gh.stored.get('repo')).toEqual(
      new Map([
        ['DB_PASSWORD', PASSWORD],
        ['DATABASE_URL', DATABASE_URL],
      ]),
    )
    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /repos/octo-org/shop/actions/secrets/public-key',
      'PUT /repos/octo-org/shop/actions/secrets/DB_PASSWORD',
      'PUT /repos/octo-org/shop/actions/secrets/DATABASE_URL',
    ])
    for (const r of gh.requests) {
      expect(r.headers.authorization).toMatch(new RegExp(`^(token|Bearer) ${TOKEN}$`))
      expect(r.headers['x-github-api-version']).toBe('2022-11-28')
    }
    for (const r of gh.requests.slice(1)) {
      expect(r.body?.key_id).toBe(KEY_ID)
      // Standard, padded base64 of a sealed box: 48 bytes of overhead around the value.
      expect(r.body?.encrypted_value).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
      expect(JSON.stringify(r.body)).not.toContain(PASSWORD)
    }
    expect(Buffer.from(gh.requests[1].body!.encrypted_value!, 'base64')).toHaveLength(PASSWORD.length + 48)
    expect(reporter.lines).toEqual([
      'info: Wrote secret DB_PASSWORD to repository octo-org/shop.',
      'info: Wrote secret DATABASE_URL to repository octo-org/shop.',
    ])
  })

  it('seals each value afresh: the same value gives different ciphertexts', async () => {
    const gh = await github()
    await writeSecrets({ ...options(gh), secrets: { A: PASSWORD, B: PASSWORD } })
    const [a, b] = gh.requests.slice(1).map((r) => r.body?.encrypted_value)
    expect(a).not.toBe(b)
    expect(gh.stored.get('repo')).toEqual(
      new Map([
        ['A', PASSWORD],
        ['B', PASSWORD],
      ]),
    )
  })

  it('updates a secret that exists (204) as well as creating one (201)', async () => {
    const gh = await github()
    await writeSecrets({ ...options(gh), secrets: { DB_PASSWORD: 'first-value' } })
    await writeSecrets({ ...options(gh), secrets: { DB_PASSWORD: PASSWORD } })
    expect(gh.stored.get('repo')?.get('DB_PASSWORD')).toBe(PASSWORD)
  })

  it('writes environment secrets, encoding the environment name in the path', async () => {
    const gh = await github({ environments: ['production', 'eu prod/1'] })
    const reporter = recorder()
    for (const environment of ['production', 'eu prod/1']) {
      expect(await writeSecrets({ ...options(gh), environment, reporter })).toEqual({
        written: ['DB_PASSWORD', 'DATABASE_URL'],
      })
      expect(gh.stored.get(`env:${environment}`)?.get('DATABASE_URL')).toBe(DATABASE_URL)
    }
    expect(gh.stored.has('repo')).toBe(false)
    expect(gh.requests.map((r) => `${r.method} ${r.path}`).slice(3)).toEqual([
      'GET /repos/octo-org/shop/environments/eu%20prod%2F1/secrets/public-key',
      'PUT /repos/octo-org/shop/environments/eu%20prod%2F1/secrets/DB_PASSWORD',
      'PUT /repos/octo-org/shop/environments/eu%20prod%2F1/secrets/DATABASE_URL',
    ])
    expect(reporter.lines).toContain("info: Wrote secret DB_PASSWORD to environment 'production' of octo-org/shop.")
  })

  it('works with a GitHub Enterprise Server API URL (/api/v3), with or without a trailing slash', async () => {
    const gh = await github({ prefix: '/api/v3', environments: ['production'] })
    expect(gh.apiUrl).toMatch(/\/api\/v3$/)
    await writeSecrets({ ...options(gh), apiUrl: `${gh.apiUrl}/` })
    await writeSecrets({ ...options(gh), apiUrl: gh.apiUrl, environment: 'production' })
    expect(gh.requests.every((r) => !r.path.startsWith('(outside'))).toBe(true)
    expect(gh.stored.get('repo')?.get('DB_PASSWORD')).toBe(PASSWORD)
    expect(gh.stored.get('env:production')?.get('DB_PASSWORD')).toBe(PASSWORD)
  })

  it('refuses a plain-http API URL to another host before sending anything (the token would travel in clear)', async () => {
    const gh = await github()
    const started = Date.now()
    const err = await failure(writeSecrets({ ...options(gh), apiUrl: 'http://192.0.2.1/api/v3' }))
    expect(err.message).toMatch(/^GITHUB_API_URL is http:\/\/192\.0\.2\.1: plain HTTP to another host/)
    expect(err.written).toEqual([])
    expect(Date.now() - started).toBeLessThan(5000) // refused, not a network timeout
  })

  it('writes nothing and makes no request when there is nothing to write', async () => {
    const gh = await github()
    expect(await writeSecrets({ ...options(gh), secrets: {} })).toEqual({ written: [] })
    expect(gh.requests).toHaveLength(0)
  })

  it('reports an invalid or expired token (401) without printing it', async () => {
    const gh = await github()
    const err = await failure(writeSecrets({ ...options(gh), token: 'ghp_expired0123456789abcdefghijklmnopqrstu' }))
    expect(err.status).toBe(401)
    expect(err.written).toEqual([])
    expect(err.message).toBe(
      `GitHub API at ${gh.apiUrl} rejected the token in github-token (401 Bad credentials): it is invalid, expired or revoked. ` +
        'Give a current token; it needs the "Secrets" repository permission with write access on octo-org/shop ' +
        '(a fine-grained personal access token or a GitHub App installation token; a classic token needs the repo scope). No secret was written.',
    )
    expect(err.message).not.toContain('ghp_expired')
    expect(gh.requests).toHaveLength(1) // not retried
  })

  it('names the input the token came from', async () => {
    const gh = await github()
    const err = await failure(writeSecrets({ ...options(gh), token: 'wrong-token-value', tokenInput: 'secrets-token' }))
    expect(err.message).toContain('rejected the token in secrets-token (401')
  })

  it('reports a token without "Secrets: write" (403 on the public key), and that GITHUB_TOKEN cannot write secrets', async () => {
    const gh = await github({
      intercept: (method) =>
        method === 'GET' ? { status: 403, body: { message: 'Resource not accessible by integration' } } : undefined,
    })
    const err = await failure(writeSecrets(options(gh)))
    expect(err.status).toBe(403)
    expect(err.message).toBe(
      'The token in github-token may not read the public key of repository octo-org/shop ' +
        '(403 Resource not accessible by integration on GET /repos/{owner}/{repo}/actions/secrets/public-key): ' +
        'it needs the "Secrets" repository permission with write access on octo-org/shop ' +
        '(a fine-grained personal access token or a GitHub App installation token; a classic token needs the repo scope). ' +
        "The workflow's GITHUB_TOKEN cannot write secrets, whatever its permissions: pass another token. No secret was written.",
    )
    expect(gh.requests).toHaveLength(1)
  })

  it('reports a 403 on a PUT, naming the secrets written before it', async () => {
    const gh = await github({
      intercept: (method, path) =>
        method === 'PUT' && path.endsWith('/DATABASE_URL')
          ? { status: 403, body: { message: 'Resource not accessible by personal access token' } }
          : undefined,
    })
    const err = await failure(writeSecrets(options(gh)))
    expect(err.status).toBe(403)
    expect(err.written).toEqual(['DB_PASSWORD'])
    expect(err.message).toContain(
      'The token in github-token may not write secret DATABASE_URL to repository octo-org/shop',
    )
    expect(err.message).toContain(
      '(403 Resource not accessible by personal access token on PUT /repos/{owner}/{repo}/actions/secrets/{secret_name})',
    )
    expect(err.message).toContain('GITHUB_TOKEN cannot write secrets')
    expect(err.message).toMatch(/Already written: DB_PASSWORD\.$/)
    expect(gh.stored.get('repo')).toEqual(new Map([['DB_PASSWORD', PASSWORD]]))
  })

  it('reports a 404 on a repository as a missing repository or a token that cannot see its secrets', async () => {
    const gh = await github()
    const err = await failure(writeSecrets({ ...options(gh), repository: 'octo-org/missing' }))
    expect(err.status).toBe(404)
    expect(err.message).toContain(
      'The token in github-token may not read the public key of repository octo-org/missing (404 Not Found on GET',
    )
    expect(err.message).toContain(
      ', or octo-org/missing does not exist or is not visible to it: it needs the "Secrets" repository permission with write access',
    )
    expect(err.message).toContain('GITHUB_TOKEN cannot write secrets')
  })

  it('reports a 404 on an environment as an environment that does not exist', async () => {
    const gh = await github({ environments: ['production'] })
    const err = await failure(writeSecrets({ ...options(gh), environment: 'staging' }))
    expect(err.status).toBe(404)
    expect(err.message).toBe(
      `GitHub API at ${gh.apiUrl} found no environment 'staging' in octo-org/shop ` +
        '(404 on GET /repos/{owner}/{repo}/environments/{environment_name}/secrets/public-key): ' +
        'create it under Settings > Environments or fix the environment name. If it exists, the token in github-token cannot see it: ' +
        'it needs the "Secrets" and "Environments" repository permissions with write access on octo-org/shop ' +
        '(a fine-grained personal access token or a GitHub App installation token; a classic token needs the repo scope). No secret was written.',
    )
  })

  it('reports an exhausted rate limit as such, not as a permission problem', async () => {
    const gh = await github({
      intercept: () => ({
        status: 403,
        body: { message: 'API rate limit exceeded for installation ID 1.' },
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1798761600' },
      }),
    })
    const err = await failure(writeSecrets(options(gh)))
    expect(err.message).toContain(
      "refused reading the public key of repository octo-org/shop because the token's rate limit is exhausted (403); the limit resets at 2027-01-01T00:00:00.000Z",
    )
    expect(err.message).not.toContain('GITHUB_TOKEN')
  })

  it('retries 5xx answers: fails twice, then succeeds', async () => {
    const gh = await github({
      intercept: (method, path, count) => {
        if (method === 'GET' && count < 2) return { status: 502, body: { message: 'Server Error' } }
        if (method === 'PUT' && path.endsWith('/DATABASE_URL') && count < 2) return { status: 503 }
        return undefined
      },
    })
    const reporter = recorder()
    expect(await writeSecrets({ ...options(gh), reporter })).toEqual({ written: ['DB_PASSWORD', 'DATABASE_URL'] })
    expect(gh.requests).toHaveLength(3 + 1 + 3)
    expect(gh.stored.get('repo')?.get('DATABASE_URL')).toBe(DATABASE_URL)
    expect(reporter.lines.filter((l) => l.includes('retrying'))).toEqual([
      'info: GitHub API: reading the public key of repository octo-org/shop failed (502 Server Error); retrying in 1 ms (attempt 2 of 3).',
      'info: GitHub API: reading the public key of repository octo-org/shop failed (502 Server Error); retrying in 1 ms (attempt 3 of 3).',
      'info: GitHub API: writing secret DATABASE_URL to repository octo-org/shop failed (503); retrying in 1 ms (attempt 2 of 3).',
      'info: GitHub API: writing secret DATABASE_URL to repository octo-org/shop failed (503); retrying in 1 ms (attempt 3 of 3).',
    ])
  })

  it('waits between attempts on the clock it is given (default delays 1 s, 3 s), not on real timers', async () => {
    const gh = await github({
      intercept: (method, _path, count) => (method === 'GET' && count < 2 ? { status: 502 } : undefined),
    })
    const waits: number[] = []
    const clock = { now: () => new Date(), sleep: async (ms: number) => void waits.push(ms) }
    const started = Date.now()
    const result = await writeSecrets({ ...options(gh), retryDelaysMs: undefined, clock })
    expect(result).toEqual({ written: ['DB_PASSWORD', 'DATABASE_URL'] })
    expect(waits).toEqual([1000, 3000])
    // Real timers would have taken the 4 s themselves.
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('gives up after three attempts when GitHub keeps failing', async () => {
    const gh = await github({
      intercept: (method) =>
        method === 'PUT' ? { status: 500, body: { message: 'Internal Server Error' } } : undefined,
    })
    const err = await failure(writeSecrets(options(gh)))
    expect(err.status).toBe(500)
    expect(err.written).toEqual([])
    expect(err.message).toBe(
      `GitHub API at ${gh.apiUrl} failed while writing secret DB_PASSWORD to repository octo-org/shop after 3 attempts: ` +
        "500 Internal Server Error. Check the API URL and GitHub's status, then run the phase again. No secret was written.",
    )
    expect(gh.requests.filter((r) => r.method === 'PUT')).toHaveLength(3)
  })

  it('retries as many times as there are delays', async () => {
    const gh = await github({ intercept: () => ({ status: 504 }) })
    const err = await failure(writeSecrets({ ...options(gh), retryDelaysMs: [1, 1, 1, 1] }))
    expect(err.message).toContain('after 5 attempts: 504.')
    expect(gh.requests).toHaveLength(5)
    const once = await failure(writeSecrets({ ...options(gh), retryDelaysMs: [] }))
    expect(once.message).toContain('failed while reading the public key of repository octo-org/shop: 504.')
  })

  it('retries network errors, then reports them', async () => {
    const gh = await github({ intercept: (_m, _p, count) => (count < 1 ? 'drop' : undefined) })
    expect(await writeSecrets(options(gh))).toEqual({ written: ['DB_PASSWORD', 'DATABASE_URL'] })

    const down = await fakeGitHub()
    const apiUrl = down.apiUrl
    await down.close()
    const err = await failure(writeSecrets({ ...options(down), apiUrl }))
    expect(err.status).toBeUndefined()
    expect(err.message).toMatch(
      new RegExp(
        `^GitHub API at ${apiUrl.replace(/\./g, '\\.')} failed while reading the public key of repository octo-org/shop after 3 attempts: network error: .+\\. Check the API URL`,
      ),
    )
  })

  it('times out a request that gets no answer, and retries it', async () => {
    const gh = await github({ intercept: (method, _p, count) => (method === 'GET' && count < 1 ? 'hang' : undefined) })
    expect(await writeSecrets({ ...options(gh), requestTimeoutMs: 300 })).toEqual({
      written: ['DB_PASSWORD', 'DATABASE_URL'],
    })

    const dead = await github({ intercept: () => 'hang' })
    const err = await failure(writeSecrets({ ...options(dead), requestTimeoutMs: 200, retryDelaysMs: [1] }))
    expect(err.message).toContain('after 2 attempts: network error: no answer within the request timeout.')
  })

  it('never prints the token or a value, even when GitHub echoes them', async () => {
    const gh = await github({
      intercept: (method) =>
        method === 'PUT'
          ? {
              status: 422,
              body: {
                message: `Invalid request: token ${TOKEN} value ${PASSWORD} url ${encodeURIComponent(DATABASE_URL)}`,
              },
            }
          : {
              status: 200,
              body: {
                key_id: KEY_ID,
                key: sodium.to_base64(sodium.crypto_box_keypair().publicKey, sodium.base64_variants.ORIGINAL),
              },
            },
    })
    const reporter = recorder()
    const err = await failure(writeSecrets({ ...options(gh), reporter }))
    expect(err.status).toBe(422)
    expect(err.message).toContain(
      'refused writing secret DB_PASSWORD to repository octo-org/shop (422 Invalid request: token *** value *** url *** on PUT',
    )
    for (const line of reporter.lines)
      for (const secret of [TOKEN, PASSWORD, DATABASE_URL]) expect(line).not.toContain(secret)

    // A long message is shortened after redaction, so no piece of a secret survives the cut.
    const long = await github({
      intercept: (method) =>
        method === 'PUT'
          ? { status: 422, body: { message: `${'x'.repeat(190)}${PASSWORD}` } }
          : {
              status: 200,
              body: {
                key_id: KEY_ID,
                key: sodium.to_base64(sodium.crypto_box_keypair().publicKey, sodium.base64_variants.ORIGINAL),
              },
            },
    })
    const cut = await failure(writeSecrets(options(long)))
    expect(cut.message).toContain(`${'x'.repeat(190)}***`)
    expect(cut.message).not.toContain(PASSWORD.slice(0, 6))
  })

  it('refuses a public key that is not a 32-byte key', async () => {
    const gh = await github({
      intercept: () => ({ status: 200, body: { key_id: KEY_ID, key: Buffer.alloc(16).toString('base64') } }),
    })
    const err = await failure(writeSecrets(options(gh)))
    expect(err.message).toBe(
      `GitHub API at ${gh.apiUrl} returned a public key for repository octo-org/shop that is not a 32-byte base64 key; no secret was written.`,
    )
  })

  it('checks its arguments before any request', async () => {
    const gh = await github()
    const cases: [Partial<WriteSecretsOptions>, string][] = [
      [{ repository: 'octo-org' }, "'octo-org' is not a repository; expected owner/name"],
      [{ repository: 'octo-org/shop/extra' }, 'is not a repository'],
      [{ token: '' }, 'github-token is empty; give a token with "Secrets: write" on octo-org/shop'],
      [
        { secrets: { 'BAD-NAME': PASSWORD } },
        "secret name 'BAD-NAME' may contain only letters, digits and underscores",
      ],
      [{ secrets: { GITHUB_X: PASSWORD } }, 'must not start with GITHUB_'],
      [{ secrets: { DB_PASSWORD: '' } }, 'the value for secret DB_PASSWORD is empty'],
      [{ token: `${TOKEN}\n` }, 'github-token contains spaces, line breaks or other characters a token cannot have'],
      [{ token: `Bearer ${TOKEN}` }, 'github-token contains spaces'],
      [{ apiUrl: 'api.github.com' }, 'the GitHub API URL is not an http(s) URL'],
      [{ apiUrl: `http://user:${TOKEN}@127.0.0.1/api/v3` }, 'the GitHub API URL is not an http(s) URL'],
    ]
    for (const [extra, message] of cases)
      expect((await failure(writeSecrets({ ...options(gh), ...extra }))).message).toContain(message)
    expect(gh.requests).toHaveLength(0)
  })
})

describe('parseSecretMap', () => {
  function inputError(text: string): InputError {
    try {
      parseSecretMap(text)
    } catch (e) {
      expect(e).toBeInstanceOf(InputError)
      expect((e as InputError).input).toBe('github-secrets')
      return e as InputError
    }
    throw new Error('expected an InputError')
  }

  it('reads one SECRET_NAME=output per line, skipping blank lines and comments', () => {
    const text = [
      '# written after open',
      'DB_USER=username',
      '',
      '  db_password = password  ',
      '\t# indented comment',
      'DATABASE_URL=database-url\r',
      '_LEGACY_URL=database-url',
      '',
    ].join('\n')
    expect(parseSecretMap(text)).toEqual([
      { name: 'DB_USER', output: 'username' },
      { name: 'DB_PASSWORD', output: 'password' },
      { name: 'DATABASE_URL', output: 'database-url' },
      { name: '_LEGACY_URL', output: 'database-url' },
    ])
  })

  it('reads nothing from empty or comment-only text', () => {
    expect(parseSecretMap('')).toEqual([])
    expect(parseSecretMap('\n  \n# nothing yet\n')).toEqual([])
  })

  it('accepts Windows line endings', () => {
    expect(parseSecretMap('A=username\r\nB=password\r\n')).toEqual([
      { name: 'A', output: 'username' },
      { name: 'B', output: 'password' },
    ])
  })

  it('requires SECRET_NAME=output, naming the line', () => {
    expect(inputError('A=username\nDB_PASSWORD password').message).toBe(
      "input 'github-secrets': line 2: expected SECRET_NAME=output, e.g. DB_PASSWORD=password",
    )
    expect(inputError('=password').message).toBe("input 'github-secrets': line 1: the secret name before = is empty")
    expect(inputError('A=').message).toBe(
      "input 'github-secrets': line 1: no output after =; use one of username, password, database-url",
    )
  })

  it("follows GitHub's rules for secret names", () => {
    expect(inputError('DB-PASSWORD=password').message).toBe(
      "input 'github-secrets': line 1: secret name 'DB-PASSWORD' may contain only letters, digits and underscores",
    )
    expect(inputError('DB PASSWORD=password').message).toContain("secret name 'DB PASSWORD' may contain only")
    expect(inputError('Pässword=password').message).toContain('may contain only letters, digits and underscores')
    expect(inputError('1PASSWORD=password').message).toBe(
      "input 'github-secrets': line 1: secret name '1PASSWORD' must not start with a digit",
    )
    expect(inputError('GITHUB_DB=password').message).toBe(
      "input 'github-secrets': line 1: secret name 'GITHUB_DB' must not start with GITHUB_ (reserved by GitHub)",
    )
    expect(inputError('github_db=password').message).toContain('must not start with GITHUB_')
    expect(parseSecretMap('GITHUBDB=password\n_1=username')).toEqual([
      { name: 'GITHUBDB', output: 'password' },
      { name: '_1', output: 'username' },
    ])
  })

  it('names each secret once, case-insensitively as GitHub does', () => {
    expect(inputError('DB_PASSWORD=password\n# again\ndb_password=database-url').message).toBe(
      "input 'github-secrets': line 3: secret DB_PASSWORD is already written by line 1 (secret names are case-insensitive); name each secret once",
    )
  })

  it('writes the same output to several secrets', () => {
    expect(parseSecretMap('A=password\nB=password')).toEqual([
      { name: 'A', output: 'password' },
      { name: 'B', output: 'password' },
    ])
  })

  it('accepts only the outputs username, password and database-url', () => {
    expect(inputError('A=databaseurl').message).toBe(
      "input 'github-secrets': line 1: 'databaseurl' is not an output that can be written; use one of username, password, database-url",
    )
    expect(inputError('A=rotation-id').message).toContain("'rotation-id' is not an output that can be written")
    expect(inputError('A=Password').message).toContain("'Password' is not an output")
  })

  it('does not echo what could be a pasted value', () => {
    for (const value of [DATABASE_URL, PASSWORD, `\${{ secrets.X }}`]) {
      const err = inputError(`DB_URL=${value}`)
      expect(err.message).toBe(
        "input 'github-secrets': line 1: the text after = is not an output; use one of username, password, database-url",
      )
    }
  })
})
