/**
 * --json: one object on stdout for a pipeline, everything the action's outputs give:
 *   {"phase", "ok", "outputs": {<action output name>: value}, "changes", "notes", "error"}
 * Outputs keep their JSON types (remaining-connections a number, drained a boolean, status
 * an object). Secrets are included: the caller asked for them. `error` is text for a person,
 * masked as the terminal masks it (connection secrets always, issued credentials unless
 * --show-secrets), whether the phase returned its failure or threw it.
 */
import { OUTPUT_NAMES, STATUS_OUTPUT, type PhaseOutputs, type PhaseResult } from '../domain/result.js'
import type { Masker } from './mask.js'

export interface JsonResult {
  phase: string
  ok: boolean
  outputs: Record<string, unknown>
  changes: string[]
  notes: string[]
  error: string | null
}

export function jsonResult(r: PhaseResult, masker: Masker): JsonResult {
  const outputs: Record<string, unknown> = {}
  for (const [field, name] of Object.entries(OUTPUT_NAMES) as [keyof PhaseOutputs, string][])
    if (r.outputs[field] !== undefined) outputs[name] = r.outputs[field]
  if (r.status) outputs[STATUS_OUTPUT] = r.status
  return {
    phase: r.phase,
    ok: !r.failure,
    outputs,
    changes: r.changes,
    notes: r.notes,
    error: r.failure === undefined ? null : masker.mask(r.failure),
  }
}

/** A phase that failed (or a command line refused) before it had a result. */
export function jsonFailure(phase: string, error: string): JsonResult {
  return { phase, ok: false, outputs: {}, changes: [], notes: [], error }
}

/**
 * The object as one line. `##[` (which can only occur inside a JSON string: server text such as
 * an application_name or an error) is written `\u0023#[`, the same string to a JSON parser: the
 * Actions runner obeys its older command form `##[cmd]` anywhere in a line of a step's output.
 */
export function jsonLine(result: JsonResult): string {
  return `${JSON.stringify(result).replace(/#(?=#\[)/g, '\\u0023')}\n`
}
