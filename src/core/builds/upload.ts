import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import type { Connection } from '../builders/endpoint';
import { TarLengthGuard } from '../pack/pack';
import { ProgressCounter } from '../pack/progress-counter';

export type CompressMode = 'auto' | 'always' | 'never';

/** Gzip costs CPU and saves bytes on a network: on by default for anything but a local socket. */
export function shouldGzip(mode: CompressMode, connection: Connection): boolean {
  return mode === 'always' || (mode === 'auto' && !connection.loopback);
}

/** Level 6 is zlib's default: most of the gain of 9 for a third of the CPU. */
const GZIP_LEVEL = constants.Z_DEFAULT_COMPRESSION;

export interface UploadOptions {
  /** The context's tar stream, or null when nothing is uploaded (a context the builder fetches). */
  source: Readable | null;
  /** The exact tar size, or a promise of it while the scan runs: the length guard checks it. */
  tarBytes: number | Promise<number>;
  /** The context's root, named when it changed while it was packed. */
  root: string;
  gzip: boolean;
  /** Called with the tar bytes sent so far (before gzip) and, when gzipped, the bytes on the wire. */
  onBytes: (tarBytes: number, wireBytes: number | null) => void;
  signal: AbortSignal;
}

export interface Upload {
  /** The request body: the last stage of the pipeline, or null. */
  body: Readable | null;
  tarBytes: number | Promise<number>;
  /** Settles when the body has been handed to the socket: null, or the pipeline's error. */
  settled: Promise<unknown>;
  /** True once settled without error. */
  readonly done: boolean;
}

/**
 * The body of one attempt: tar -> length guard -> progress counter -> (gzip -> wire counter), in one
 * pipeline that the signal tears down. Nothing of the context is held beyond the stages' buffers.
 */
export function startUpload(options: UploadOptions): Upload {
  if (options.source === null) return { body: null, tarBytes: 0, settled: Promise.resolve(null), done: true };
  let tarBytesSent = 0;
  let wireBytesSent: number | null = options.gzip ? 0 : null;
  const stages: NodeJS.ReadWriteStream[] = [
    new TarLengthGuard(options.tarBytes, options.root),
    new ProgressCounter((bytes) => {
      tarBytesSent = bytes;
      options.onBytes(tarBytesSent, wireBytesSent);
    }),
  ];
  if (options.gzip) {
    stages.push(
      createGzip({ level: GZIP_LEVEL }),
      new ProgressCounter((bytes) => {
        wireBytesSent = bytes;
        options.onBytes(tarBytesSent, wireBytesSent);
      }),
    );
  }
  const upload = {
    body: stages[stages.length - 1] as unknown as Readable,
    tarBytes: options.tarBytes,
    done: false,
    settled: null as unknown as Promise<unknown>,
  };
  upload.settled = pipeline([options.source, ...stages], { signal: options.signal }).then(
    () => {
      upload.done = true;
      return null;
    },
    (error: unknown) => error,
  );
  return upload;
}
