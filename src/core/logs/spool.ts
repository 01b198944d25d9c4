import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import { DATA_FILE_MODE, dataDirError, ensurePrivateDir } from '../data-dir';
import { BufferPool } from '../pack/lent-buffers';
import { type LineRun, runHead } from './line-run';
import { LineFlag, type LogLine } from './log-line';
import { recordText, type StepRecord, stepRecordText, stepsPath } from './steps-file';

export { type StepRecord, stepsPath } from './steps-file';

/** Each line has an 8-byte index entry: its end offset (low 48 bits) and its flags (high 16 bits). */
export const INDEX_ENTRY_BYTES = 8;

/** Index entries of a run are written through a Uint32Array where that is the file's byte order. */
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The buffers a batch's text and index entries are written from, shared by every spool and reused once
 * their file has them. A buffer per batch, dropped after its write, was garbage that outlived the
 * scavenges (the write is asynchronous) and waited for a full collection: with four builds at a time,
 * tens of MiB of it in glibc's main heap, which keeps the pages after they are freed (the soak's RSS).
 * 64 KiB holds a chunk's lines (a 64 KiB chunk holds under 4,400 messages); a bigger batch gets its own.
 */
const SPOOL_CHUNK_BYTES = 64 * 1024;
const SPOOL_CHUNKS = new BufferPool(SPOOL_CHUNK_BYTES, 16);

/**
 * A buffer of at least `bytes` bytes: one of the pool's, when it fits in one. Any of them may be given
 * back once written: the pool keeps only buffers of its own size, and a bigger one is left to the GC.
 */
function spoolChunk(bytes: number): Buffer {
  return bytes <= SPOOL_CHUNK_BYTES ? SPOOL_CHUNKS.take() : Buffer.allocUnsafe(bytes);
}

/** What the log's write stream may hold before a writer waits for the disk. */
export const SPOOL_BUFFER_BYTES = 1024 * 1024;

export function logPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.log`);
}

export function indexPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.idx`);
}

/**
 * The times file: when lines were spooled, as runs. A record (16 bytes: the run's first line and its
 * time in ms since the epoch, both float64 LE) is written only when a batch's time differs from the last
 * one written, so a busy log adds a record per batch, not per line. Times only grow: a clock that goes
 * back is held at the last time. A log without this file (an older build) has no times.
 */
