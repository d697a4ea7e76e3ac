export declare const MAJORS: number[]
export declare function binDir(major: number): string | null
export declare function installedMajors(): number[]
export declare function freePort(): Promise<number>
export interface EmbeddedServer {
  major: number
  version: string
  host: string
  port: number
  user: string
  password: string
  url: string
  dataDir: string
  logFile: string
  settings: Record<string, string>
  halt(): Promise<void>
  resume(): Promise<void>
  restart(): Promise<void>
  stop(): Promise<void>
}
export declare function startEmbedded(
  major: number,
  settings?: Record<string, string>,
  clone?: { copyFrom?: string; password?: string; standbyOf?: number },
): Promise<EmbeddedServer>
export declare function startPrimaryAndReplica(
  major: number,
  settings?: Record<string, string>,
): Promise<{ primary: EmbeddedServer; replica: EmbeddedServer }>
