// The search worker: runs one regular expression search of a task's log (see search-host.ts) through the
// descriptors it is lent, answers once and ends. Built as its own entry beside the bundle that starts it.
import { parentPort, workerData } from 'node:worker_threads';
import { toErrorInfo } from '../../shared/errors';
import { searchDescriptors } from './log-search';
import type { SearchJob, SearchReply } from './search-host';

const job = workerData as SearchJob;
const port = parentPort;
if (!port) throw new Error('search-worker.ts runs as a worker thread');
// Loaded: from here on the worker makes no call that opens anything, and may be terminated at any time.
port.postMessage('loaded' satisfies SearchReply);
searchDescriptors(job.indexFd, job.logFd, job).then(
  (result) => port.postMessage({ result } satisfies SearchReply),
  (error: unknown) => port.postMessage({ error: toErrorInfo(error) } satisfies SearchReply),
);
