import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, type Worker } from 'node:worker_threads';
import type { ContextScan, SizedPath } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { type IgnoreRule, ignoreRuleFromSource } from '../project/ignore';
import type { ContextPlan } from './plan';
import { SMALL_FILE_BYTES } from './read-ahead';
import type { ReadAheadLink } from './read-ahead-host';
import { makeScanFolder, removeScanFolder, sweepStaleScanFolders } from './scan-folders';
import { newSpoolProgress, type ScanSpool, SpoolWriter } from './scan-spool';
import { TAR_END_BYTES, tarEntryBytes } from './tar-size';
import { type WalkEntry, walkContext } from './walk';
import { type PackWorkerReply, type PackWorkerRequest, startPackWorker } from './worker-host';

const SLASH = 0x2f;

/** How many of the largest files and folders a scan keeps. */
export const LARGEST_KEPT = 10;
/** Skipped entries listed one by one; past this many they are only counted in the last line. */
const SKIPPED_LISTED = 100;

/** A scan with the largest files and folders of the context. */
export interface DetailedScan extends ContextScan {
  largestFiles: SizedPath[];
  /** Folders by the bytes of content under them (nested folders counted in each ancestor). */
  largestFolders: SizedPath[];
}

/**
 * Keeps the n largest, sorted largest first (a folder before its equally large subfolder), in O(n)
 * memory. Most paths are not among them, and make no object.
 */
function keepLargest(list: SizedPath[], path: string, bytes: number): void {
  if (list.length === LARGEST_KEPT && (list[LARGEST_KEPT - 1] as SizedPath).bytes >= bytes) return;
  let index = list.findIndex((kept) => kept.bytes < bytes || (kept.bytes === bytes && kept.path.length > path.length));
  if (index === -1) index = list.length;
  list.splice(index, 0, { path, bytes });
  if (list.length > LARGEST_KEPT) list.pop();
}

/** A scan running in a worker thread (see startScan). */
export interface ScanRun {
  result: Promise<DetailedScan>;
  /** The spool the scan writes, for packContext; null when it was started without one. */
  spool: ScanSpool | null;
  /**
   * With the `readAhead` option and a worker: the read-ahead of the spool the worker runs beside the
   * scan (see ReadAhead); null otherwise.
   */
  readAhead: ReadAheadLink | null;
  /**
   * Stops the scan if it still runs, and removes its spool once it has stopped. A read-ahead in its
   * worker is stopped by its own ReadAhead: it may read on from the open spool meanwhile.
   */
  dispose(): Promise<void>;
}

/**
 * A context of at most this many entries, with at most IN_THREAD_BYTES in files small enough to be read
 * ahead, is scanned and read ahead on the caller's thread: a worker takes longer to start (and costs an
 * isolate of memory) than such a context takes to walk and read.
 */
export const IN_THREAD_ENTRIES = 512;
export const IN_THREAD_BYTES = 4 * 1024 * 1024;

/** Thrown by the in-thread scan's batch callback once the context is past the in-thread bounds. */
const TOO_BIG = new Error('The context is too big to scan on this thread');

/**
 * Scans a context on this thread (into `spool`, when given), as the worker would, while it stays within the
 * in-thread bounds. Null when it does not (or fails: the worker's scan then names the error), with the
 * spool left for the worker to write anew.
 */
async function scanInThread(plan: ContextPlan, spool: ScanSpool | null): Promise<DetailedScan | null> {
  let writer: SpoolWriter | null;
  try {
    writer = spool ? new SpoolWriter(spool) : null;
  } catch {
    return null;
  }
  let entries = 0;
  let smallBytes = 0;
  try {
    const scan = await scanWalk(plan.root, ignoreRuleFromSource(plan.ignore.source), (batch) => {
      for (const entry of batch) {
        entries += 1;
        if (entry.stats.isFile() && entry.stats.size <= SMALL_FILE_BYTES) smallBytes += entry.stats.size;
        if (entries > IN_THREAD_ENTRIES || smallBytes > IN_THREAD_BYTES) throw TOO_BIG;
        writer?.add(entry);
      }
    });
    writer?.finish(false);
    return scan;
  } catch {
    try {
      writer?.finish(true);
    } catch {
      // Closed by now; the worker writes the spool again.
    }
    return null;
  }
}

/**
 * Starts a scan (see scanContext). A small context is scanned at once on this thread (see
 * IN_THREAD_ENTRIES), its spool complete; any other in a worker thread (pack-worker.ts), so that a
 * build packs and uploads on this thread while the scan runs on another core. With `spool`, the scan
 * also writes what it saw to a spool file in a new temporary folder (see scan-spool.ts), which the
 * packer reads back as it goes.
 */
