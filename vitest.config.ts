import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
    // Its schema JSON is imported without import attributes: let vite transform it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
})
