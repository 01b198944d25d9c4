import type { Readable } from 'node:stream';
import type { Connection } from '../endpoint';
import { rejection, transportError } from '../http-errors';
import { request } from '../undici';

/** What an engine says of itself in the headers of GET /_ping. */
export interface PingHeaders {
  /** `Builder-Version`: "2" where BuildKit is the engine's default builder, "1" or absent elsewhere. */
  builderVersion: string | null;
  /** `Api-Version`, e.g. "1.41". */
  apiVersion: string | null;
  /** `Server`, e.g. "Docker/20.10.24 (linux)" or "Libpod/4.3.1 (linux)". */
  server: string | null;
  /** Podman answers with its own API version (`Libpod-Api-Version`). */
  podman: boolean;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? null : text;
}

/** One GET /_ping; resolves with the engine's headers when it answered OK. */
export async function ping(connection: Connection, signal?: AbortSignal): Promise<PingHeaders> {
  try {
    const response = await request(`${connection.origin}/_ping`, {
      dispatcher: connection.dispatcher,
      signal,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    if (response.statusCode !== 200) {
      throw await rejection(response.statusCode, response.body, `The builder at ${connection.label}`);
    }
    await response.body.dump();
    const { headers } = response;
    return {
      builderVersion: header(headers, 'builder-version'),
      apiVersion: header(headers, 'api-version'),
      server: header(headers, 'server'),
      podman: header(headers, 'libpod-api-version') !== null || /^libpod\//i.test(header(headers, 'server') ?? ''),
    };
  } catch (error) {
    throw transportError(connection, error, 'connect');
  }
}

export interface DockerBuildRequest {
  /** The tar body, or null for a context the engine fetches itself (`remote`). */
  body: Readable | null;
  /** Exact length of the body when it is known; the request then carries Content-Length. */
  contentBytes: number | null;
  gzip: boolean;
  signal: AbortSignal;
  /** `X-Registry-Config` (see registry-auth): registry credentials for the classic builder's pulls, or null. */
  registryConfig?: string | null;
}

/** POST /build?<query> with a streaming tar body; resolves with the JSON-lines answer once the engine answers. */
export async function startDockerBuild(
  connection: Connection,
  query: URLSearchParams,
  build: DockerBuildRequest,
): Promise<Readable> {
  const headers: Record<string, string> = { 'content-type': 'application/x-tar' };
  if (build.gzip) headers['content-encoding'] = 'gzip';
  if (build.contentBytes !== null) headers['content-length'] = String(build.contentBytes);
  if (build.registryConfig) headers['x-registry-config'] = build.registryConfig;
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(`${connection.origin}/build?${query}`, {
      method: 'POST',
      dispatcher: connection.dispatcher,
      headers,
      body: build.body ?? '',
      signal: build.signal,
    });
  } catch (error) {
    throw transportError(connection, error, 'upload');
  }
  if (response.statusCode !== 200) {
    throw await rejection(response.statusCode, response.body, `The builder at ${connection.label}`);
  }
  return response.body;
}
