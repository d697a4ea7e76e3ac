import { describe, expect, it } from 'vitest'
import { directTls } from '../../src/postgres/db.js'

describe('direct TLS negotiation (as libpq)', () => {
  it('honours PGSSLNEGOTIATION=direct when the URI does not say', () => {
    expect(directTls(undefined, true, { PGSSLNEGOTIATION: 'direct' })).toBe(true)
  })
  it("lets the URI's sslnegotiation win over the variable", () => {
    expect(directTls('postgres', true, { PGSSLNEGOTIATION: 'direct' })).toBe(false)
    expect(directTls('direct', true, { PGSSLNEGOTIATION: 'postgres' })).toBe(true)
  })
  it('negotiates with an SSLRequest by default and when TLS is not required', () => {
    expect(directTls(undefined, true, {})).toBe(false)
    expect(directTls(undefined, false, { PGSSLNEGOTIATION: 'direct' })).toBe(false)
  })
})
