import type { Readable } from 'node:stream';
import { SlipwayError } from '../../../shared/errors';
import { isLoopbackHost } from '../../../shared/loopback';
import { DEFAULT_BALENA_BUILDER_URL } from '../balena-names';
import type { Connection } from '../endpoint';
import { errorMessage, rejection, transportError } from '../http-errors';
import { request } from '../undici';

export { DEFAULT_BALENA_BUILDER_URL };

/** The options of one build, as the builder's query string names them. */
export interface BalenaBuildOptions {
  /** The fleet, "org/fleet". */
  fleet: string;
  /** A Dockerfile other than the default, for a project without a compose file. */
  dockerfilePath?: string | null;
  /** Build for the fleet's architecture under emulation on an x86 builder. */
  emulated?: boolean;
  nocache?: boolean;
  /** Draft release: built, but not pinned to the fleet's devices. */
  draft?: boolean;
  /** Detached: the builder answers at once with a release id and builds on without us. */
  headless?: boolean;
}

/** Checks a fleet slug: "org/fleet", as balena spells them. */
export function parseFleet(slug: string): string {
  if (!/^[\w.-]+\/[\w.-]+$/.test(slug)) {
    throw new SlipwayError('E_BAD_INPUT', `Not a balena fleet: ${slug}`, {
      hint: 'Give the fleet as ORG/FLEET, as the balena dashboard shows it.',
    });
  }
  return slug;
}

/** Refuses a URL that would carry the token (and registry secrets) unencrypted off this machine. */
export function checkTokenUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SlipwayError('E_BAD_INPUT', `Not a balena URL: ${url}`, { hint: 'Give https://host[:port].' });
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return;
  throw new SlipwayError('E_BAD_INPUT', `Refusing to send the balena token to ${parsed.origin}: it is not https`, {
    hint: 'Use the https:// address of the builder; plain http is only accepted on this machine (localhost).',
  });
}

/** The path and query of POST /v3/build, exactly as the balena builder reads them. */
export function balenaBuildPath(options: BalenaBuildOptions): string {
  const query = new URLSearchParams({
    slug: options.fleet,
    dockerfilePath: options.dockerfilePath ?? '',
    emulated: String(options.emulated ?? false),
    nocache: String(options.nocache ?? false),
    headless: String(options.headless ?? false),
    isdraft: String(options.draft ?? false),
  });
  return `/v3/build?${query}`;
}

/** The balena API beside a builder: builder.<domain> -> api.<domain>; any other host serves both. */
export function balenaApiOrigin(builderUrl: string): string {
  const url = new URL(builderUrl);
  if (url.hostname.startsWith('builder.')) url.hostname = `api.${url.hostname.slice('builder.'.length)}`;
  return url.origin;
}

export interface BalenaBuildRequest extends BalenaBuildOptions {
  token: string;
  /** The gzip of the project's tar. */
  body: Readable;
  signal: AbortSignal;
}

/** POST /v3/build with the gzipped project; resolves with the response stream once the builder answers. */
export async function startBalenaBuild(connection: Connection, build: BalenaBuildRequest): Promise<Readable> {
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(`${connection.origin}${balenaBuildPath(build)}`, {
      method: 'POST',
      dispatcher: connection.dispatcher,
      headers: {
        authorization: `Bearer ${build.token}`,
        'content-type': 'application/x-tar',
        'content-encoding': 'gzip',
      },
      body: build.body,
      signal: build.signal,
    });
  } catch (error) {
    throw transportError(connection, error, 'upload');
  }
  if (response.statusCode !== 200) {
    throw await rejection(
      response.statusCode,
      response.body,
      `The balena builder at ${connection.label}`,
      'Check the token (BALENA_TOKEN) and that it may push to this fleet.',
    );
  }
  return response.body;
}

/**
 * Marks a release cancelled through the balena API: PATCH /v7/release(<id>) {status: 'cancelled'}, with
 * its end time, unless it has succeeded meanwhile (a release that finished stays finished).
 */
export async function cancelBalenaRelease(
  connection: Connection,
  apiOrigin: string,
  token: string,
  releaseId: string,
): Promise<void> {
  if (!/^\d+$/.test(releaseId)) {
    throw new SlipwayError('E_BUILDER_PROTOCOL', `The builder gave a release id that is not a number: ${releaseId}`);
  }
  const url = `${apiOrigin}/v7/release(${releaseId})?${new URLSearchParams({ $filter: "status ne 'success'" })}`;
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method: 'PATCH',
      dispatcher: connection.dispatcher,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'cancelled', end_timestamp: new Date().toISOString() }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).name;
    throw new SlipwayError('E_BUILDER_UNREACHABLE', `Cannot reach the balena API at ${url}: ${code}`, { cause: error });
  }
  if (response.statusCode < 200 || response.statusCode >= 300) {
    const message = await errorMessage(response.body);
    throw new SlipwayError(
      'E_BUILDER_REJECTED',
      `The balena API at ${url} answered ${response.statusCode}: ${message}`,
    );
  }
  await response.body.dump();
}