export function timesPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.times`);
}

/** Bytes of one record of the times file. */
export const TIME_RECORD_BYTES = 16;

/** Reads the end offset of entry `entry` (counted from the buffer's start). */
export function entryEndBytes(index: Buffer, entry: number): number {
  const at = entry * INDEX_ENTRY_BYTES;
  return index.readUInt32LE(at) + (index.readUInt32LE(at + 4) & 0xffff) * 0x1_0000_0000;
}

/** No writer stores a line this long (the parsers cap lines far below it): an index saying so is damaged. */
export const MAX_STORED_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Checks the end offset of one index entry against the one before it: every stored line takes at
 * least its newline and at most MAX_STORED_LINE_BYTES. A reader that trusted a wrong entry would read
 * backwards or allocate the whole log.
 */
export function checkEntryEnd(buildDir: string, taskId: string, line: number, previousEnd: number, end: number): void {
  if (end > previousEnd && end - previousEnd <= MAX_STORED_LINE_BYTES) return;
  throw new SlipwayError(
    'E_RECORD_DAMAGED',
    `${indexPath(buildDir, taskId)} is damaged: line ${line} ends at byte ${end}, the line before it at ${previousEnd}`,
    { hint: 'The log itself is kept; delete the build from history to drop it.' },
  );
}

export function entryFlags(index: Buffer, entry: number): number {
  return index.readUInt32LE(entry * INDEX_ENTRY_BYTES + 4) >>> 16;
}

function spoolError(directory: string, error: unknown): SlipwayError {
  return dataDirError(error, `the build log in ${directory}`, 'write', 'E_SPOOL_WRITE');
}

async function sizeBytes(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/**
 * Cuts a task's log and index back to their last complete line: index entries that point past the end
 * of the log (a crash between the two writes) and a torn entry go, and so do log bytes no entry covers.
 * Returns the lines and bytes that remain.
 */
export async function repairSpool(buildDir: string, taskId: string): Promise<{ lines: number; bytes: number }> {
  const [indexBytes, logBytes] = await Promise.all([
    sizeBytes(indexPath(buildDir, taskId)),
    sizeBytes(logPath(buildDir, taskId)),
  ]);
  let lines = Math.floor(indexBytes / INDEX_ENTRY_BYTES);
  let endBytes = 0;
  if (lines > 0) {
    const index = await open(indexPath(buildDir, taskId), 'r');
    try {
      // Entries are in order, so walking back from the end finds the last one the log holds in full.
      const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
      while (lines > 0) {
        await index.read(entry, 0, INDEX_ENTRY_BYTES, (lines - 1) * INDEX_ENTRY_BYTES);
        endBytes = entryEndBytes(entry, 0);
        if (endBytes <= logBytes) break;
        lines -= 1;
        endBytes = 0;
      }
    } finally {
      await index.close();
    }
  }
  if (indexBytes !== lines * INDEX_ENTRY_BYTES) await truncate(indexPath(buildDir, taskId), lines * INDEX_ENTRY_BYTES);
  if (logBytes !== endBytes) await truncate(logPath(buildDir, taskId), endBytes);
  return { lines, bytes: endBytes };
}

/**
 * Cuts a task's times file back to the runs that start at a stored line (`lines` of them), and a torn
 * record; returns the time of the last run kept (-Infinity when none).
 */
async function repairTimes(buildDir: string, taskId: string, lines: number): Promise<number> {
  const path = timesPath(buildDir, taskId);
  let records = Math.floor((await sizeBytes(path)) / TIME_RECORD_BYTES);
  let lastMs = Number.NEGATIVE_INFINITY;
  if (records === 0) {
    if ((await sizeBytes(path)) > 0) await truncate(path, 0);
    return lastMs;
  }
  const file = await open(path, 'r+');
  try {
    const record = Buffer.alloc(TIME_RECORD_BYTES);
    while (records > 0) {
      await file.read(record, 0, TIME_RECORD_BYTES, (records - 1) * TIME_RECORD_BYTES);
      if (record.readDoubleLE(0) < lines) {
        lastMs = record.readDoubleLE(8);
        break;
      }
      records -= 1;
    }
    await file.truncate(records * TIME_RECORD_BYTES);
  } finally {
    await file.close();
  }
  return lastMs;
}

/** Ends a write stream and resolves once it is closed (or failed: the writer keeps the error). */
function closed(stream: WriteStream): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stream.closed) {
      resolve();
      return;
    }
    stream.once('error', () => resolve());
    stream.once('close', () => resolve());
    stream.end();
  });
}

export interface SpoolOptions {
  /**
   * Called, in order, with each run of lines once the log and its index hold them (both writes done):
   * a shell prints a line, and the record counts it, only once it is stored.
   */
  onStored?: (fromLine: number, lines: readonly LogLine[]) => void;
  /** As onStored, for the runs given to writeRun (in the same order as the lines of write). */
  onStoredRun?: (fromLine: number, run: LineRun) => void;
}

/** Lines handed to the streams whose writes have not all completed yet. */
interface PendingBatch {
  /** The lines themselves, or the run, kept only when someone is told about them (onStored, onStoredRun). */
  told: readonly LogLine[] | LineRun | null;
  count: number;
  endBytes: number;
  /** Writes (log, index, and times when the batch has a new time) of the batch not yet completed. */
  writes: number;
}

/**
 * Appends one task's log lines to its spool file and line index, and the steps it sees (with the time
 * it saw them) to its steps file. Writes wait for the disk: nothing piles up in memory. A reader never
 * counts a line whose index entry points past the end of the log, so after a crash or a full disk every
 * line it shows is complete.
 *
 * `lines` and `bytes` count what is stored (both the log's and the index's writes completed), never
 * what is only queued: after a failed write the spool is cut back to its last complete line and the
 * count is what is on disk, so build.json's logLines always matches the files.
 */
export class SpoolWriter {
  /** Lines stored. */
  lines = 0;
  /** Bytes of the log stored. */
  bytes = 0;
  /** Lines and bytes handed to the streams (stored or not): the next line's number and offset. */
  private queuedLines = 0;
  private queuedBytes = 0;
  private readonly pending: PendingBatch[] = [];
  private readonly waiters: (() => void)[] = [];
  private failure: SlipwayError | null = null;
  private ended = false;
  /** The time of the last run written to the times file. */
  private lastAtMs = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly directory: string,
    private readonly taskId: string,
    private readonly log: WriteStream,
    private readonly index: WriteStream,
    private readonly steps: WriteStream,
    private readonly times: WriteStream,
    private readonly options: SpoolOptions,
  ) {
    const fail = (error: unknown) => {
      this.failure ??= spoolError(directory, error);
      this.wake();
    };
    log.on('error', fail);
    index.on('error', fail);
    steps.on('error', fail);
    times.on('error', fail);
  }

  /** Opens a task's spool; an existing one (a task run again) is repaired and appended to. */
  static async open(buildDir: string, taskId: string, options: SpoolOptions = {}): Promise<SpoolWriter> {
    let resumed: { lines: number; bytes: number };
    let lastAtMs: number;
    try {
      await ensurePrivateDir(buildDir);
      resumed = await repairSpool(buildDir, taskId);
      lastAtMs = await repairTimes(buildDir, taskId, resumed.lines);
    } catch (error) {
      throw spoolError(buildDir, error);
    }
    // Buffers big enough that parsing the next chunk overlaps writing this one; still a fixed bound.
    const mode = DATA_FILE_MODE;
    const log = createWriteStream(logPath(buildDir, taskId), { flags: 'a', mode, highWaterMark: SPOOL_BUFFER_BYTES });
    const index = createWriteStream(indexPath(buildDir, taskId), {
      flags: 'a',
      mode,
      highWaterMark: SPOOL_BUFFER_BYTES / 8,
    });
    const steps = createWriteStream(stepsPath(buildDir, taskId), { flags: 'a', mode });
    const times = createWriteStream(timesPath(buildDir, taskId), { flags: 'a', mode });
    const writer = new SpoolWriter(buildDir, taskId, log, index, steps, times, options);
    writer.lines = writer.queuedLines = resumed.lines;
    writer.bytes = writer.queuedBytes = resumed.bytes;
    writer.lastAtMs = lastAtMs;
    await Promise.all([once(log, 'open'), once(index, 'open'), once(steps, 'open'), once(times, 'open')]).catch(
      (error) => {
        log.destroy();
        index.destroy();
        steps.destroy();
        times.destroy();
        throw spoolError(buildDir, error);
      },
    );
    return writer;
  }

  /** Appends lines; resolves when the disk has taken them or the streams' buffers have room. */
  async write(lines: readonly LogLine[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (lines.length === 0) return;
    let stepText = '';
    // The text goes straight into one buffer: encoding it there also measures it, and the stream takes
    // bytes it need not encode again. A UTF-16 unit never takes more than 3 bytes of UTF-8.
    let boundBytes = lines.length;
    for (let i = 0; i < lines.length; i++) boundBytes += (lines[i] as LogLine).text.length * 3;
    const text = spoolChunk(boundBytes);
    let used = 0;
    const entries = spoolChunk(lines.length * INDEX_ENTRY_BYTES);
    let offset = this.queuedBytes;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as LogLine;
      const lineBytes = text.write(line.text, used) + 1;
      text[used + lineBytes - 1] = 10;
      used += lineBytes;
      offset += lineBytes;
      entries.writeUInt32LE(offset % 0x1_0000_0000, i * INDEX_ENTRY_BYTES);
      entries.writeUInt32LE(Math.floor(offset / 0x1_0000_0000) | (line.flags << 16), i * INDEX_ENTRY_BYTES + 4);
      // Only lines starting with "S" can be steps; the check keeps the regex off the hot path.
      if (line.step !== undefined || (line.text.charCodeAt(0) === 83 && (line.flags & LineFlag.continued) === 0)) {
        stepText += stepRecordText(line, this.queuedLines + i);
      }
    }
    await this.queue(
      text.subarray(0, used),
      entries.subarray(0, lines.length * INDEX_ENTRY_BYTES),
      lines.length,
      this.options.onStored ? lines : null,
      stepText,
      { text, entries },
    );
  }

  /**
   * Appends a run of lines already in the log's encoding (none a step, none flagged): its bytes go to
   * the log as they are, and only its index entries are made here.
   */
  async writeRun(run: LineRun): Promise<void> {
    if (this.failure) throw this.failure;
    if (run.count === 0) return;
    const entryBytes = run.count * INDEX_ENTRY_BYTES;
    const chunk = spoolChunk(entryBytes);
    const entries = chunk.subarray(0, entryBytes);
    const base = this.queuedBytes;
    const ends = run.ends;
    if (LITTLE_ENDIAN) {
      const words = new Uint32Array(entries.buffer, entries.byteOffset, run.count * 2);
      for (let i = 0; i < run.count; i++) {
        const end = base + (ends[i] as number);
        // The typed array keeps the low 32 bits; the high bits (under 2^16) go in the second word.
        words[2 * i] = end;
        words[2 * i + 1] = end / 0x1_0000_0000;
      }
    } else {
      for (let i = 0; i < run.count; i++) {
        const end = base + (ends[i] as number);
        entries.writeUInt32LE(end % 0x1_0000_0000, i * INDEX_ENTRY_BYTES);
        entries.writeUInt32LE(Math.floor(end / 0x1_0000_0000), i * INDEX_ENTRY_BYTES + 4);
      }
    }
    // The run's bytes are its parser's: only the entries' buffer is the spool's to give back.
    await this.queue(run.bytes, entries, run.count, this.options.onStoredRun ? run : null, '', {
      text: null,
      entries: chunk,
    });
  }

  /**
   * Hands a batch's log bytes and index entries to the streams; resolves when they have room again. The
   * buffers in `lent` (from spoolChunk, whole) go back to the pool once their stream has written them
   * (not after a failed write).
   */
  private async queue(
    text: Buffer,
    entries: Buffer,
    count: number,
    told: PendingBatch['told'],
    stepText: string,
    lent: { text: Buffer | null; entries: Buffer },
  ): Promise<void> {
    // One time for the batch: the lines arrived together, and a reader needs no finer order than that.
    const nowMs = Date.now();
    const newTime = nowMs > this.lastAtMs;
    const endBytes = this.queuedBytes + text.length;
    const batch: PendingBatch = { told, count, endBytes, writes: newTime ? 3 : 2 };
    this.pending.push(batch);
    const written = (error: Error | null | undefined) => {
      if (error) return;
      batch.writes -= 1;
      if (batch.writes === 0) this.settle();
    };
    if (newTime) {
      const record = Buffer.allocUnsafe(TIME_RECORD_BYTES);
      record.writeDoubleLE(this.queuedLines, 0);
      record.writeDoubleLE(nowMs, 8);
      this.lastAtMs = nowMs;
      this.times.write(record, written);
    }
    this.log.write(text, (error) => {
      if (!error && lent.text) SPOOL_CHUNKS.giveBack(lent.text);
      written(error);
    });
    this.index.write(entries, (error) => {
      if (!error) SPOOL_CHUNKS.giveBack(lent.entries);
      written(error);
    });
    if (stepText) this.steps.write(stepText);
    this.queuedBytes = endBytes;
    this.queuedLines += count;
    await this.drained(this.log);
    await this.drained(this.index);
    if (this.failure) throw this.failure;
  }

  /**
   * Flushes and closes the files, then marks the task's end in its steps file: only once the last
   * lines are on disk, so a follower that sees the mark has every line to read.
   */
  async close(): Promise<void> {
    await Promise.all([closed(this.log), closed(this.index), closed(this.times)]);
    if (this.failure && this.pending.length > 0) await this.cutBack();
    this.markEnd();
    await closed(this.steps);
    if (this.failure) throw this.failure;
  }

  /** Closes without waiting, as on cancel; what was written stays (errors are kept, as in write). */
  destroy(): void {
    void Promise.all([closed(this.log), closed(this.index), closed(this.times)]).then(() => {
      this.markEnd();
      this.steps.end();
    });
  }

  /** Resolves once every line written so far is stored; rejects with the spool's failure, if any. */
  async flush(): Promise<void> {
    while (this.pending.length > 0 && !this.failure) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  /** The number the next line written will have. */
  get nextLine(): number {
    return this.queuedLines;
  }

  /** Adds a record to the steps file (a BuildKit vertex), beside the lines; ignored once the task ended. */
  recordStep(record: StepRecord): void {
    if (this.ended || this.steps.destroyed || this.steps.writableEnded) return;
    this.steps.write(recordText(record));
  }

  /** Counts the batches at the head of the queue whose writes have all completed, in order. */
  private settle(): void {
    while (this.pending.length > 0 && (this.pending[0] as PendingBatch).writes === 0) {
      const batch = this.pending.shift() as PendingBatch;
      this.stored(batch, batch.count);
    }
    if (this.pending.length === 0) this.wake();
  }

  private stored(batch: PendingBatch, count: number): void {
    const fromLine = this.lines;
    this.lines += count;
    this.bytes = count === batch.count ? batch.endBytes : this.bytes;
    const told = batch.told;
    if (told === null || count === 0) return;
    if (Array.isArray(told)) this.options.onStored?.(fromLine, count === batch.count ? told : told.slice(0, count));
    else this.options.onStoredRun?.(fromLine, runHead(told as LineRun, count));
  }

  /**
   * After a failed write: cuts the files back to their last complete line, and counts (and reports)
   * the lines of unfinished batches that made it to disk whole.
   */
  private async cutBack(): Promise<void> {
    const onDisk = await repairSpool(this.directory, this.taskId).catch(() => ({
      lines: this.lines,
      bytes: this.bytes,
    }));
    for (const batch of this.pending.splice(0)) {
      const count = Math.max(0, Math.min(batch.count, onDisk.lines - this.lines));
      this.stored(batch, count);
    }
    this.lines = onDisk.lines;
    this.bytes = onDisk.bytes;
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private markEnd(): void {
    if (this.ended || this.steps.destroyed || this.steps.writableEnded) return;
    this.ended = true;
    this.steps.write(recordText({ endedAtMs: Date.now(), lines: this.lines }));
  }

  private async drained(stream: WriteStream): Promise<void> {
    if (!stream.writableNeedDrain || stream.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('error', done);
      stream.on('close', done);
    });
  }
}
