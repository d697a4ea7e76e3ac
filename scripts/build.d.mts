export declare const CLI_SHIM: string
export declare function build(out: string): void
export declare function buildCli(out: string): void
