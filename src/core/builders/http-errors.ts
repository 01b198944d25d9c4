import type { Readable } from 'node:stream';
import { SlipwayError, toErrorInfo } from '../../shared/errors';
import type { Connection } from './endpoint';

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

/** The message of an error response: the JSON `message` (or `error`) it holds, else the start of its text. */
export async function errorMessage(body: Readable): Promise<string> {
  const text = await readSome(body).catch(() => '');
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON (an HTML error page, say): the start of it is the message.
  }
  return text.trim().replace(/\s+/g, ' ').slice(0, 300);
}

/**
 * Describes an error response as a rejection: `who` names the builder in the message;
 * `unauthorizedHint` tells what to check on 401/403.
 */
export async function rejection(
  statusCode: number,
  body: Readable,
  who: string,
  unauthorizedHint = 'Check the credentials for this builder.',
): Promise<BuilderRejection> {
  const message = await errorMessage(body);
  const unauthorized = statusCode === 401 || statusCode === 403;
  return new BuilderRejection(
    statusCode,
    unauthorized ? 'E_BUILDER_UNAUTHORIZED' : 'E_BUILDER_REJECTED',
    `${who} answered ${statusCode}: ${message || '(empty body)'}`,
    unauthorized ? unauthorizedHint : undefined,
  );
}

/**
 * The one failover rule of every driver: failures before the builder started the build leave nothing
 * behind on it, so the job may move to another region: refused or unreachable, reset during the upload,
 * a 5xx, or a stall or silence before any answer. Nothing after the build started moves.
 */
export function allowsFailover(error: unknown, started: boolean): boolean {
  if (started) return false;
  if (error instanceof BuilderRejection) return error.statusCode >= 500;
  if (!(error instanceof SlipwayError)) return false;
  return (
    error.code === 'E_BUILDER_UNREACHABLE' || error.code === 'E_UPLOAD_RESET' || error.code === 'E_BUILDER_TIMEOUT'
  );
}

/** The short cause of a failure for a reason string: the socket's code (ECONNRESET), else the error code. */
export function shortCause(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && !code.startsWith('E_')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  if (error instanceof BuilderRejection) return `HTTP ${error.statusCode}`;
  return toErrorInfo(error).code;
}
