import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import type { LogLine } from './log-line';

/** Each line has an 8-byte index entry: its end offset (low 48 bits) and its flags (high 16 bits). */
export const INDEX_ENTRY_BYTES = 8;

export function logPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.log`);
}

export function indexPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.idx`);
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

/**
 * Appends one task's log lines to its spool file and line index. The log is written before the index,
 * so after a crash every indexed line is complete. Writes wait for the disk: nothing piles up in memory.
 */
export class SpoolWriter {
  lines = 0;
  bytes = 0;
  private failure: SlipwayError | null = null;

  private constructor(
    directory: string,
    private readonly log: WriteStream,
    private readonly index: WriteStream,
  ) {
    const fail = (error: unknown) => {
      this.failure ??= spoolError(directory, error);
    };
    log.on('error', fail);
    index.on('error', fail);
  }

  static async open(buildDir: string, taskId: string): Promise<SpoolWriter> {
    try {
      await mkdir(buildDir, { recursive: true });
    } catch (error) {
      throw spoolError(buildDir, error);
    }
    const log = createWriteStream(logPath(buildDir, taskId), { flags: 'a' });
    const index = createWriteStream(indexPath(buildDir, taskId), { flags: 'a' });
    const writer = new SpoolWriter(buildDir, log, index);
    await Promise.all([once(log, 'open'), once(index, 'open')]).catch((error) => {
      log.destroy();
      index.destroy();
      throw spoolError(buildDir, error);
    });
    return writer;
  }

  /** Appends lines; resolves when the disk has taken them or the streams' buffers have room. */
  async write(lines: readonly LogLine[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (lines.length === 0) return;
    const texts: string[] = [];
    const entries = Buffer.allocUnsafe(lines.length * INDEX_ENTRY_BYTES);
    let offset = this.bytes;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as LogLine;
      const text = `${line.text}\n`;
      texts.push(text);
      offset += Buffer.byteLength(text);
      entries.writeUInt32LE(offset % 0x1_0000_0000, i * INDEX_ENTRY_BYTES);
      entries.writeUInt32LE(Math.floor(offset / 0x1_0000_0000) | (line.flags << 16), i * INDEX_ENTRY_BYTES + 4);
    }
    this.log.write(texts.join(''));
    this.index.write(entries);
    this.bytes = offset;
    this.lines += lines.length;
    await this.drained(this.log);
    await this.drained(this.index);
    if (this.failure) throw this.failure;
  }

  /** Flushes and closes both files. */
  async close(): Promise<void> {
    const closed = (stream: WriteStream) =>
      new Promise<void>((resolve) => {
        if (stream.closed) resolve();
        else stream.end(() => resolve());
        stream.once('error', () => resolve());
      });
    await Promise.all([closed(this.log), closed(this.index)]);
    if (this.failure) throw this.failure;
  }

  /** Closes without waiting, as on cancel; what was written stays. */
  destroy(): void {
    this.log.end();
    this.index.end();
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
