/**
 * Every workflow a reader may copy from the docs is checked with GitHub's own parser:
 * the recipes in docs/recipes/*.yml, and every complete workflow (a YAML block with
 * top-level `on:` and `jobs:`) shown in the README or a Markdown file under docs/.
 * Steps that use the action (`uses: pg-credential-rotation/pg-credential-rotation@v1`) pass only inputs action.yml
 * declares, with the required ones, and read only outputs it declares. Relative links
 * in the Markdown point at files that exist.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  convertWorkflowTemplate,
  isMapping,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
  type TemplateParseResult,
} from '@actions/workflow-parser'
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/index'
import { describe, expect, it } from 'vitest'
import { parseAction } from '../scripts/docs.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const recipes = join(root, 'docs', 'recipes')
/** How the docs refer to the action (its published path). */
const ACTION_USES = /^pg-credential-rotation\/pg-credential-rotation@/
const action = parseAction(readFileSync(join(root, 'action.yml'), 'utf8'))
const inputs = new Set(action.inputs.map((i) => i.name))
const required = action.inputs.filter((i) => i.required).map((i) => i.name)
const outputs = new Set(action.outputs.map((o) => o.name))

function markdownFiles(): string[] {
  const out = ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', 'CHANGELOG.md'].filter((f) => existsSync(join(root, f)))
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const path = join(dir, name)
      if (statSync(join(root, path)).isDirectory()) walk(path)
      else if (name.endsWith('.md')) out.push(path)
    }
  }
  walk('docs')
  return out
}

/** Recipes for other CI systems (checked by their own tests, e.g. test/cli/gitlab-recipe.test.ts). */
const NOT_GITHUB = new Set(['gitlab-ci.yml'])

function recipeFiles(): string[] {
  return readdirSync(recipes)
    .filter((f) => /\.ya?ml$/.test(f) && !NOT_GITHUB.has(f))
    .sort()
}

function parse(name: string, content: string): TemplateParseResult {
  return parseWorkflow({ name, content }, new NoOperationTraceWriter())
}

async function problems(name: string, content: string): Promise<string[]> {
  const result = parse(name, content)
  const errors = result.context.errors.getErrors().map((e) => e.message)
  if (errors.length || !result.value) return errors
  const template = await convertWorkflowTemplate(result.context, result.value, undefined, {})
  return [...errors, ...(template.errors ?? []).map((e) => e.Message)]
}

interface ActionStep {
  where: string
  with: string[]
}

/** Steps that use the action, and the `steps.<id>.outputs.<name>` expressions that read them. */
function actionSteps(
  name: string,
  content: string,
): { steps: ActionStep[]; reads: { where: string; output: string }[] } {
  const result = parse(name, content)
  const steps: ActionStep[] = []
  const reads: { where: string; output: string }[] = []
  const jobs = isMapping(result.value!) ? result.value.find('jobs') : undefined
  if (!jobs || !isMapping(jobs)) return { steps, reads }
  for (const { key, value: job } of jobs) {
    if (!isMapping(job)) continue
    const jobId = isString(key) ? key.value : String(key)
    const stepsToken = job.find('steps')
    const ids = new Set<string>()
    for (const step of stepsToken && isSequence(stepsToken) ? [...stepsToken] : []) {
      if (!isMapping(step)) continue
      const uses = step.find('uses')
      if (!uses || !isString(uses) || !ACTION_USES.test(uses.value)) continue
      const id = step.find('id')
      if (id && isString(id)) ids.add(id.value)
      const w = step.find('with')
      const keys = w && isMapping(w) ? [...w].map((kv) => (isString(kv.key) ? kv.key.value : String(kv.key))) : []
      steps.push({ where: `${name}: job ${jobId}, step ${id && isString(id) ? id.value : '?'}`, with: keys })
    }
    const text = JSON.stringify(tokenText(job))
    for (const m of text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g))
      if (ids.has(m[1])) reads.push({ where: `${name}: job ${jobId}`, output: m[2] })
  }
  return { steps, reads }
}

function tokenText(t: TemplateToken): unknown {
  if (isMapping(t)) return [...t].map((kv) => [tokenText(kv.key), tokenText(kv.value)])
  if (isSequence(t)) return [...t].map(tokenText)
  return String(t)
}