export async function startScan(plan: ContextPlan, options: { spool: boolean; readAhead?: boolean }): Promise<ScanRun> {
  await sweepStaleScanFolders();
  const folder = options.spool ? makeScanFolder() : null;
  const path = folder ? join(folder, 'scan.spool') : null;
  const inThread = path ? { path, progress: newSpoolProgress(), complete: true } : null;
  const scanned = await scanInThread(plan, inThread);
  if (scanned) {
    const result = Promise.resolve(withAppended(scanned, plan));
    const dispose = async () => (folder ? removeScanFolder(folder) : undefined);
    return { result, spool: inThread, readAhead: null, dispose };
  }
  // A fresh progress: the worker's spool must not start out as the in-thread scan left it.
  const spool = path ? { path, progress: newSpoolProgress() } : null;
  const channel = spool && options.readAhead ? new MessageChannel() : null;
  let worker: Worker;
  try {
    // Made here, empty, so that a read-ahead started before the scan worker opens it finds it.
    if (spool) writeFileSync(spool.path, '', { mode: 0o600 });
    const readAhead = channel?.port2 ?? null;
    worker = startPackWorker({ kind: 'scan', root: plan.root, ignore: plan.ignore.source, spool, readAhead });
  } catch (error) {
    channel?.port1.close();
    if (folder) await removeScanFolder(folder);
    throw error;
  }
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // The scan's answer is its last message: the worker may read on ahead after it (see readAhead).
  let answered: () => void = () => undefined;
  const ended = Promise.race([exited, new Promise<void>((resolve) => (answered = resolve))]);
  const result = new Promise<DetailedScan>((resolve, reject) => {
    worker.once('message', (reply: PackWorkerReply) => {
      answered();
      if ('error' in reply) reject(new SlipwayError(reply.error.code, reply.error.message, { hint: reply.error.hint }));
      else resolve(withAppended(reply.scan, plan));
    });
    worker.once('error', reject);
    exited.then(() => reject(new Error('The scan worker stopped without an answer')));
  });
  // Whoever needs the result awaits it; a scan that is disposed of early fails unheard.
  result.catch(() => undefined);
  return {
    result,
    spool,
    readAhead: channel ? { port: channel.port1, worker } : null,
    dispose: async () => {
      worker.postMessage('stop' satisfies PackWorkerRequest);
      await ended;
      if (folder) await removeScanFolder(folder);
    },
  };
}

/**
 * Walks a context once, as the packer will send it, to count files and bytes, find the largest files
 * and folders, and compute the exact size of the tar stream. Holds one folder listing per level of
 * depth. It runs in a worker thread, or on this thread for a small context (see startScan).
 */
export async function scanContext(plan: ContextPlan): Promise<DetailedScan> {
  const run = await startScan(plan, { spool: false });
  try {
    return await run.result;
  } finally {
    await run.dispose();
  }
}

/** Adds the plan's appended entries (a Dockerfile from elsewhere, the rewritten .dockerignore) to a scan. */
function withAppended(scan: DetailedScan, plan: ContextPlan): DetailedScan {
  for (const entry of plan.appended) {
    scan.files += 1;
    scan.bytes += entry.content.length;
    scan.tarBytes += tarEntryBytes(entry.name, entry.content.length);
  }
  return scan;
}

/**
 * The scan of what the walk sends, without the plan's appended entries. `onBatch` sees the walk's
 * entries a batch at a time, as they come (the scan worker spools them).
 */
export async function scanWalk(
  root: string,
  ignore: IgnoreRule,
  onBatch?: (batch: WalkEntry[]) => void,
): Promise<DetailedScan> {
  const scan: DetailedScan = {
    files: 0,
    bytes: 0,
    tarBytes: TAR_END_BYTES,
    skipped: [],
    largestFiles: [],
    largestFolders: [],
  };
  let skippedCount = 0;
  // Folders whose subtree is still being walked (the walk is depth first), with their bytes so far.
  const open: SizedPath[] = [];
  const close = (path: string | null) => {
    while (open.length > 0) {
      const top = open[open.length - 1] as SizedPath;
      if (path?.startsWith(top.path) && path.charCodeAt(top.path.length) === SLASH) return;
      open.pop();
      keepLargest(scan.largestFolders, top.path, top.bytes);
    }
  };
  for await (const batch of walkContext(root, ignore)) {
    onBatch?.(batch);
    for (const entry of batch) {
      const { stats } = entry;
      close(entry.path);
      if (stats.isFile()) {
        scan.files += 1;
        scan.bytes += stats.size;
        scan.tarBytes += tarEntryBytes(entry.path, stats.size);
        for (const folder of open) folder.bytes += stats.size;
        keepLargest(scan.largestFiles, entry.path, stats.size);
      } else if (stats.isDirectory()) {
        scan.tarBytes += tarEntryBytes(entry.path, 0);
        open.push({ path: entry.path, bytes: 0 });
      } else if (stats.isSymbolicLink()) {
        scan.tarBytes += tarEntryBytes(entry.path, 0, entry.linkname);
      } else if (stats.isFIFO()) {
        // Sent as the docker CLI sends it: a FIFO entry, never opened.
        scan.tarBytes += tarEntryBytes(entry.path, 0);
      } else {
        skippedCount += 1;
        if (scan.skipped.length < SKIPPED_LISTED) {
          scan.skipped.push({
            path: entry.path,
            reason: stats.isSocket() ? 'socket' : 'device or special file',
          });
        }
      }
    }
  }
  close(null);
  if (skippedCount > SKIPPED_LISTED) {
    scan.skipped.push({ path: '…', reason: `${skippedCount - SKIPPED_LISTED} more skipped entries` });
  }
  return scan;
}
