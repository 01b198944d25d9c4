// The pack worker: a worker thread that scans a context and writes the scan's spool (see scan.ts,
// scan-spool.ts), and reads the spool's small files ahead of the packer (see read-ahead.ts), or only
// the latter. Built as its own entry beside the bundle that starts it (see worker-host.ts).
import { resolve } from 'node:path';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { toErrorInfo } from '../../shared/errors';
import { ignoreRuleFromSource } from '../project/ignore';
import { READ_AHEAD_BATCHES, ReadAheadWalk } from './read-ahead';
import { scanWalk } from './scan';
import { type ScanSpool, SpoolWriter } from './scan-spool';
import type { PackWorkerJob, PackWorkerReply, PackWorkerRequest } from './worker-host';

type ScanJob = Extract<PackWorkerJob, { kind: 'scan' }>;

function readAhead(port: MessagePort, root: string, spool: ScanSpool): void {
  let walk: ReadAheadWalk;
  try {
    walk = new ReadAheadWalk(root, spool);
  } catch (error) {
    const empty = { paths: '', entries: 0, fields: new Float64Array(0), linknames: [], content: new ArrayBuffer(0) };
    port.postMessage({ ...empty, error: toErrorInfo(error), done: true });
    port.close();
    return;
  }
  // The packer hands back each batch's buffer once it is done with it: at most READ_AHEAD_BATCHES are out
  // at once, and their buffers are used again rather than left to the garbage collector.
  let credit = READ_AHEAD_BATCHES;
  const free: ArrayBuffer[] = [];
  let finished = false;
  let waiting = false;
  const send = () => {
    while (credit > 0 && !finished && !waiting) {
      const buffer = free.pop();
      const next = walk.next(buffer);
      if (next === 'wait') {
        if (buffer) free.push(buffer);
        waiting = true;
        walk.waitForScan().then(() => {
          waiting = false;
          send();
        });
        return;
      }
      credit -= 1;
      finished = next.batch.done;
      port.postMessage(next.batch, next.transfer);
    }
    if (finished) port.close();
  };
  // The packer's end closed without a stop (it never took this read-ahead over): the spool closes too.
  port.once('close', () => {
    finished = true;
    walk.close();
  });
  port.on('message', (request: PackWorkerRequest) => {
    if (request === 'stop') {
      finished = true;
      walk.close();
      port.close();
      return;
    }
    credit += 1;
    if (request.recycle.byteLength > 0) free.push(request.recycle);
    send();
  });
  send();
}

async function scan(port: MessagePort, job: ScanJob): Promise<void> {
  let stopped = false;
  port.on('message', (request: PackWorkerRequest) => {
    if (request === 'stop') stopped = true;
  });
  let reply: PackWorkerReply;
  let spool: SpoolWriter | null = null;
  try {
    spool = job.spool ? new SpoolWriter(job.spool) : null;
    const writer = spool;
    const result = await scanWalk(job.root, ignoreRuleFromSource(job.ignore), (batch) => {
      if (stopped) throw new Error('The scan was stopped');
      if (!writer) return;
      for (const entry of batch) writer.add(entry);
      writer.publish();
    });
    // The last write may fail (a full disk): that fails the scan too, and the spool says so.
    spool?.finish(false);
    reply = { scan: result };
  } catch (error) {
    try {
      spool?.finish(true);
    } catch {
      // The spool is closed by now; the scan's own error says what went wrong.
    }
    reply = { error: toErrorInfo(error) };
  }
  port.postMessage(reply);
  port.close();
}

const job = workerData as PackWorkerJob;
if (!parentPort) throw new Error('pack-worker.ts runs as a worker thread');
// The read-ahead opens the spool first: the scan's stop may remove it once the scan has answered.
if (job.readAhead && job.spool) readAhead(job.readAhead, resolve(job.root), job.spool);
if (job.kind === 'scan') void scan(parentPort, job);
