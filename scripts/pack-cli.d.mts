export declare function packCli(dest: string, dist?: string): string
