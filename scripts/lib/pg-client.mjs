import pg from 'pg'

/**
 * Connects a pg client for tests and benchmarks; the caller ends it. A failed
 * connection ends the client before rethrowing, and errors after connecting
 * are ignored (the tests terminate backends on purpose).
 * @param {import('pg').ClientConfig} config
 */
export async function connectClient(config) {
  const c = new pg.Client(config)
  c.on('error', () => {})
  try {
    await c.connect()
  } catch (e) {
    await c.end().catch(() => {})
    throw e
  }
  return c
}
