import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'slipway_token';
export const TOKEN_HEADER = 'x-slipway-token';

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** Why a request is refused, or null when it may pass: the token, the Host and the Origin are checked. */
export function refusal(request: IncomingMessage, url: URL, token: string, port: number): string | null {
  const allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  if (!allowedHosts.has(request.headers.host ?? '')) return 'wrong Host';
  const origin = request.headers.origin;
  if (origin !== undefined && !allowedHosts.has(origin.replace(/^http:\/\//, ''))) return 'foreign Origin';
  if (origin !== undefined && !origin.startsWith('http://')) return 'foreign Origin';
  const given = request.headers[TOKEN_HEADER] ?? url.searchParams.get('token') ?? cookie(request, TOKEN_COOKIE);
  if (!sameToken(Array.isArray(given) ? given[0] : given, token)) return 'missing or wrong token';
  return null;
}
