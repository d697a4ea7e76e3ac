/**
 * Validates the workflows in .github/workflows and action.yml with GitHub's own
 * parser (@actions/workflow-parser, the one behind the Actions language service),
 * and checks that every workflow step that uses this action (`uses: ./`) passes
 * only declared inputs and reads only declared outputs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TemplateParseResult } from '@actions/workflow-parser'
import type { ActionTemplate } from '@actions/workflow-parser/actions/index'
import type { MappingToken, TemplateToken } from '@actions/workflow-parser/templates/tokens/index'
import { describe, expect, it } from 'vitest'
import { OUTPUTS } from '../src/domain/result.js'

// @actions/workflow-parser imports its schema JSON without import attributes, which Node's
// loader rejects; vitest.config.ts inlines it (server.deps.inline) so vite transforms it.
import {
  convertWorkflowTemplate,
  isBasicExpression,
  isMapping,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser'
import { convertActionTemplate, parseAction } from '@actions/workflow-parser/actions/index'
import type { FileProvider } from '@actions/workflow-parser/workflows/file-provider'

const root = fileURLToPath(new URL('..', import.meta.url))
const workflowDir = join(root, '.github', 'workflows')
const actionFile = join(root, 'action.yml')

const EXPECTED_INPUTS = [
  'phase',
  'admin-url',
  'role',
  'login-roles',
  'app-url',
  'password-length',
  'password-encryption',
  'timeout',
  'interval',
  'terminate-after',
  'min-new-connections',
  'terminate',
  'force',
  'rotation-id',
  'adopt',
  'fix-ownership',
  'replica-urls',
  'replica-timeout',
  'pgbouncer-urls',
  'seal-key',
  'sealed-credentials',
  'github-token',
  'github-secrets',
  'github-environment',
  'github-repository',
]
/** The adapter's one list of outputs (src/domain/result.ts). */
const EXPECTED_OUTPUTS = OUTPUTS

/**
 * How a workflow step refers to this repository's own action. Only a step's `uses`
 * is compared, and only for equality: a job-level `uses: ./.github/workflows/x.yml`
 * calls a reusable workflow (checked by the converter test below), and a step's
 * `uses: ./some/dir` would be another local action.
 */
const SELF = './'

