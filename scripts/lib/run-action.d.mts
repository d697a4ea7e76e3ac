export declare const DIST: string
export declare function runnerNode(): string
export declare function parseOutputFile(text: string): Record<string, string>
export interface ActionRun {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  masks: string[]
  ms: number
}
export declare function runAction(
  inputs: Record<string, string>,
  opts?: { env?: Record<string, string>; node?: string },
): Promise<ActionRun>