function checkActionUse(name: string, content: string) {
  const { steps, reads } = actionSteps(name, content)
  for (const step of steps) {
    expect(
      step.with.filter((k) => !inputs.has(k)),
      `${step.where} passes undeclared inputs`,
    ).toEqual([])
    expect(
      required.filter((k) => !step.with.includes(k)),
      `${step.where} misses required inputs`,
    ).toEqual([])
  }
  for (const r of reads)
    expect(outputs.has(r.output), `${r.where} reads output ${r.output}, not in action.yml`).toBe(true)
  return steps.length
}

/** YAML blocks of a Markdown file that are complete workflows, with the marker before them, if any. */
function workflowBlocks(file: string): { index: number; yaml: string; marker?: string }[] {
  const text = readFileSync(join(root, file), 'utf8')
  return [
    ...text.matchAll(
      /(?:<!-- (?:file: )?([\w./-]+\.ya?ml) -->\n)?(?:<(?!!--)[^>\n]+>\n|\n)*```ya?ml\n([\s\S]*?)\n```/g,
    ),
  ]
    .map((m, index) => ({ index, marker: m[1], yaml: m[2] }))
    .filter((b) => /^on:/m.test(b.yaml) && /^jobs:/m.test(b.yaml))
}

describe.each(recipeFiles())('docs/recipes/%s', (file) => {
  const content = () => readFileSync(join(recipes, file), 'utf8')

  it("passes GitHub's workflow parser and converter", async () => {
    expect((await problems(file, content())).join('\n')).toBe('')
  })

  it('uses the action with declared inputs and outputs only', () => {
    expect(checkActionUse(file, content())).toBeGreaterThan(0)
  })
})

