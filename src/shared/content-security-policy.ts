/**
 * The window's page may load only what it ships with; the engine is reached through IPC or the page's
 * own origin. The same policy in Electron (a response header), browser mode (a response header) and
 * the page itself (a meta tag, written in at build time).
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The policy as a meta tag can carry it: browsers ignore frame-ancestors there (and warn about it). */
export const META_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.split('; ')
  .filter((directive) => !directive.startsWith('frame-ancestors'))
  .join('; ');
