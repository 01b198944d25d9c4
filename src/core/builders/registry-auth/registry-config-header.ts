import type { RegistryCredentials } from './index';

/** One auth configuration of the Engine API (its "Authentication" section): a login, or an identity token. */
function authConfig(key: string, credentials: RegistryCredentials): Record<string, string> {
  if (credentials.identityToken) {
    return { identitytoken: credentials.secret, serveraddress: key };
  }
  return { username: credentials.username, password: credentials.secret, serveraddress: key };
}

/**
 * The `X-Registry-Config` header of POST /build: base64url (padded, as Go's URLEncoding wants it) of a
 * JSON object, registry key → auth configuration. Null when there is nothing to send. The value holds
 * secrets: it goes into the request's headers and nowhere else.
 */
export function registryConfigHeader(credentials: Map<string, RegistryCredentials>): string | null {
  if (credentials.size === 0) return null;
  const configs: Record<string, Record<string, string>> = {};
  for (const [key, entry] of credentials) configs[key] = authConfig(key, entry);
  return Buffer.from(JSON.stringify(configs), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
