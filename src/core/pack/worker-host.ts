import type { MessagePort } from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import type { ErrorInfo } from '../../shared/errors';
import { builtWorkerUrl } from '../built-worker';
import type { IgnoreSource } from '../project/ignore';
import type { DetailedScan } from './scan';
import type { ScanSpool } from './scan-spool';

/**
 * What a pack worker is started to do: scan a context (writing the spool, when given one) and, with
 * `readAhead`, read that spool ahead of the packer in the same worker, over that port; or only read a
 * spool ahead (a failover's pack, after the scan's worker is gone). One worker for both: each is an
 * isolate of about 9 MiB, and the scan and the read-ahead take turns on its event loop.
 */
export type PackWorkerJob =
  | { kind: 'scan'; root: string; ignore: IgnoreSource; spool: ScanSpool | null; readAhead: MessagePort | null }
  | { kind: 'read-ahead'; root: string; spool: ScanSpool; readAhead: MessagePort };

/**
 * What the packer tells a worker: stop now (the scan, on the worker's own port; the read-ahead, on
 * its port), or one more batch may come, in this buffer of a batch it is done with (read-ahead).
 */
export type PackWorkerRequest = 'stop' | { recycle: ArrayBuffer };

/** What a scan worker answers, once. */
export type PackWorkerReply = { scan: DetailedScan } | { error: ErrorInfo };

/**
 * Starts a worker thread for one job of the packer. Stop one with a 'stop' message rather than
 * terminate(): a worker stopped between an open and its close would leak the descriptor.
 */
export function startPackWorker(job: PackWorkerJob): Worker {
  return new Worker(builtWorkerUrl('pack-worker', 'SLIPWAY_PACK_WORKER'), {
    workerData: job,
    transferList: job.readAhead ? [job.readAhead] : [],
  });
}
