import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { InterleavedWindow } from '../../shared/contract';
import { completeExtent } from './log-search';
import { readLines, searchLog } from './reader';
import { indexPath, logPath, TIME_RECORD_BYTES, timesPath } from './spool';

/**
 * Every task's log as one, in the order its lines were spooled: by time, then by the task's place in
 * the build, then by line. A position counts lines of that order from 0. Nothing is loaded whole: each
 * task's times file is binary-searched a record at a time (see timesPath), and a window of the order is
 * read from the tasks' logs with one read each.
 */

/** The time a line of a log without a times file (a build from before they were kept) is given. */
export const NO_TIME_MS = 0;

/** Records of a times file are read this many at a time (4 KiB): a binary search touches few blocks. */
const BLOCK_RECORDS = 256;

/** The times of one task's lines, read from its times file on demand, a block at a time. */
class LineTimes {
  private readonly blocks = new Map<number, Buffer>();

  private constructor(
    private readonly fd: number | null,
    /** Records that start at a stored line. */
    private readonly records: number,
    readonly lines: number,
  ) {}

  /** Opens the times of a task whose log holds `lines` complete lines. */
  static open(buildDir: string, taskId: string, lines: number): LineTimes {
    let fd: number | null = null;
    try {
      fd = openSync(timesPath(buildDir, taskId), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return new LineTimes(null, 0, lines);
    }
    try {
      const all = new LineTimes(fd, Math.floor(fstatSync(fd).size / TIME_RECORD_BYTES), lines);
      // Runs written for lines the log does not hold (yet, or after a crash) are left out.
      let records = all.records;
      while (records > 0 && all.lineOf(records - 1) >= lines) records -= 1;
      if (records === all.records) return all;
      const kept = new LineTimes(fd, records, lines);
      for (const [block, buffer] of all.blocks) kept.blocks.set(block, buffer);
      return kept;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
  }

  private block(i: number): { buffer: Buffer; at: number } {
    const number = Math.floor(i / BLOCK_RECORDS);
    let buffer = this.blocks.get(number);
    if (!buffer) {
      buffer = Buffer.alloc(BLOCK_RECORDS * TIME_RECORD_BYTES);
      const bytes = readSync(this.fd as number, buffer, 0, buffer.length, number * BLOCK_RECORDS * TIME_RECORD_BYTES);
      buffer = buffer.subarray(0, bytes - (bytes % TIME_RECORD_BYTES));
      this.blocks.set(number, buffer);
    }
    return { buffer, at: (i % BLOCK_RECORDS) * TIME_RECORD_BYTES };
  }

  /** The first line of run `i`; the first run starts at line 0 whatever it says (a log resumed from an older build). */
  private lineOf(i: number): number {
    if (i === 0) return 0;
    const { buffer, at } = this.block(i);
    return buffer.readDoubleLE(at);
  }

  private timeAt(i: number): number {
    const { buffer, at } = this.block(i);
    return buffer.readDoubleLE(at + 8);
  }

  /** The first record whose time is after `ms` (when `inclusive`) or at or after it; `records` when none. */
  private firstRecordAfter(ms: number, inclusive: boolean): number {
    let low = 0;
    let high = this.records;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const atMs = this.timeAt(mid);
      if (inclusive ? atMs <= ms : atMs < ms) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Lines spooled before `ms` (inclusive: at or before it). */
  linesBefore(ms: number, inclusive = false): number {
    if (this.records === 0) return (inclusive ? NO_TIME_MS <= ms : NO_TIME_MS < ms) ? this.lines : 0;
    const record = this.firstRecordAfter(ms, inclusive);
    return record === this.records ? this.lines : this.lineOf(record);
  }

  /** The record whose run holds `line`. */
  private recordOf(line: number): number {
    let low = 0;
    let high = this.records - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.lineOf(mid) <= line) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  timeOf(line: number): number {
    return this.records === 0 ? NO_TIME_MS : this.timeAt(this.recordOf(line));
  }

  /** The times of lines [from, from + count), walking the runs forward from the one holding `from`. */
  timesOf(from: number, count: number): Float64Array {
    const times = new Float64Array(Math.max(0, Math.min(count, this.lines - from)));
    if (this.records === 0) return times.fill(NO_TIME_MS);
    let record = this.recordOf(from);
    for (let i = 0; i < times.length; i++) {
      while (record + 1 < this.records && this.lineOf(record + 1) <= from + i) record += 1;
      times[i] = this.timeAt(record);
    }
    return times;
  }
}

/** The complete lines of a task's log (0 when it has none yet). */
function storedLines(buildDir: string, taskId: string): number {
  let index: number;
  try {
    index = openSync(indexPath(buildDir, taskId), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    let logBytes = 0;
    try {
      logBytes = statSync(logPath(buildDir, taskId)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return completeExtent(index, logBytes).lines;
  } finally {
    closeSync(index);
  }
}

/** The tasks' times, opened for one request and closed after it. */
class Interleaving {
  readonly totalPositions: number;

  private constructor(readonly tasks: LineTimes[]) {
    this.totalPositions = tasks.reduce((sum, task) => sum + task.lines, 0);
  }

  static open(buildDir: string, taskIds: readonly string[]): Interleaving {
    const tasks: LineTimes[] = [];
    try {
      for (const taskId of taskIds) tasks.push(LineTimes.open(buildDir, taskId, storedLines(buildDir, taskId)));
    } catch (error) {
      for (const task of tasks) task.close();
      throw error;
    }
    return new Interleaving(tasks);
  }

  close(): void {
    for (const task of this.tasks) task.close();
  }

  /** Positions of the lines spooled before `ms`. */
  positionAtTime(ms: number): number {
    return this.tasks.reduce((sum, task) => sum + task.linesBefore(ms), 0);
  }

  /** The position of line `line` of task number `task`. */
  positionOf(task: number, line: number): number {
    const own = this.tasks[task] as LineTimes;
    const atMs = own.timeOf(line);
    let position = 0;
    this.tasks.forEach((other, i) => {
      const before = other.linesBefore(atMs);
      if (i < task) position += other.linesBefore(atMs, true);
      else if (i === task) position += line;
      else position += before;
    });
    return position;
  }

  /** How many lines of each task come before `position`. */
  cutAt(position: number): number[] {
    const live = this.tasks.filter((task) => task.lines > 0);
    if (position >= this.totalPositions || live.length === 0) return this.tasks.map((task) => task.lines);
    // The time of the line at `position`: the first time by which more than `position` lines were spooled.
    let low = Math.min(...live.map((task) => task.timeOf(0)));
    let high = Math.max(...live.map((task) => task.timeOf(task.lines - 1)));
    const spooledBy = (ms: number) => this.tasks.reduce((sum, task) => sum + task.linesBefore(ms, true), 0);
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      if (spooledBy(mid) > position) high = mid;
      else low = mid + 1;
    }
    // Lines of that very time go task by task, in the build's order.
    let left = position - this.positionAtTime(low);
    return this.tasks.map((task) => {
      const before = task.linesBefore(low);
      const take = Math.min(left, task.linesBefore(low, true) - before);
      left -= take;
      return before + take;
    });
  }
}

/**
 * Reads positions [fromPosition, fromPosition + count) of the tasks' logs interleaved: a binary search
 * finds where each task's lines start, a merge by time orders the window, and each task's part is one
 * read of its log.
 */
export async function readInterleaved(
  buildDir: string,
  taskIds: readonly string[],
  fromPosition: number,
  count: number,
): Promise<InterleavedWindow> {
  const interleaving = Interleaving.open(buildDir, taskIds);
  try {
    const total = interleaving.totalPositions;
    const from = Math.max(0, Math.min(fromPosition, total));
    const wanted = Math.min(count, total - from);
    const cuts = interleaving.cutAt(from);
    const times = interleaving.tasks.map((task, i) => task.timesOf(cuts[i] as number, wanted));
    const taken = times.map(() => 0);
    const window: InterleavedWindow = {
      fromPosition: from,
      totalPositions: total,
      tasks: [],
      lines: [],
      atMs: [],
      texts: [],
      flags: [],
    };
    for (let row = 0; row < wanted; row++) {
      let next = -1;
      for (let i = 0; i < times.length; i++) {
        const at = (times[i] as Float64Array)[taken[i] as number];
        if (
          at !== undefined &&
          (next === -1 || at < ((times[next] as Float64Array)[taken[next] as number] as number))
        ) {
          next = i;
        }
      }
      if (next === -1) break;
      window.tasks.push(next);
      window.lines.push((cuts[next] as number) + (taken[next] as number));
      window.atMs.push((times[next] as Float64Array)[taken[next] as number] as number);
      taken[next] = (taken[next] as number) + 1;
    }
    // Each task's rows are one run of its log: read it once, then hand its lines out in window order.
    const parts = await Promise.all(
      taskIds.map((taskId, i) =>
        (taken[i] as number) > 0 ? readLines(buildDir, taskId, cuts[i] as number, taken[i] as number) : null,
      ),
    );
    const used = taskIds.map(() => 0);
    for (const task of window.tasks) {
      const part = parts[task];
      const at = used[task] as number;
      used[task] = at + 1;
      window.texts.push(part?.lines[at] ?? '');
      window.flags.push(part?.flags[at] ?? 0);
    }
    return window;
  } finally {
    interleaving.close();
  }
}

/** Where the interleaved log shows a task's line, or the first line spooled at or after a time. */
export function interleavedPosition(
  buildDir: string,
  taskIds: readonly string[],
  at: { taskId: string; line: number } | { atMs: number },
): number {
  const interleaving = Interleaving.open(buildDir, taskIds);
  try {
    if ('atMs' in at) return interleaving.positionAtTime(at.atMs);
    const task = taskIds.indexOf(at.taskId);
    const own = interleaving.tasks[task];
    if (!own) return 0;
    return interleaving.positionOf(task, Math.max(0, Math.min(at.line, own.lines - 1)));
  } finally {
    interleaving.close();
  }
}

/**
 * Searches every task's log (as searchLog does) and answers the positions of the matches in the
 * interleaved log, in order, up to `limitLines` in all.
 */
export async function searchInterleaved(
  buildDir: string,
  taskIds: readonly string[],
  query: string,
  options: Parameters<typeof searchLog>[3] & { limitLines: number },
): Promise<{ matches: number[]; truncated: boolean }> {
  const found: { task: number; lines: number[] }[] = [];
  let truncated = false;
  for (const [task, taskId] of taskIds.entries()) {
    const result = await searchLog(buildDir, taskId, query, options);
    truncated ||= result.truncated;
    found.push({ task, lines: result.matches });
  }
  const interleaving = Interleaving.open(buildDir, taskIds);
  try {
    const matches: number[] = [];
    for (const { task, lines } of found) {
      for (const line of lines) {
        if (line < (interleaving.tasks[task] as LineTimes).lines) matches.push(interleaving.positionOf(task, line));
      }
    }
    matches.sort((a, b) => a - b);
    if (matches.length > options.limitLines) truncated = true;
    return { matches: matches.slice(0, options.limitLines), truncated };
  } finally {
    interleaving.close();
  }
}

/** The spool times of lines [fromLine, fromLine + count) of one task's log (NO_TIME_MS without a times file). */
export function readLineTimes(buildDir: string, taskId: string, fromLine: number, count: number): number[] {
  const times = LineTimes.open(buildDir, taskId, storedLines(buildDir, taskId));
  try {
    return Array.from(times.timesOf(Math.max(0, fromLine), count));
  } finally {
    times.close();
  }
}
