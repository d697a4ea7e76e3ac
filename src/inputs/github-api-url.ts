/**
 * GITHUB_API_URL, the GitHub REST API the write-back talks to (set by the
 * runner; https://HOST/api/v3 on GitHub Enterprise Server). github-token and
 * the encrypted secrets travel to it, so plain http:// is refused unless the
 * host is this machine (a local stand-in, as the tests use).
 */
export const API_URL_VARIABLE = 'GITHUB_API_URL'

/** Why the API URL must not be used, or null. Only a plain-http URL to a non-loopback host is refused here. */
export function insecureApiUrl(url: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null // apiRoot (src/github/secrets.ts) says what is wrong with it
  }
  if (u.protocol !== 'http:' || isLoopback(u.hostname)) return null
  return `${API_URL_VARIABLE} is http://${u.host}: plain HTTP to another host would send github-token and the secrets unencrypted, so nothing was written or changed. Set ${API_URL_VARIABLE} to an https:// URL (https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server); plain http:// is accepted only for a loopback address (localhost, 127.0.0.0/8, [::1])`
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}
