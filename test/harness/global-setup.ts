import type { TestProject } from 'vitest/node'
import { provideServers } from './servers.js'

declare module 'vitest' {
  export interface ProvidedContext {
    pgServers: import('./servers.js').TestServer[]
  }
}

export default async function setup(project: TestProject) {
  const set = await provideServers()
  for (const s of set.servers) console.log(`[pg] ${s.driver}: ${s.version} on ${s.host}:${s.port}`)
  project.provide('pgServers', set.servers)
  return async () => {
    await set.stop()
  }
}
