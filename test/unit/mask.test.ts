import { parse } from 'pg-connection-string'
import { describe, expect, it } from 'vitest'
import { uriSecrets } from '../../src/postgres/urls.js'

// Every character that needs care in a URI: @ : / ? # % + and a space.
const PASSWORDS = ['p@ss:w/o?r#d%2B+ x', 'a+b c', '100%sure', 'only@at', 'x:y']
const enc = encodeURIComponent

describe("uriSecrets: every form of a URI's password, from the parser pg uses", () => {
  for (const pw of PASSWORDS) {
    it(`userinfo, percent-encoded: masks ${JSON.stringify(pw)} as pg sends it and as written`, () => {
      const uri = `postgresql://admin:${enc(pw)}@db.example.com:5432/app`
      const s = uriSecrets(uri)
      expect(parse(uri).password).toBe(pw)
      expect(s).toEqual(expect.arrayContaining([uri, pw, enc(pw)]))
      expect(s).not.toContain('admin')
    })

    it(`?password=, percent-encoded: masks ${JSON.stringify(pw)} decoded and as written`, () => {
      const uri = `postgresql://admin@db.example.com/app?sslmode=require&password=${enc(pw)}`
      expect(parse(uri).password).toBe(pw)
      expect(uriSecrets(uri)).toEqual(expect.arrayContaining([uri, pw, enc(pw)]))
    })
  }

  it('an unencoded @ in the userinfo password is masked whole, not only up to the first @', () => {
    const uri = 'postgresql://admin:p@ss@w0rd@db.example.com/app'
    expect(parse(uri).password).toBe('p@ss@w0rd')
    const s = uriSecrets(uri)
    expect(s).toEqual(expect.arrayContaining(['p@ss@w0rd', 'p%40ss%40w0rd']))
    expect(s).not.toContain('p')
  })

  it('a + in ?password= is masked both as pg reads it (a space) and literally', () => {
    const uri = 'postgresql://admin@db.example.com/app?password=a+b'
    expect(parse(uri).password).toBe('a b')
    expect(uriSecrets(uri)).toEqual(expect.arrayContaining(['a b', 'a+b']))
  })

  it('an unencoded space in the userinfo password, and sslpassword, are masked', () => {
    const uri = 'postgresql://admin:two words@db.example.com/app?sslpassword=key%20pass'
    expect(parse(uri).password).toBe('two words')
    expect(uriSecrets(uri)).toEqual(expect.arrayContaining(['two words', 'key pass', 'key%20pass']))
  })

  it('a URI without a password yields only itself; the user name is never a secret', () => {
    expect(uriSecrets('postgresql://admin@db.example.com/app')).toEqual(['postgresql://admin@db.example.com/app'])
  })
})
