import { open } from 'node:fs/promises';
import { INDEX_ENTRY_BYTES, indexPath, logPath } from './spool';

export interface LineWindow {
  fromLine: number;
  lines: string[];
  flags: number[];
  totalLines: number;
}

function entryEnd(index: Buffer, entry: number): number {
  const at = entry * INDEX_ENTRY_BYTES;
  return index.readUInt32LE(at) + (index.readUInt32LE(at + 4) & 0xffff) * 0x1_0000_0000;
}

function entryFlags(index: Buffer, entry: number): number {
  return index.readUInt32LE(entry * INDEX_ENTRY_BYTES + 4) >>> 16;
}

/**
 * Reads lines [fromLine, fromLine + count) of a task's log: one read of the index, one of the log.
 * Lines whose index entry points past the end of the log (a crash mid-write) do not count.
 */
export async function readLines(
  buildDir: string,
  taskId: string,
  fromLine: number,
  count: number,
): Promise<LineWindow> {
  const [index, log] = await Promise.all([
    open(indexPath(buildDir, taskId), 'r'),
    open(logPath(buildDir, taskId), 'r'),
  ]);
  try {
    const [indexStat, logStat] = await Promise.all([index.stat(), log.stat()]);
    let totalLines = Math.floor(indexStat.size / INDEX_ENTRY_BYTES);
    const first = Math.max(0, Math.min(fromLine, totalLines));
    const last = Math.min(totalLines, first + count);
    const entriesFrom = Math.max(0, first - 1);
    const entries = Buffer.alloc((last - entriesFrom) * INDEX_ENTRY_BYTES);
    if (entries.length > 0) await index.read(entries, 0, entries.length, entriesFrom * INDEX_ENTRY_BYTES);
    const start = first === 0 ? 0 : entryEnd(entries, 0);
    const skip = first - entriesFrom;
    let end = start;
    let complete = 0;
    for (let entry = skip; entry < last - entriesFrom; entry++) {
      const lineEnd = entryEnd(entries, entry);
      if (lineEnd > logStat.size) break;
      end = lineEnd;
      complete += 1;
    }
    if (complete < last - first) totalLines = first + complete;
    const text = Buffer.alloc(end - start);
    if (text.length > 0) await log.read(text, 0, text.length, start);
    const lines: string[] = [];
    const flags: number[] = [];
    let cursor = 0;
    for (let entry = skip; entry < skip + complete; entry++) {
      const lineEnd = entryEnd(entries, entry) - start;
      lines.push(text.toString('utf8', cursor, lineEnd - 1));
      flags.push(entryFlags(entries, entry));
      cursor = lineEnd;
    }
    return { fromLine: first, lines, flags, totalLines };
  } finally {
    await Promise.all([index.close(), log.close()]);
  }
}
