import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import type { Task } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { startDockerBuild } from '../builders/docker';
import type { Connection } from '../builders/endpoint';
import { packContext, TarLengthGuard } from '../pack/pack';
import type { ContextPlan } from '../pack/plan';
import { ProgressCounter } from '../pack/progress-counter';
import type { ReadAhead } from '../pack/read-ahead-host';
import type { ScanSpool } from '../pack/scan-spool';

export type CompressMode = 'auto' | 'always' | 'never';

/** Gzip costs CPU and saves bytes on a network: on by default for anything but a local socket. */
export function shouldGzip(mode: CompressMode, connection: Connection): boolean {
  return mode === 'always' || (mode === 'auto' && !connection.loopback);
}

/** Level 6 is zlib's default: most of the gain of 9 for a third of the CPU. */
const GZIP_LEVEL = constants.Z_DEFAULT_COMPRESSION;

export interface ContextUploadOptions {
  connection: Connection;
  task: Task;
  /** How the context is sent (root, ignore rule, Dockerfile name), from planContext. */
  plan: ContextPlan;
  /** The spool of the task's scan, which the packer reads back (see scan-spool.ts). */
  spool: ScanSpool;
  /** A read-ahead of that spool not used yet (see prepareContext), which the pack takes over. */
  readAhead?: ReadAhead;
  /**
   * The exact size of the tar, from the scan. A promise while the scan still runs beside the upload:
   * the body is then sent chunked, and the length guard checks the size once it comes.
   */
  tarBytes: number | Promise<number>;
  tag: string | null;
  gzip: boolean;
  noCache?: boolean;
  /** Called with the tar bytes sent so far (before gzip, so it counts against the exact tar size). */
  onBytes: (bytesSent: number) => void;
  signal: AbortSignal;
}

export interface ContextUpload {
  /** The engine's JSON-lines response, once it answered 200. */
  response: Readable;
  /** Settles when the context has been packed and handed to the socket: null, or the packing error. */
  packed: Promise<unknown>;
}

/**
 * Packs a task's context and streams it as the body of POST /build: file -> tar -> length guard ->
 * progress counter -> (gzip) -> socket, all in one pipeline that the signal tears down.
 */
export async function uploadContext(options: ContextUploadOptions): Promise<ContextUpload> {
  const { task, tarBytes, signal } = options;
  const abort = new AbortController();
  // Linked for the whole attempt: aborting the caller's signal also ends the response body.
  if (signal.aborted) abort.abort(signal.reason);
  else signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  const counter = new ProgressCounter(options.onBytes);
  const stages: NodeJS.ReadWriteStream[] = [new TarLengthGuard(tarBytes, task.contextPath), counter];
  if (options.gzip) stages.push(createGzip({ level: GZIP_LEVEL }));
  const body = stages[stages.length - 1] as unknown as Readable;
  const source = await packContext(options.plan, options.spool, options.readAhead);
  const packed = pipeline([source, ...stages], { signal: abort.signal }).then(
    () => null,
    (error: unknown) => error,
  );
  try {
    const response = await startDockerBuild(options.connection, {
      body,
      contentBytes: options.gzip || typeof tarBytes !== 'number' ? null : tarBytes,
      dockerfile: options.plan.dockerfile,
      buildArgs: task.buildArgs,
      target: task.target,
      labels: task.labels,
      tag: options.tag,
      gzip: options.gzip,
      noCache: options.noCache,
      signal: abort.signal,
    });
    return { response, packed };
  } catch (error) {
    abort.abort(error);
    const packError = await packed;
    // A context that changed or could not be read explains the failed upload better than the socket does.
    throw packError instanceof SlipwayError && packError !== error && packError.code.startsWith('E_CONTEXT')
      ? packError
      : error;
  }
}