describe('docs/recipes', () => {
  it('has a workflow for each deploy target and the one-time setup, each explained', () => {
    expect(recipeFiles()).toEqual(
      expect.arrayContaining(['kubernetes.yml', 'ecs.yml', 'fly.yml', 'rds-proxy.yml', 'setup.yml']),
    )
    for (const f of recipeFiles().filter((f) => f !== 'setup.yml' && !f.startsWith('first-deploy-')))
      expect(existsSync(join(recipes, f.replace(/\.ya?ml$/, '.md'))), f).toBe(true)
    expect(existsSync(join(recipes, 'heroku.md'))).toBe(true)
  })

  it('has the first deploy of a fresh family for Kubernetes, ECS and Fly.io: setup, then store, then deploy', () => {
    for (const target of ['kubernetes', 'ecs', 'fly']) {
      const file = `first-deploy-${target}.yml`
      expect(recipeFiles(), file).toContain(file)
      const result = parse(file, readFileSync(join(recipes, file), 'utf8'))
      const jobs = result.value && isMapping(result.value) ? result.value.find('jobs') : undefined
      expect(jobs && isMapping(jobs) ? [...jobs].map((kv) => String(kv.key)) : [], file).toEqual([
        'setup',
        'store',
        'deploy',
      ])
      const text = readFileSync(join(recipes, file), 'utf8')
      expect(text, file).toMatch(/phase: setup[\s\S]*seal-key:[\s\S]*phase: unseal/)
      expect(readFileSync(join(recipes, `${target}.md`), 'utf8'), `${target}.md links its first deploy`).toContain(
        `(${file})`,
      )
    }
  })

  it('the parser check can fail', async () => {
    expect(
      (await problems('broken.yml', 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n')).length,
    ).toBeGreaterThan(0)
  })
})

/**
 * The failure path of every rotation workflow (the recipes and the reusable rotate.yml):
 * abort runs when the deploy failed and also when the run was cancelled (a cancelled run
 * that ran no abort leaves the rotation open with no workflow to clear it), and the abort
 * job first puts the platform's previous value back (a step named "Restore ..."), then
 * aborts: the other order disables the login the platform still hands out.
 */
describe.each([
  ...recipeFiles()
    .filter((f) => f !== 'setup.yml' && !f.startsWith('first-deploy-'))
    .map((f) => [f, join(recipes, f)] as const),
  ['rotate.yml', join(root, '.github', 'workflows', 'rotate.yml')] as const,
])('the failure path of %s', (name, path) => {
  const abortJob = () => {
    const result = parse(name, readFileSync(path, 'utf8'))
    const jobs = result.value && isMapping(result.value) ? result.value.find('jobs') : undefined
    const job = jobs && isMapping(jobs) ? jobs.find('abort') : undefined
    if (!job || !isMapping(job)) throw new Error(`${name} has no abort job`)
    return job
  }

  it('runs abort when the deploy failed or the run was cancelled, never after a deploy that finished', () => {
    const job = abortJob()
    const condition = String(job.find('if') ?? '')
    expect(condition).toContain('failure()')
    expect(condition).toContain('cancelled()')
    expect(condition).toContain("needs.open.result == 'success'")
    expect(condition).toContain("needs.deploy.result == 'failure'")
    expect(condition).toContain("needs.deploy.result == 'cancelled'")
    expect(condition).not.toContain('always()')
  })

  it("restores the platform's previous value before it aborts", () => {
    const job = abortJob()
    const stepsToken = job.find('steps')
    const steps = stepsToken && isSequence(stepsToken) ? [...stepsToken].filter(isMapping) : []
    const names = steps.map((st) => String(st.find('name') ?? ''))
    const phaseOf = (st: (typeof steps)[number]) => {
      const w = st.find('with')
      return w && isMapping(w) ? String(w.find('phase') ?? '') : ''
    }
    const abortAt = steps.findIndex((st) => phaseOf(st) === 'abort')
    const restoreAt = names.findIndex((n) => /^Restore /.test(n))
    expect(abortAt, `${name}: no step runs phase abort`).toBeGreaterThanOrEqual(0)
    expect(restoreAt, `${name}: no "Restore ..." step in the abort job`).toBeGreaterThanOrEqual(0)
    expect(restoreAt, `${name}: the restore step must come before abort`).toBeLessThan(abortAt)
    // Nothing between them may let abort run after a failed restore.
    for (const st of steps.slice(restoreAt, abortAt + 1))
      expect(String(st.find('continue-on-error') ?? 'false'), `${name}: ${String(st.find('name'))}`).toBe('false')
  })
})

/**
 * The jobs of a workflow that hold the admin URL (an expression naming secrets.DB_ADMIN_URL or
 * picking a secret by name, secrets[...]), each with its `environment` as written ('' when the
 * job has none). The quick start keeps the admin URL in a protected environment: a job that
 * reads it outside that environment gets an empty value (or a repository secret of that name).
 */
function adminSecretJobs(name: string, content: string): { job: string; environment: string }[] {
  const result = parse(name, content)
  const jobs = result.value && isMapping(result.value) ? result.value.find('jobs') : undefined
  if (!jobs || !isMapping(jobs)) return []
  const out: { job: string; environment: string }[] = []
  for (const { key, value: job } of jobs) {
    if (!isMapping(job)) continue
    const text = JSON.stringify(tokenText(job))
    if (!/\bsecrets\.DB_ADMIN_URL\b|\bsecrets\[/.test(text)) continue
    const env = job.find('environment')
    out.push({ job: isString(key) ? key.value : String(key), environment: env ? JSON.stringify(tokenText(env)) : '' })
  }
  return out
}

describe('the admin URL stays in its protected environment', () => {
  const workflows = [
    ...recipeFiles().map((f) => ({ where: `docs/recipes/${f}`, content: readFileSync(join(recipes, f), 'utf8') })),
    ...markdownFiles().flatMap((file) =>
      workflowBlocks(file).map((b) => ({ where: `${file} #${b.index + 1}`, content: `${b.yaml}\n` })),
    ),
  ]

  it.each(workflows.map((w) => [w.where, w] as const))(
    '%s: every job that holds the admin URL runs in the same environment',
    (_, w) => {
      const holders = adminSecretJobs(w.where, w.content)
      for (const h of holders) expect(h.environment, `${w.where}: job ${h.job} has no environment`).not.toBe('')
      expect(
        new Set(holders.map((h) => h.environment)).size,
        `${w.where}: ${JSON.stringify(holders)}`,
      ).toBeLessThanOrEqual(1)
    },
  )

  it('the check can fail: a job that reads DB_ADMIN_URL outside the environment', () => {
    const yaml = [
      'on: workflow_dispatch',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    environment: production',
      '    steps:',
      '      - run: echo "${{ secrets.DB_ADMIN_URL }}"',
      '  b:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo "${{ secrets.DB_ADMIN_URL }}"',
      '',
    ].join('\n')
    expect(adminSecretJobs('t.yml', yaml)).toEqual([
      { job: 'a', environment: '"production"' },
      { job: 'b', environment: '' },
    ])
  })
})

describe('workflows shown in Markdown', () => {
  const blocks = markdownFiles().flatMap((file) => workflowBlocks(file).map((b) => ({ file, ...b })))

  it('finds the complete workflows in the README and docs/', () => {
    expect(blocks.length).toBeGreaterThan(0)
  })

  it("the README's first example is a complete workflow (so the parse below covers it)", () => {
    const first = workflowBlocks('README.md')[0]
    expect(first?.index, 'the first YAML block of the README is not a complete workflow').toBe(0)
    expect(first.yaml).toMatch(/uses: pg-credential-rotation\/pg-credential-rotation@v1/)
  })

  it.each(blocks.map((b) => [`${b.file} #${b.index + 1}${b.marker ? ` (${b.marker})` : ''}`, b] as const))(
    '%s parses, and a block that names a file is a copy of it',
    async (_, b) => {
      if (b.marker) {
        const path = [join(root, '.github', 'workflows', b.marker), join(root, b.marker)].find(existsSync)
        expect(path, `${b.file}: no file ${b.marker}`).toBeDefined()
        expect(b.yaml).toBe(readFileSync(path!, 'utf8').replace(/\n$/, ''))
      }
      expect((await problems(`${b.file}#${b.index + 1}`, `${b.yaml}\n`)).join('\n')).toBe('')
      checkActionUse(b.file, `${b.yaml}\n`)
    },
  )
})

/** GitHub's anchors for the headings of a Markdown file (lower case, punctuation dropped, spaces to hyphens). */
function headingAnchors(file: string): Set<string> {
  const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '')
  return new Set(
    [...text.matchAll(/^#+ (.*)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}_\- ]/gu, '')
        .replace(/ /g, '-'),
    ),
  )
}

describe('links in the Markdown', () => {
  it.each(markdownFiles())(
    '%s links only to files and headings that exist (or to the pages other branches add)',
    (file) => {
      const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '')
      const broken: string[] = []
      for (const m of text.matchAll(/\]\(([^)\s#]*)(?:#([^)\s]*))?\)/g)) {
        const [, target, anchor] = m
        if (/^[a-z]+:/i.test(target)) continue
        const path = target ? relative(root, normalize(join(root, dirname(file), target))) : file
        if (!existsSync(join(root, path))) {
          broken.push(target)
        } else if (anchor && path.endsWith('.md') && !headingAnchors(path).has(anchor)) {
          broken.push(`${target}#${anchor}`)
        }
      }
      expect(broken).toEqual([])
    },
  )
})

describe('the release workflow', () => {
  const text = () => readFileSync(join(root, '.github', 'workflows', 'release.yml'), 'utf8')

  it('runs on pushed version tags, runs all of CI first, publishes the changelog section and moves the major tag', () => {
    const result = parse('release.yml', text())
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([])
    const flat = JSON.stringify(tokenText(result.value!))
    expect(flat).toContain('"v*.*.*"')
    const jobs = result.value && isMapping(result.value) ? result.value.find('jobs') : undefined
    expect(jobs && isMapping(jobs)).toBe(true)
    const ci = isMapping(jobs!) ? jobs.find('ci') : undefined
    expect(ci && isMapping(ci) && String(ci.find('uses'))).toBe('./.github/workflows/ci.yml')
    const release = isMapping(jobs!) ? jobs.find('release') : undefined
    expect(release && isMapping(release) && String(release.find('needs'))).toBe('ci')
    expect(text()).toContain('node scripts/changelog.mjs "$version"')
    expect(text()).toContain('gh release create "$TAG" --verify-tag')
    expect(text()).toMatch(/git push --force origin "refs\/tags\/\$MAJOR"/)
  })

  it('ci.yml, which it calls, tests and checks dist/', () => {
    const ci = readFileSync(join(root, '.github', 'workflows', 'ci.yml'), 'utf8')
    expect(ci).toMatch(/^ {2}workflow_call:/m)
    expect(ci).toContain('npm test')
    expect(ci).toContain('npm run build')
    expect(ci).toContain('PG_TEST_DRIVER: testcontainers')
  })
})
