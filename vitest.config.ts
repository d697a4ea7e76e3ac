import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

/** Pure logic: no PostgreSQL, no PgBouncer, no built dist/ (npm run test:unit runs only these). */
export const UNIT = ['test/unit/**/*.test.ts']

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The files mostly wait on PostgreSQL, PgBouncer and child processes, not on the CPU: two
    // more workers than cores keep the cores busy (vitest's default leaves one idle). Measured on
    // 2 cores from a fresh clone: cores + 1 took 277-281 s, cores + 2 259 s.
    maxWorkers: availableParallelism() + 2,
    reporters: ['default'],
    // Its schema JSON is imported without import attributes: let vite transform it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    // Two projects so a unit-only run starts no server: only `integration` has the global setup
    // that starts PostgreSQL. `npm test` (vitest run) runs both.
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: UNIT,
          globalSetup: ['test/harness/global-setup.ts'],
        },
      },
    ],
  },
})