function workflowFiles(): string[] {
  if (!existsSync(workflowDir)) return []
  return readdirSync(workflowDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
}

function parseWorkflowText(name: string, content: string): TemplateParseResult {
  return parseWorkflow({ name, content }, new NoOperationTraceWriter())
}

/** Reusable workflows of this repository (`uses: ./.github/workflows/...`), for the converter. */
const localWorkflows: FileProvider = {
  async getFileContent(ref) {
    if ('repository' in ref)
      throw new Error(`${ref.owner}/${ref.repository}/${ref.path}@${ref.version} is not in this repository`)
    return { name: ref.path, content: readFileSync(join(root, ref.path), 'utf8') }
  },
}

/**
 * Runs GitHub's converter over a parsed workflow, loading the reusable workflows it
 * calls from this repository: that checks `needs`, `concurrency`, cron schedules,
 * and the `with:` inputs and `secrets:` a job passes to a called workflow against
 * that workflow's `on.workflow_call` (undeclared ones, and required ones missing).
 */
async function conversionErrors(result: TemplateParseResult): Promise<string[]> {
  const template = await convertWorkflowTemplate(result.context, result.value!, localWorkflows, {
    fetchReusableWorkflowDepth: 1,
  })
  return (template.errors ?? []).map((e) => e.Message)
}

function errorsOf(result: TemplateParseResult): string[] {
  return result.context.errors.getErrors().map((e) => e.message)
}

function parseOwnAction(): { result: TemplateParseResult; template: ActionTemplate } {
  const result = parseAction(
    { name: 'action.yml', content: readFileSync(actionFile, 'utf8') },
    new NoOperationTraceWriter(),
  )
  expect(errorsOf(result).join('\n'), 'action.yml has schema errors').toBe('')
  expect(result.value).toBeDefined()
  const template = convertActionTemplate(result.context, result.value!)
  expect(errorsOf(result).join('\n'), 'action.yml could not be converted').toBe('')
  return { result, template }
}

// ---- token helpers (the parser's own result objects, no second YAML parser) ----

function keyOf(key: TemplateToken): string {
  return isString(key) ? key.value : String(key)
}

function entries(m: MappingToken): [string, TemplateToken][] {
  const out: [string, TemplateToken][] = []
  for (const kv of m) out.push([keyOf(kv.key), kv.value])
  return out
}

function mappingAt(m: MappingToken, key: string): MappingToken | undefined {
  const t = m.find(key)
  return t && isMapping(t) ? t : undefined
}

function stringAt(m: MappingToken, key: string): string | undefined {
  const t = m.find(key)
  return t && isString(t) ? t.value : undefined
}

/** Every expression in a token tree, `${{ }}` stripped (strings mixing text and expressions come back as format(...)). */
function expressionsIn(t: TemplateToken): string[] {
  if (isBasicExpression(t)) return [t.expression]
  if (isMapping(t)) return entries(t).flatMap(([, v]) => expressionsIn(v))
  if (isSequence(t)) return [...t].flatMap(expressionsIn)
  return []
}

interface StepInfo {
  index: number
  id?: string
  uses?: string
  with?: MappingToken
  withKeys: string[]
}

interface JobInfo {
  id: string
  token: MappingToken
  steps: StepInfo[]
  outputNames: string[]
}

function jobsOf(result: TemplateParseResult): JobInfo[] {
  const rootToken = result.value
  if (!rootToken || !isMapping(rootToken)) throw new Error('workflow did not parse to a mapping')
  const jobs = mappingAt(rootToken, 'jobs')
  if (!jobs) throw new Error('workflow has no jobs mapping')
  return entries(jobs).map(([id, job]) => {
    if (!isMapping(job)) throw new Error(`job ${id} is not a mapping`)
    const stepsToken = job.find('steps')
    const steps: StepInfo[] =
      stepsToken && isSequence(stepsToken)
        ? [...stepsToken].map((step, index) => {
            if (!isMapping(step)) return { index, withKeys: [] }
            const w = mappingAt(step, 'with')
            return {
              index,
              id: stringAt(step, 'id'),
              uses: stringAt(step, 'uses'),
              with: w,
              withKeys: w ? entries(w).map(([k]) => k) : [],
            }
          })
        : []
    const outputs = mappingAt(job, 'outputs')
    return { id, token: job, steps, outputNames: outputs ? entries(outputs).map(([k]) => k) : [] }
  })
}

function references(expressions: string[], context: 'steps' | 'needs'): { id: string; output: string }[] {
  const re = new RegExp(`\\b${context}\\.([A-Za-z_][\\w-]*)\\.outputs\\.([A-Za-z_][\\w-]*)`, 'g')
  return expressions.flatMap((e) => [...e.matchAll(re)].map((m) => ({ id: m[1], output: m[2] })))
}

// ---- tests ----

describe('action.yml', () => {
  it('passes the action schema of @actions/workflow-parser', () => {
    parseOwnAction()
  })

  it('declares exactly the inputs and outputs of the action', () => {
    const { template } = parseOwnAction()
    expect((template.inputs ?? []).map((i) => i.id).sort()).toEqual([...EXPECTED_INPUTS].sort())
    expect((template.outputs ?? []).map((o) => o.id).sort()).toEqual([...EXPECTED_OUTPUTS].sort())
  })

  it('runs dist/index.js on node24', () => {
    const { template } = parseOwnAction()
    expect(template.runs.using).toBe('node24')
    expect(template.runs.using === 'node24' ? template.runs.main : undefined).toBe('dist/index.js')
  })

  it('the action schema check can fail', () => {
    const broken = parseAction(
      { name: 'broken-action.yml', content: 'name: x\ndescription: y\nruns:\n  using: node99\n  main: index.js\n' },
      new NoOperationTraceWriter(),
    )
    expect(errorsOf(broken).length).toBeGreaterThan(0)
  })
})

describe('workflow validation', () => {
  it('finds the workflows', () => {
    expect(workflowFiles()).toEqual(
      expect.arrayContaining([
        'ci.yml',
        'rotate.yml',
        'rotate-dispatch.yml',
        'rotate-scheduled.yml',
        'rotate-fleet.yml',
        'self-test.yml',
      ]),
    )
  })

  it('reports an error for a broken workflow', () => {
    const broken = parseWorkflowText(
      'broken.yml',
      ['on: push', 'jobs:', '  build:', '    runs-on: ubuntu-latest', '    stepz:', '      - run: echo hi', ''].join(
        '\n',
      ),
    )
    expect(errorsOf(broken).length).toBeGreaterThan(0)
  })

  it('reports an error for a call of a reusable workflow with an undeclared input or a missing required secret', async () => {
    const call = (withAndSecrets: string[]) =>
      parseWorkflowText(
        'broken-call.yml',
        [
          'on: workflow_dispatch',
          'jobs:',
          '  rotate:',
          '    uses: ./.github/workflows/rotate.yml',
          ...withAndSecrets,
          '',
        ].join('\n'),
      )
    const ok = call(['    secrets: inherit'])
    expect(await conversionErrors(ok)).toEqual([])
    const undeclared = await conversionErrors(call(['    with:', '      no-such-input: x', '    secrets: inherit']))
    expect(undeclared.join('\n')).toContain('no-such-input')
    const missing = await conversionErrors(call(['    secrets:', '      DB_ADMIN_URL: x']))
    expect(missing.join('\n')).toContain('DB_SEAL_KEY')
  })

  it('reports an error for an expression in a place that does not allow its context', () => {
    const broken = parseWorkflowText(
      'broken-context.yml',
      [
        'on: push',
        'jobs:',
        '  build:',
        '    runs-on: ${{ steps.x.outputs.y }}',
        '    steps:',
        '      - run: echo hi',
        '',
      ].join('\n'),
    )
    expect(errorsOf(broken).length).toBeGreaterThan(0)
  })
})

describe.each(workflowFiles())('.github/workflows/%s', (file) => {
  const parse = () => parseWorkflowText(file, readFileSync(join(workflowDir, file), 'utf8'))

  it('passes the workflow schema of @actions/workflow-parser', () => {
    const result = parse()
    expect(errorsOf(result).join('\n'), `${file} has errors`).toBe('')
    expect(result.value).toBeDefined()
  })

  it("converts with GitHub's converter, reusable workflows called with declared inputs and secrets", async () => {
    const result = parse()
    expect((await conversionErrors(result)).join('\n'), `${file} does not convert`).toBe('')
  })

  it('passes only declared inputs to this action, including the required ones', () => {
    const { template } = parseOwnAction()
    const declared = new Set((template.inputs ?? []).map((i) => i.id))
    const required = (template.inputs ?? []).filter((i) => i.required).map((i) => i.id)
    for (const job of jobsOf(parse())) {
      for (const step of job.steps.filter((s) => s.uses === SELF)) {
        const where = `${file}: job ${job.id}, step ${step.id ?? `#${step.index + 1}`}`
        expect(
          step.withKeys.filter((k) => !declared.has(k)),
          `${where} passes undeclared inputs`,
        ).toEqual([])
        expect(
          required.filter((k) => !step.withKeys.includes(k)),
          `${where} misses required inputs`,
        ).toEqual([])
      }
    }
  })

  it('reads only declared outputs of this action, and only outputs that exist', () => {
    const { template } = parseOwnAction()
    const declared = new Set((template.outputs ?? []).map((o) => o.id))
    const jobs = jobsOf(parse())
    for (const job of jobs) {
      const stepsById = new Map(job.steps.filter((s) => s.id).map((s) => [s.id!, s]))
      for (const ref of references(expressionsIn(job.token), 'steps')) {
        const step = stepsById.get(ref.id)
        expect(step, `${file}: job ${job.id} reads steps.${ref.id}, which is no step of that job`).toBeDefined()
        if (step?.uses === SELF) {
          expect(
            declared.has(ref.output),
            `${file}: job ${job.id} reads steps.${ref.id}.outputs.${ref.output}, not an output of action.yml`,
          ).toBe(true)
        }
      }
    }
  })

  it('reads only job outputs that the needed jobs declare', () => {
    const jobs = jobsOf(parse())
    const byId = new Map(jobs.map((j) => [j.id, j]))
    for (const job of jobs) {
      const needsToken = job.token.find('needs')
      const needs = !needsToken ? [] : isSequence(needsToken) ? [...needsToken].map(keyOf) : [keyOf(needsToken)]
      for (const ref of references(expressionsIn(job.token), 'needs')) {
        expect(needs, `${file}: job ${job.id} reads needs.${ref.id} without needing it`).toContain(ref.id)
        expect(byId.get(ref.id)?.outputNames ?? [], `${file}: job ${ref.id} has no output ${ref.output}`).toContain(
          ref.output,
        )
      }
    }
  })
})

describe('the example rotation workflow', () => {
  const jobs = () => jobsOf(parseWorkflowText('rotate.yml', readFileSync(join(workflowDir, 'rotate.yml'), 'utf8')))

  it('opens, deploys with the unsealed credentials, verifies the drain and closes in jobs of their own; aborts when the deploy failed', () => {
    const phases = jobs().map((j) => ({
      job: j.id,
      phases: j.steps.filter((st) => st.uses === SELF).map((st) => (st.with ? stringAt(st.with, 'phase') : undefined)),
    }))
    expect(phases).toEqual([
      { job: 'open', phases: ['open'] },
      { job: 'deploy', phases: ['status', 'unseal'] },
      { job: 'verify-drain', phases: ['verify-drain'] },
      { job: 'close', phases: ['close'] },
      { job: 'abort', phases: ['abort'] },
    ])
    const abort = jobs().find((j) => j.id === 'abort')!
    expect(stringAt(abort.token, 'if')).toBe(
      "(failure() || cancelled()) && needs.open.result == 'success' && (needs.deploy.result == 'failure' || needs.deploy.result == 'cancelled')",
    )
  })

  it('passes the credentials between jobs only sealed, and close writes them to GitHub secrets', () => {
    const stepOf = (jobId: string, phase: string) =>
      jobs()
        .find((j) => j.id === jobId)!
        .steps.find((st) => st.uses === SELF && st.with && stringAt(st.with, 'phase') === phase)!
    const open = jobs().find((j) => j.id === 'open')!
    expect(open.outputNames).toEqual(expect.arrayContaining(['rotation-id', 'sealed-credentials']))
    expect(stepOf('open', 'open').withKeys).toContain('seal-key')
    for (const [jobId, phase] of [
      ['deploy', 'unseal'],
      ['close', 'close'],
    ]) {
      const step = stepOf(jobId, phase)
      expect(step.withKeys, `job ${jobId}`).toEqual(
        expect.arrayContaining(['sealed-credentials', 'seal-key', 'rotation-id']),
      )
      expect(expressionsIn(step.with!).join('\n'), `job ${jobId}`).toContain('needs.open.outputs.sealed-credentials')
    }
    expect(stepOf('close', 'close').withKeys).toEqual(expect.arrayContaining(['github-token', 'github-secrets']))
  })

  it('never passes the password or the database URL between jobs', () => {
    for (const job of jobs()) {
      const outputs = job.token.find('outputs')
      const refs = outputs ? references(expressionsIn(outputs), 'steps').map((r) => r.output) : []
      expect(refs, `job ${job.id} outputs`).not.toContain('password')
      expect(refs, `job ${job.id} outputs`).not.toContain('database-url')
    }
  })
})

/** The admin URL reaches a job through secrets.DB_ADMIN_URL or a secret named at run time (secrets[...]). */
const holdsAdminSecret = (job: JobInfo) =>
  expressionsIn(job.token).some((e) => /\bsecrets\.DB_ADMIN_URL\b|\bsecrets\[/.test(e))

describe('protected environments for the admin secret', () => {
  /** The `environment` a job runs in, or passes to the reusable workflow it calls, as expressions ('' if none). */
  const environmentOf = (job: JobInfo): string => {
    const uses = stringAt(job.token, 'uses')
    const env = uses ? mappingAt(job.token, 'with')?.find('environment') : job.token.find('environment')
    if (!env) return ''
    return isString(env) ? env.value : expressionsIn(env).join(' ')
  }

  it.each(workflowFiles())(
    '%s: every job that holds the admin URL runs in an environment, and every call of rotate.yml passes one',
    (file) => {
      const jobs = jobsOf(parseWorkflowText(file, readFileSync(join(workflowDir, file), 'utf8')))
      const callsRotate = (job: JobInfo) => /\/rotate\.yml$/.test(stringAt(job.token, 'uses') ?? '')
      for (const job of jobs.filter((j) => holdsAdminSecret(j) || callsRotate(j)))
        expect(environmentOf(job), `${file}: job ${job.id}`).not.toBe('')
      // A secret picked by name from the database list lives in that database's environment.
      for (const job of jobs) {
        const text = expressionsIn(job.token).join(' ')
        if (/secrets\[needs\.database\.outputs\.admin-secret\]/.test(text))
          expect(environmentOf(job), `${file}: job ${job.id}`).toContain('needs.database.outputs.environment')
        if (/secrets\[matrix\.admin_secret\]/.test(text))
          expect(environmentOf(job), `${file}: job ${job.id}`).toContain('matrix.environment')
      }
    },
  )

  it.each(['rotate.yml', 'rotate-maintenance.yml'])(
    '%s takes an environment input and applies it to every job that holds the admin URL',
    (file) => {
      const result = parseWorkflowText(file, readFileSync(join(workflowDir, file), 'utf8'))
      const on = mappingAt(result.value as MappingToken, 'on')!
      for (const trigger of ['workflow_dispatch', 'workflow_call'].filter((t) => on.find(t))) {
        const inputs = mappingAt(mappingAt(on, trigger)!, 'inputs')!
        expect(inputs.find('environment'), `${file}: ${trigger} has no environment input`).toBeDefined()
      }
      const holders = jobsOf(result).filter(holdsAdminSecret)
      expect(holders.length).toBeGreaterThan(0)
      for (const job of holders) {
        const env = job.token.find('environment')
        expect(env && expressionsIn(env).join(' '), `${file}: job ${job.id}`).toContain('inputs.environment')
      }
    },
  )
})

describe('the maintenance workflow', () => {
  const text = () => readFileSync(join(workflowDir, 'rotate-maintenance.yml'), 'utf8')

  it('is dispatched with a database, a phase among status, close and abort, and force', () => {
    const result = parseWorkflowText('rotate-maintenance.yml', text())
    const dispatch = mappingAt(mappingAt(result.value as MappingToken, 'on')!, 'workflow_dispatch')!
    const inputs = mappingAt(dispatch, 'inputs')!
    expect(entries(inputs).map(([k]) => k)).toEqual(expect.arrayContaining(['database', 'phase', 'force']))
    const phase = mappingAt(inputs, 'phase')!
    expect(stringAt(phase, 'type')).toBe('choice')
    const options = phase.find('options')
    expect(options && isSequence(options) ? [...options].map((o) => String(o)) : []).toEqual([
      'status',
      'close',
      'abort',
    ])
    expect(stringAt(mappingAt(inputs, 'force')!, 'type')).toBe('boolean')
  })

  it('runs the chosen phase with force and the database lookup', () => {
    const jobs = jobsOf(parseWorkflowText('rotate-maintenance.yml', text()))
    const steps = jobs.flatMap((j) => j.steps.filter((st) => st.uses === SELF))
    expect(steps).toHaveLength(1)
    const w = steps[0].with!
    expect(expressionsIn(w).join('\n')).toMatch(/inputs\.phase/)
    expect(steps[0].withKeys).toEqual(expect.arrayContaining(['phase', 'admin-url', 'role', 'force']))
  })
})
