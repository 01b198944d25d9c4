import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { type ReadAheadBatch, ReadAheadWalk } from './read-ahead';
import type { ScanSpool } from './scan-spool';
import { type PackWorkerRequest, startPackWorker } from './worker-host';

/** The packer's end of a read-ahead running in a worker: the port it talks over, and the worker. */
export interface ReadAheadLink {
  port: MessagePort;
  worker: Worker;
}

/**
 * A read-ahead (see read-ahead.ts) reading a scan's spool in a worker, and the batches it has sent that
 * the packer has not taken yet: at most READ_AHEAD_BATCHES, since the worker sends one more only for
 * each batch handed back. It runs in the scan's own worker when the scan started it (see startScan),
 * else in a worker of its own. It may start before the packer does (see prepareContext), so that its
 * first batches, not its start-up, are waiting when the upload starts. A spool written whole on this
 * thread (a small context, see startScan) is read here instead, a batch at a time as the packer takes it.
 */
export class ReadAhead {
  private readonly port: MessagePort | null = null;
  private readonly walk: ReadAheadWalk | null = null;
  /** The in-thread walk's buffer, handed back by the packer for the next batch. */
  private free: ArrayBuffer | undefined;
  private readonly batches: ReadAheadBatch[] = [];
  private lastBatchCame = false;
  private failure: Error | null = null;
  private listener: (() => void) | null = null;
  private readonly exited: Promise<void>;

  /** `link`: a read-ahead of this spool already running in the scan's worker. */
  constructor(root: string, spool: ScanSpool, link?: ReadAheadLink) {
    if (spool.complete && !link) {
      this.walk = new ReadAheadWalk(root, spool);
      this.exited = Promise.resolve();
      return;
    }
    const { port, worker } = link ?? ownWorker(root, spool);
    this.port = port;
    // The worker closes its end once it has stopped reading, and so has closed the spool.
    this.exited = new Promise((resolve) => port.once('close', () => resolve()));
    port.on('message', (batch: ReadAheadBatch) => {
      this.lastBatchCame ||= batch.done;
      this.batches.push(batch);
      this.listener?.();
    });
    worker.on('error', (error) => this.fail(error));
    port.once('close', () => {
      if (!this.lastBatchCame) this.fail(new Error('The pack worker stopped before its last batch'));
    });
  }

  /** Calls `listener` whenever a batch comes or the worker fails. One pack reads a read-ahead, once. */
  listen(listener: () => void): void {
    if (this.listener) throw new Error('This read-ahead is already read by a pack');
    this.listener = listener;
  }

  /** The oldest batch not taken yet. */
  take(): ReadAheadBatch | undefined {
    if (!this.walk || this.lastBatchCame) return this.batches.shift();
    const next = this.walk.next(this.free);
    this.free = undefined;
    // The scan wrote the whole spool before this read-ahead started: there is nothing to wait for.
    if (next === 'wait') throw new Error('The scan spool of a small context is not complete');
    this.lastBatchCame = next.batch.done;
    return next.batch;
  }

  /** Why the worker stopped before its last batch, once it has. */
  get error(): Error | null {
    return this.failure;
  }

  /** Hands a batch's buffer back to the worker, which may then send one more batch. */
  recycle(buffer: ArrayBuffer): void {
    if (!this.port) {
      this.free = buffer;
      return;
    }
    this.port.postMessage({ recycle: buffer } satisfies PackWorkerRequest, [buffer]);
  }

  /**
   * Stops the read-ahead early (the pack ended, or never started); harmless once it has stopped.
   * Resolves once it has, and so has closed the spool.
   */
  stop(): Promise<void> {
    if (!this.port) {
      this.walk?.close();
      return this.exited;
    }
    this.port.postMessage('stop' satisfies PackWorkerRequest);
    return this.exited;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.listener?.();
  }
}

/** A worker that only reads the spool ahead (the scan's worker is gone: a failover's pack). */
function ownWorker(root: string, spool: ScanSpool): ReadAheadLink {
  const { port1, port2 } = new MessageChannel();
  return { port: port1, worker: startPackWorker({ kind: 'read-ahead', root, spool, readAhead: port2 }) };
}
