/** Plain pg clients for tests; no harness state, so the load tests can use it too. */
import type pg from 'pg'
import { connectClient } from '../../scripts/lib/pg-client.mjs'

/** Connects to `url`; the caller ends the client. Errors after connecting are ignored (tests terminate backends). */
export async function connectTo(url: string, applicationName?: string): Promise<pg.Client> {
  return connectClient({ connectionString: url, application_name: applicationName })
}

/** Runs `fn` on a new client on `url`, and ends the client. */
export async function withClient<T>(
  url: string,
  fn: (c: pg.Client) => Promise<T>,
  applicationName?: string,
): Promise<T> {
  const c = await connectTo(url, applicationName)
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}
