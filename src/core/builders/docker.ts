import type { Readable } from 'node:stream';
import { SlipwayError } from '../../shared/errors';
import type { Connection } from './endpoint';
import { request } from './undici';

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EACCES',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return (error as { code?: string }).code;
}

/** Translates a transport failure into Slipway's error, naming the endpoint. */
export function transportError(
  connection: Connection,
  error: unknown,
  phase: 'connect' | 'upload' | 'build',
): SlipwayError {
  if (error instanceof SlipwayError) return error;
  const code = causeCode(error) ?? 'error';
  const url = connection.label;
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/.test(code);
  if (CONNECT_FAILURES.has(code) || tls || phase === 'connect') {
    return new SlipwayError('E_BUILDER_UNREACHABLE', `Cannot reach the builder at ${url}: ${code}`, {
      hint: tls
        ? 'Check the TLS files (ca.pem, cert.pem, key.pem; see DOCKER_CERT_PATH and DOCKER_TLS_VERIFY).'
        : 'Check that the engine is running and the URL is right (see DOCKER_HOST).',
      cause: error,
    });
  }
  if (phase === 'upload') {
    return new SlipwayError('E_UPLOAD_RESET', `The connection to ${url} broke during the upload: ${code}`, {
      cause: error,
    });
  }
  return new SlipwayError('E_BUILDER_PROTOCOL', `The connection to ${url} broke during the build: ${code}`, {
    cause: error,
  });
}

/** Reads at most `limitBytes` of a response body, for error messages; discards the rest. */
async function readSome(body: Readable, limitBytes = 16 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    if (bytes < limitBytes) chunks.push((chunk as Buffer).subarray(0, limitBytes - bytes));
    bytes += (chunk as Buffer).length;
    if (bytes >= limitBytes) break;
  }
  body.destroy();
  return Buffer.concat(chunks).toString('utf8');
}

/** A refusal by the builder, with the HTTP status: a 5xx before the build started allows failover. */
export class BuilderRejection extends SlipwayError {
  constructor(
    readonly statusCode: number,
    code: 'E_BUILDER_REJECTED' | 'E_BUILDER_UNAUTHORIZED',
    message: string,
    hint?: string,
  ) {
    super(code, message, { hint });
  }
}

/** Describes an error response: the engine's JSON `message`, or the start of whatever it sent. */
async function rejection(connection: Connection, statusCode: number, body: Readable): Promise<BuilderRejection> {
  const text = await readSome(body).catch(() => '');
  let message = text.trim().replace(/\s+/g, ' ').slice(0, 300);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (an HTML error page, say): the start of it is the message.
  }
  const unauthorized = statusCode === 401 || statusCode === 403;
  return new BuilderRejection(
    statusCode,
    unauthorized ? 'E_BUILDER_UNAUTHORIZED' : 'E_BUILDER_REJECTED',
    `The builder at ${connection.label} answered ${statusCode}: ${message || '(empty body)'}`,
    unauthorized ? 'Check the credentials for this builder.' : undefined,
  );
}

/** One GET /_ping; resolves when the engine answered OK. */
export async function ping(connection: Connection, signal?: AbortSignal): Promise<void> {
  try {
    const response = await request(`${connection.origin}/_ping`, {
      dispatcher: connection.dispatcher,
      signal,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    if (response.statusCode !== 200) throw await rejection(connection, response.statusCode, response.body);
    await response.body.dump();
  } catch (error) {
    throw transportError(connection, error, 'connect');
  }
}

export interface DockerBuildRequest {
  body: Readable;
  /** Exact length of the body when it is known; the request then carries Content-Length. */
  contentBytes: number | null;
  dockerfile: string;
  /** Build arguments, a multi-stage target and image labels, as compose's build section gives them. */
  buildArgs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  tag: string | null;
  gzip: boolean;
  noCache?: boolean;
  signal: AbortSignal;
}

/** POST /build with a streaming tar body; resolves with the JSON-lines response once the engine answers. */
export async function startDockerBuild(connection: Connection, build: DockerBuildRequest): Promise<Readable> {
  const query = new URLSearchParams({ dockerfile: build.dockerfile, rm: '1', forcerm: '1' });
  if (build.tag) query.set('t', build.tag);
  if (build.buildArgs && Object.keys(build.buildArgs).length > 0)
    query.set('buildargs', JSON.stringify(build.buildArgs));
  if (build.target) query.set('target', build.target);
  if (build.labels && Object.keys(build.labels).length > 0) query.set('labels', JSON.stringify(build.labels));
  if (build.noCache) query.set('nocache', '1');
  const headers: Record<string, string> = { 'content-type': 'application/x-tar' };
  if (build.gzip) headers['content-encoding'] = 'gzip';
  if (build.contentBytes !== null) headers['content-length'] = String(build.contentBytes);
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(`${connection.origin}/build?${query}`, {
      method: 'POST',
      dispatcher: connection.dispatcher,
      headers,
      body: build.body,
      signal: build.signal,
    });
  } catch (error) {
    throw transportError(connection, error, 'upload');
  }
  if (response.statusCode !== 200) throw await rejection(connection, response.statusCode, response.body);
  return response.body;
}
