export interface ActionEntry {
  name: string
  description: string
  text: string
  phases: string[]
  required: boolean
  default: string | undefined
}
export declare const PHASES: string[]
export declare const START: string
export declare const END: string
export declare const USES: string
export declare function parseAction(text: string): { inputs: ActionEntry[]; outputs: ActionEntry[] }
export declare function splitPhases(name: string, description: string): { text: string; phases: string[] }
export declare function phaseList(phases: string[]): string
export declare function renderUsage(action: { inputs: ActionEntry[]; outputs: ActionEntry[] }): string
export declare function updateReadme(readme: string, actionText: string): string
export declare const CLI_INPUTS: string
export declare function renderCliInputs(action: { inputs: ActionEntry[]; outputs: ActionEntry[] }): string
