import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import { LineFlag, type LogLine, parseStep } from './log-line';

/** Each line has an 8-byte index entry: its end offset (low 48 bits) and its flags (high 16 bits). */
export const INDEX_ENTRY_BYTES = 8;

/** What the log's write stream may hold before a writer waits for the disk. */
export const SPOOL_BUFFER_BYTES = 1024 * 1024;

/** A step's text is kept in the steps file up to this many characters; the log has the whole line. */
const STEP_TEXT_CHARS = 200;

export function logPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.log`);
}

export function indexPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.idx`);
}

/** The steps file: one JSON object a line, a step as it was spooled, and an end mark when the task ended. */
export function stepsPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.steps`);
}

/** One record of the steps file. */
export type StepRecord =
  | { step: number; steps: number; line: number; atMs: number; text: string }
  | { endedAtMs: number; lines: number };

/** Reads the end offset of entry `entry` (counted from the buffer's start). */
export function entryEndBytes(index: Buffer, entry: number): number {
  const at = entry * INDEX_ENTRY_BYTES;
  return index.readUInt32LE(at) + (index.readUInt32LE(at + 4) & 0xffff) * 0x1_0000_0000;
}

export function entryFlags(index: Buffer, entry: number): number {
  return index.readUInt32LE(entry * INDEX_ENTRY_BYTES + 4) >>> 16;
}

function spoolError(directory: string, error: unknown): SlipwayError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SlipwayError('E_SPOOL_DISK_FULL', `The disk is full: cannot write the build log in ${directory}`, {
      hint: 'Free some space or delete old builds; what was written so far stays readable.',
      cause: error,
    });
  }
  return new SlipwayError('E_SPOOL_WRITE', `Cannot write the build log in ${directory}: ${code ?? String(error)}`, {
    cause: error,
  });
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

/**
 * Appends one task's log lines to its spool file and line index, and the steps it sees (with the time
 * it saw them) to its steps file. Writes wait for the disk: nothing piles up in memory. A reader never
 * counts a line whose index entry points past the end of the log, so after a crash or a full disk every
 * line it shows is complete.
 */
export class SpoolWriter {
  lines = 0;
  bytes = 0;
  private failure: SlipwayError | null = null;
  private ended = false;

  private constructor(
    directory: string,
    private readonly log: WriteStream,
    private readonly index: WriteStream,
    private readonly steps: WriteStream,
  ) {
    const fail = (error: unknown) => {
      this.failure ??= spoolError(directory, error);
    };
    log.on('error', fail);
    index.on('error', fail);
    steps.on('error', fail);
  }

  /** Opens a task's spool; an existing one (a task run again) is repaired and appended to. */
  static async open(buildDir: string, taskId: string): Promise<SpoolWriter> {
    let resumed: { lines: number; bytes: number };
    try {
      await mkdir(buildDir, { recursive: true });
      resumed = await repairSpool(buildDir, taskId);
    } catch (error) {
      throw spoolError(buildDir, error);
    }
    // Buffers big enough that parsing the next chunk overlaps writing this one; still a fixed bound.
    const log = createWriteStream(logPath(buildDir, taskId), { flags: 'a', highWaterMark: SPOOL_BUFFER_BYTES });
    const index = createWriteStream(indexPath(buildDir, taskId), { flags: 'a', highWaterMark: SPOOL_BUFFER_BYTES / 8 });
    const steps = createWriteStream(stepsPath(buildDir, taskId), { flags: 'a' });
    const writer = new SpoolWriter(buildDir, log, index, steps);
    writer.lines = resumed.lines;
    writer.bytes = resumed.bytes;
    await Promise.all([once(log, 'open'), once(index, 'open'), once(steps, 'open')]).catch((error) => {
      log.destroy();
      index.destroy();
      steps.destroy();
      throw spoolError(buildDir, error);
    });
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
    const text = Buffer.allocUnsafe(boundBytes);
    let used = 0;
    const entries = Buffer.allocUnsafe(lines.length * INDEX_ENTRY_BYTES);
    let offset = this.bytes;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as LogLine;
      const lineBytes = text.write(line.text, used) + 1;
      text[used + lineBytes - 1] = 10;
      used += lineBytes;
      offset += lineBytes;
      entries.writeUInt32LE(offset % 0x1_0000_0000, i * INDEX_ENTRY_BYTES);
      entries.writeUInt32LE(Math.floor(offset / 0x1_0000_0000) | (line.flags << 16), i * INDEX_ENTRY_BYTES + 4);
      // Only lines starting with "S" can be steps; the check keeps the regex off the hot path.
      const known = line.step;
      if (known !== undefined || (line.text.charCodeAt(0) === 83 && (line.flags & LineFlag.continued) === 0)) {
        const step = known ?? parseStep(line.text);
        if (step) {
          const record: StepRecord = {
            step: step.step,
            steps: step.steps,
            line: this.lines + i,
            atMs: known?.atMs ?? Date.now(),
            text: line.text.slice(0, STEP_TEXT_CHARS),
          };
          stepText += `${JSON.stringify(record)}\n`;
        }
      }
    }
    this.log.write(text.subarray(0, used));
    this.index.write(entries);
    if (stepText) this.steps.write(stepText);
    this.bytes = offset;
    this.lines += lines.length;
    await this.drained(this.log);
    await this.drained(this.index);
    if (this.failure) throw this.failure;
  }

  /**
   * Flushes and closes the files, then marks the task's end in its steps file: only once the last
   * lines are on disk, so a follower that sees the mark has every line to read.
   */
  async close(): Promise<void> {
    await Promise.all([closed(this.log), closed(this.index)]);
    this.markEnd();
    await closed(this.steps);
    if (this.failure) throw this.failure;
  }

  /** Closes without waiting, as on cancel; what was written stays (errors are kept, as in write). */
  destroy(): void {
    void Promise.all([closed(this.log), closed(this.index)]).then(() => {
      this.markEnd();
      this.steps.end();
    });
  }

  private markEnd(): void {
    if (this.ended || this.steps.destroyed || this.steps.writableEnded) return;
    this.ended = true;
    const record: StepRecord = { endedAtMs: Date.now(), lines: this.lines };
    this.steps.write(`${JSON.stringify(record)}\n`);
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
