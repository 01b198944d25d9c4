import { Worker } from 'node:worker_threads';
import { type ErrorInfo, SlipwayError } from '../../shared/errors';
import { builtWorkerUrl } from '../built-worker';
import type { SearchQuery, SearchResult } from './log-search';

/**
 * Regular expressions come from the user, and V8's engine backtracks: `(a+)+b` on a long line of `a`
 * runs for minutes. So they run in a worker thread (search-worker.ts), which the engine terminates
 * when the search takes too long or its caller goes away, while its own thread goes on answering.
 */

/** How long a regular expression search may run, by default. */
export const SEARCH_TIMEOUT_MS = 30_000;
/** Searches run in workers at once, at most; more wait their turn. */
export const SEARCH_WORKERS = 2;
/** Searches that may wait for a worker; past that many, a search is refused. */
export const SEARCH_QUEUE = 32;
/** The heap a search worker may use: it holds one piece of the log as text, and the matches. */
const SEARCH_WORKER_HEAP_MB = 64;

/** What a search worker is given: the query, and descriptors of the index and log, which stay the caller's. */
export interface SearchJob extends SearchQuery {
  indexFd: number;
  logFd: number;
}

/**
 * What a search worker says: that its code is loaded, then its answer, once, before it ends. Until its
 * code is loaded it may be reading files (its own modules): terminated then, it would leak their
 * descriptors, so it is terminated only once it is loaded.
 */
export type SearchReply = 'loaded' | { result: SearchResult } | { error: ErrorInfo };

export interface SearchLimits {
  /** Ends the search (E_CANCELLED) when it aborts: the caller went away. */
  signal?: AbortSignal;
  /** Default SEARCH_TIMEOUT_MS. */
  timeoutMs?: number;
}

let workers = 0;
let busy = 0;
const waiting: (() => void)[] = [];

/** Search workers alive right now (started and not yet exited). */
export function searchWorkersAlive(): number {
  return workers;
}

function cancelled(): SlipwayError {
  return new SlipwayError('E_CANCELLED', 'The log search was cancelled: whoever asked for it went away');
}

/** Waits for a free worker slot; resolves with the function that frees it. */
function takeSlot(signal: AbortSignal | undefined): Promise<() => void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    const onAbort = () => {
      const at = waiting.indexOf(grant);
      if (at !== -1) waiting.splice(at, 1);
      reject(cancelled());
    };
    function grant() {
      signal?.removeEventListener('abort', onAbort);
      busy += 1;
      let released = false;
      resolve(() => {
        if (released) return;
        released = true;
        busy -= 1;
        waiting.shift()?.();
      });
    }
    if (busy < SEARCH_WORKERS) {
      grant();
      return;
    }
    if (waiting.length >= SEARCH_QUEUE) {
      reject(
        new SlipwayError('E_SEARCH_LIMIT', `${SEARCH_QUEUE} log searches are already waiting for a worker`, {
          hint: 'Wait for the running searches to end, or search for plain text.',
        }),
      );
      return;
    }
    waiting.push(grant);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs a search in a worker within its limits. It resolves or rejects only once the worker has exited,
 * so the caller may then close the descriptors it lent.
 */
export async function searchInWorker(job: SearchJob, limits: SearchLimits = {}): Promise<SearchResult> {
  const release = await takeSlot(limits.signal);
  try {
    return await runWorker(job, limits);
  } finally {
    release();
  }
}

function runWorker(job: SearchJob, { signal, timeoutMs = SEARCH_TIMEOUT_MS }: SearchLimits): Promise<SearchResult> {
  if (signal?.aborted) return Promise.reject(cancelled());
  const worker = new Worker(builtWorkerUrl('search-worker', 'SLIPWAY_SEARCH_WORKER'), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: SEARCH_WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16 },
  });
  workers += 1;
  return new Promise((resolve, reject) => {
    let outcome: { result: SearchResult } | { error: Error } | null = null;
    let loaded = false;
    let stopping = false;
    const stop = (error: Error) => {
      outcome ??= { error };
      stopping = true;
      if (loaded) void worker.terminate();
    };
    const timer = setTimeout(
      () =>
        stop(
          new SlipwayError('E_SEARCH_LIMIT', `The search for /${job.query}/ took longer than ${timeoutMs} ms`, {
            hint: 'Search for plain text, or an expression without nested repetition such as (a+)+.',
          }),
        ),
      timeoutMs,
    );
    const onAbort = () => stop(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (reply: SearchReply) => {
      if (reply === 'loaded') {
        loaded = true;
        if (stopping) void worker.terminate();
        return;
      }
      outcome ??=
        'error' in reply
          ? { error: new SlipwayError(reply.error.code, reply.error.message, { hint: reply.error.hint }) }
          : { result: reply.result };
    });
    worker.once('error', (error: Error & { code?: string }) => {
      outcome ??= {
        error:
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new SlipwayError('E_SEARCH_LIMIT', `The search for /${job.query}/ went past its memory limit`, {
                hint: 'Search for plain text, or a simpler expression.',
                cause: error,
              })
            : error,
      };
    });
    worker.once('exit', () => {
      workers -= 1;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (outcome && 'result' in outcome) resolve(outcome.result);
      else reject(outcome?.error ?? new Error('The search worker stopped without an answer'));
    });
  });
}
