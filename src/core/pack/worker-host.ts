import { Worker } from 'node:worker_threads';
import type { ErrorInfo } from '../../shared/errors';
import { builtWorkerUrl } from '../built-worker';
import type { IgnoreSource } from '../project/ignore';
import type { DetailedScan } from './scan';
import type { ScanSpool } from './scan-spool';

/** What a pack worker is started to do: scan a context (writing the spool, when given one), or read it ahead of the packer. */
export type PackWorkerJob =
  | { kind: 'scan'; root: string; ignore: IgnoreSource; spool: ScanSpool | null }
  | { kind: 'read-ahead'; root: string; spool: ScanSpool };

/**
 * What the packer tells a worker: stop now (both kinds), or one more batch may come, in this buffer
 * of a batch it is done with (read-ahead).
 */
export type PackWorkerRequest = 'stop' | { recycle: ArrayBuffer };

/** What a scan worker answers, once. */
export type PackWorkerReply = { scan: DetailedScan } | { error: ErrorInfo };

/**
 * Starts a worker thread for one job of the packer. Stop one with a 'stop' message rather than
 * terminate(): a worker stopped between an open and its close would leak the descriptor.
 */
export function startPackWorker(job: PackWorkerJob): Worker {
  return new Worker(builtWorkerUrl('pack-worker', 'SLIPWAY_PACK_WORKER'), { workerData: job });
}
