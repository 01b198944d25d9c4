import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { LogStep } from '../../shared/domain';
import {
  completeExtent,
  DEFAULT_SEARCH_LIMIT_LINES,
  type SearchResult,
  searchDescriptors,
  userPattern,
} from './log-search';
import { type SearchLimits, searchInWorker } from './search-host';
import { checkEntryEnd, entryEndBytes, entryFlags, INDEX_ENTRY_BYTES, indexPath, logPath } from './spool';
import { readStepRecords } from './steps-file';

export interface LineWindow {
  fromLine: number;
  lines: string[];
  flags: number[];
  totalLines: number;
}

async function openIfThere(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function openSyncIfThere(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Reads lines [fromLine, fromLine + count) of a task's log: one read of the index, one of the log.
 * Lines whose index entry points past the end of the log (a crash mid-write) do not count; a task
 * that has not spooled anything yet has no lines. The reads are small (a window is a screenful) and
 * synchronous: eight round trips through the thread pool made a busy machine's worst window ten
 * times slower than its median.
 */
export async function readLines(
  buildDir: string,
  taskId: string,
  fromLine: number,
  count: number,
): Promise<LineWindow> {
  const index = openSyncIfThere(indexPath(buildDir, taskId));
  const log = index === null ? null : openSyncIfThere(logPath(buildDir, taskId));
  try {
    if (index === null || log === null) return { fromLine: 0, lines: [], flags: [], totalLines: 0 };
    let totalLines = Math.floor(fstatSync(index).size / INDEX_ENTRY_BYTES);
    const logBytes = fstatSync(log).size;
    const first = Math.max(0, Math.min(fromLine, totalLines));
    const last = Math.min(totalLines, first + count);
    const entriesFrom = Math.max(0, first - 1);
    const entries = Buffer.alloc((last - entriesFrom) * INDEX_ENTRY_BYTES);
    if (entries.length > 0) readSync(index, entries, 0, entries.length, entriesFrom * INDEX_ENTRY_BYTES);
    const start = first === 0 ? 0 : entryEndBytes(entries, 0);
    const skip = first - entriesFrom;
    let end = start;
    let complete = 0;
    for (let entry = skip; entry < last - entriesFrom; entry++) {
      const lineEnd = entryEndBytes(entries, entry);
      if (lineEnd > logBytes) break;
      checkEntryEnd(buildDir, taskId, entriesFrom + entry, end, lineEnd);
      end = lineEnd;
      complete += 1;
    }
    if (complete < last - first) totalLines = first + complete;
    const text = Buffer.alloc(end - start);
    if (text.length > 0) readSync(log, text, 0, text.length, start);
    const lines: string[] = [];
    const flags: number[] = [];
    let cursor = 0;
    for (let entry = skip; entry < skip + complete; entry++) {
      const lineEnd = entryEndBytes(entries, entry) - start;
      lines.push(text.toString('utf8', cursor, lineEnd - 1));
      flags.push(entryFlags(entries, entry));
      cursor = lineEnd;
    }
    return { fromLine: first, lines, flags, totalLines };
  } finally {
    if (index !== null) closeSync(index);
    if (log !== null) closeSync(log);
  }
}

export type { SearchResult } from './log-search';
export { DEFAULT_SEARCH_LIMIT_LINES, requiredLiteral } from './log-search';

/**
 * Finds the lines of a task's log that contain `query` (or match it, as a regular expression), up to
 * `limitLines`. Text is searched on this thread; a regular expression in a search worker, within a time
 * limit, and cancelled when `signal` aborts (see search-host.ts).
 */
export async function searchLog(
  buildDir: string,
  taskId: string,
  query: string,
  options: { regex?: boolean; limitLines?: number } & SearchLimits = {},
): Promise<SearchResult> {
  const job = { query, regex: options.regex ?? false, limitLines: options.limitLines ?? DEFAULT_SEARCH_LIMIT_LINES };
  // Refused here and at once, rather than by a worker started for nothing.
  if (job.regex) userPattern(query, 'gm');
  const index = openSyncIfThere(indexPath(buildDir, taskId));
  const log = index === null ? null : openSyncIfThere(logPath(buildDir, taskId));
  try {
    if (index === null || log === null) return { matches: [], truncated: false };
    if (!job.regex) return await searchDescriptors(index, log, job, options.signal);
    return await searchInWorker({ ...job, indexFd: index, logFd: log }, options);
  } finally {
    if (index !== null) closeSync(index);
    if (log !== null) closeSync(log);
  }
}

/**
 * The raw text of a task's log from line `fromLine` to its last complete line, as a stream: for
 * printing a whole log, which then never passes through strings. Empty when there is nothing there.
 */
export async function createLogStream(buildDir: string, taskId: string, fromLine: number): Promise<Readable> {
  const index = await openIfThere(indexPath(buildDir, taskId));
  if (!index) return Readable.from([]);
  try {
    const extent = completeExtent(index.fd, (await stat(logPath(buildDir, taskId))).size);
    if (fromLine >= extent.lines) return Readable.from([]);
    let startBytes = 0;
    if (fromLine > 0) {
      const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
      await index.read(entry, 0, INDEX_ENTRY_BYTES, (fromLine - 1) * INDEX_ENTRY_BYTES);
      startBytes = entryEndBytes(entry, 0);
    }
    return createReadStream(logPath(buildDir, taskId), { start: startBytes, end: extent.bytes - 1 });
  } finally {
    await index.close();
  }
}

/** The number of complete lines of a task's log (0 when it has none). */
async function completeLines(buildDir: string, taskId: string): Promise<number> {
  const index = await openIfThere(indexPath(buildDir, taskId));
  if (!index) return 0;
  try {
    const logBytes = await stat(logPath(buildDir, taskId)).then(
      (info) => info.size,
      () => 0,
    );
    return completeExtent(index.fd, logBytes).lines;
  } finally {
    await index.close();
  }
}

/** True when the task's spool was closed (its steps file ends with an end mark). */
export async function taskSpoolEnded(buildDir: string, taskId: string): Promise<boolean> {
  const records = await readStepRecords(buildDir, taskId);
  const last = records[records.length - 1];
  return last !== undefined && 'endedAtMs' in last;
}

/**
 * The build steps of a task's log with their first lines and durations: a step lasts until the next
 * one starts or the task ends. The last step of a task still running (or cut off by a crash) has no
 * known duration.
 */
export async function readSteps(buildDir: string, taskId: string): Promise<LogStep[]> {
  const steps: (LogStep & { atMs: number })[] = [];
  let open: (LogStep & { atMs: number }) | null = null;
  const storedLines = await completeLines(buildDir, taskId);
  for (const record of await readStepRecords(buildDir, taskId)) {
    // The steps file is written beside the log, not after it: a step whose line the log does not hold
    // (yet, or ever: a full disk) is not shown.
    if ('vertex' in record || ('line' in record && record.line >= storedLines)) continue;
    if ('endedAtMs' in record) {
      if (open) open.durationMs = Math.max(0, record.endedAtMs - open.atMs);
      open = null;
      continue;
    }
    if (open) open.durationMs = Math.max(0, record.atMs - open.atMs);
    open = {
      step: record.step,
      steps: record.steps,
      line: record.line,
      text: record.text,
      durationMs: null,
      atMs: record.atMs,
    };
    steps.push(open);
  }
  return steps.map(({ atMs: _atMs, ...step }) => step);
}

/** The index is read this many entries at a time when looking for a flag. */
const FLAG_SCAN_ENTRIES = 64 * 1024;

/**
 * The first complete line of a task's log with all of `flags` set (LineFlag.error: the first error), or
 * null. It reads the index from the start in blocks; the log itself only for its size.
 */
export async function firstLineWithFlags(buildDir: string, taskId: string, flags: number): Promise<number | null> {
  const index = openSyncIfThere(indexPath(buildDir, taskId));
  if (index === null) return null;
  try {
    const logBytes = await stat(logPath(buildDir, taskId)).then(
      (info) => info.size,
      () => 0,
    );
    const { lines } = completeExtent(index, logBytes);
    const block = Buffer.alloc(FLAG_SCAN_ENTRIES * INDEX_ENTRY_BYTES);
    for (let from = 0; from < lines; from += FLAG_SCAN_ENTRIES) {
      const entries = Math.min(FLAG_SCAN_ENTRIES, lines - from);
      readSync(index, block, 0, entries * INDEX_ENTRY_BYTES, from * INDEX_ENTRY_BYTES);
      for (let entry = 0; entry < entries; entry++) {
        if ((entryFlags(block, entry) & flags) === flags) return from + entry;
      }
    }
    return null;
  } finally {
    closeSync(index);
  }
}
