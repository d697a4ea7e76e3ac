export declare function changelogSection(changelog: string, version: string): string | null
