import { appendFile, rm, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  interleavedPosition,
  NO_TIME_MS,
  readInterleaved,
  readLineTimes,
  searchInterleaved,
} from '../../src/core/logs/interleave';
import { LineFlag } from '../../src/core/logs/log-line';
import { firstLineWithFlags } from '../../src/core/logs/reader';
import { SpoolWriter, TIME_RECORD_BYTES, timesPath } from '../../src/core/logs/spool';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function folder(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  return dir.path;
}

interface Written {
  task: number;
  line: number;
  atMs: number;
  text: string;
}

/**
 * Writes batches to several tasks' spools with the clock set for each batch (only Date is faked: the
 * streams' own timers run), and returns every line with the time its batch was spooled.
 */
async function writeBatches(
  dir: string,
  taskIds: string[],
  batches: { task: number; atMs: number; lines: number; flags?: number }[],
): Promise<Written[]> {
  vi.useFakeTimers({ toFake: ['Date'] });
  const spools = await Promise.all(taskIds.map((taskId) => SpoolWriter.open(dir, taskId)));
  const written: Written[] = [];
  const lastMs = taskIds.map(() => Number.NEGATIVE_INFINITY);
  for (const batch of batches) {
    vi.setSystemTime(batch.atMs);
    const spool = spools[batch.task] as SpoolWriter;
    const from = spool.lines;
    const lines = Array.from({ length: batch.lines }, (_, i) => ({
      text: `${taskIds[batch.task]} ${from + i}`,
      flags: batch.flags ?? 0,
    }));
    await spool.write(lines);
    await spool.flush();
    // A clock that goes back is held at the last time.
    lastMs[batch.task] = Math.max(lastMs[batch.task] as number, batch.atMs);
    for (const [i, line] of lines.entries()) {
      written.push({ task: batch.task, line: from + i, atMs: lastMs[batch.task] as number, text: line.text });
    }
  }
  await Promise.all(spools.map((spool) => spool.close()));
  vi.useRealTimers();
  return written;
}

/** The interleaved order computed the slow way: every line in memory, sorted by time, task, line. */
function mergedInMemory(written: Written[]): Written[] {
  return [...written].sort((a, b) => a.atMs - b.atMs || a.task - b.task || a.line - b.line);
}

describe('the interleaved log', () => {
  it('shows the lines of every task in the order they were spooled, ties in task order', async () => {
    const dir = await folder();
    await writeBatches(
      dir,
      ['api', 'web'],
      [
        { task: 1, atMs: 1000, lines: 2 },
        { task: 0, atMs: 1005, lines: 1 },
        { task: 1, atMs: 1005, lines: 1 },
        { task: 0, atMs: 1010, lines: 2 },
      ],
    );
    const window = await readInterleaved(dir, ['api', 'web'], 0, 100);
    expect(window.totalPositions).toBe(6);
    expect(window.texts).toEqual(['web 0', 'web 1', 'api 0', 'web 2', 'api 1', 'api 2']);
    expect(window.tasks).toEqual([1, 1, 0, 1, 0, 0]);
    expect(window.lines).toEqual([0, 1, 0, 2, 1, 2]);
    expect(window.atMs).toEqual([1000, 1000, 1005, 1005, 1010, 1010]);
  });

  it('reads any window, finds any line and any time as the whole merge in memory does', async () => {
    const dir = await folder();
    const taskIds = ['a', 'b', 'c'];
    // A fixed pseudo-random mix of batch sizes, tasks, equal times and a clock that goes back.
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const batches = Array.from({ length: 120 }, (_, i) => ({
      task: random(3),
      atMs: 50_000 + i * 3 - random(7),
      lines: 1 + random(40),
    }));
    const merged = mergedInMemory(await writeBatches(dir, taskIds, batches));
    for (const from of [0, 1, 17, 500, merged.length - 30, merged.length - 1]) {
      const window = await readInterleaved(dir, taskIds, from, 64);
      const expected = merged.slice(from, from + 64);
      expect(window.texts).toEqual(expected.map((line) => line.text));
      expect(window.atMs).toEqual(expected.map((line) => line.atMs));
    }
    for (let position = 0; position < merged.length; position += 13) {
      const line = merged[position] as Written;
      const at = { taskId: taskIds[line.task] as string, line: line.line };
      expect(interleavedPosition(dir, taskIds, at)).toBe(position);
    }
    const middle = merged[Math.floor(merged.length / 2)] as Written;
    expect(interleavedPosition(dir, taskIds, { atMs: middle.atMs })).toBe(
      merged.findIndex((line) => line.atMs >= middle.atMs),
    );
  });

  it('reads only the tasks asked for, in the order asked', async () => {
    const dir = await folder();
    await writeBatches(
      dir,
      ['api', 'web', 'db'],
      [
        { task: 0, atMs: 10, lines: 1 },
        { task: 1, atMs: 10, lines: 1 },
        { task: 2, atMs: 10, lines: 1 },
      ],
    );
    expect((await readInterleaved(dir, ['db', 'api'], 0, 10)).texts).toEqual(['db 0', 'api 0']);
  });

  it('opens a build from before times were kept: each task after the other, at no time', async () => {
    const dir = await folder();
    await writeBatches(
      dir,
      ['api', 'web'],
      [
        { task: 1, atMs: 1, lines: 2 },
        { task: 0, atMs: 2, lines: 2 },
      ],
    );
    await rm(timesPath(dir, 'api'));
    await rm(timesPath(dir, 'web'));
    const window = await readInterleaved(dir, ['api', 'web'], 0, 10);
    expect(window.texts).toEqual(['api 0', 'api 1', 'web 0', 'web 1']);
    expect(window.atMs).toEqual([NO_TIME_MS, NO_TIME_MS, NO_TIME_MS, NO_TIME_MS]);
    expect(readLineTimes(dir, 'web', 0, 5)).toEqual([NO_TIME_MS, NO_TIME_MS]);
    expect(interleavedPosition(dir, ['api', 'web'], { taskId: 'web', line: 1 })).toBe(3);
  });

  it('keeps one time record a batch, and none for a batch spooled in the same millisecond', async () => {
    const dir = await folder();
    await writeBatches(
      dir,
      ['api'],
      [
        { task: 0, atMs: 100, lines: 500 },
        { task: 0, atMs: 100, lines: 500 },
        { task: 0, atMs: 90, lines: 5 },
        { task: 0, atMs: 101, lines: 5 },
      ],
    );
    expect((await stat(timesPath(dir, 'api'))).size).toBe(2 * TIME_RECORD_BYTES);
    expect(readLineTimes(dir, 'api', 998, 12)).toEqual([100, 100, 100, 100, 100, 100, 100, 101, 101, 101, 101, 101]);
  });

  it('leaves out a torn time record and runs of lines the log does not hold, and resumes after them', async () => {
    const dir = await folder();
    await writeBatches(dir, ['api'], [{ task: 0, atMs: 100, lines: 3 }]);
    // A crash: a run for lines never stored, then half a record.
    const orphan = Buffer.alloc(TIME_RECORD_BYTES);
    orphan.writeDoubleLE(3, 0);
    orphan.writeDoubleLE(200, 8);
    await appendFile(timesPath(dir, 'api'), Buffer.concat([orphan, Buffer.alloc(5)]));
    expect(readLineTimes(dir, 'api', 0, 10)).toEqual([100, 100, 100]);
    // The task runs again: the spool is repaired and its times go on from where the stored ones end.
    await writeBatches(dir, ['api'], [{ task: 0, atMs: 150, lines: 2 }]);
    expect((await stat(timesPath(dir, 'api'))).size).toBe(2 * TIME_RECORD_BYTES);
    expect(readLineTimes(dir, 'api', 0, 10)).toEqual([100, 100, 100, 150, 150]);
  });

  it('finds the first error of a log, and search answers positions in the interleaved order', async () => {
    const dir = await folder();
    await writeBatches(
      dir,
      ['api', 'web'],
      [
        { task: 0, atMs: 10, lines: 3 },
        { task: 1, atMs: 20, lines: 2 },
        { task: 0, atMs: 30, lines: 1, flags: LineFlag.error },
        { task: 1, atMs: 40, lines: 1 },
      ],
    );
    expect(await firstLineWithFlags(dir, 'api', LineFlag.error)).toBe(3);
    expect(await firstLineWithFlags(dir, 'web', LineFlag.error)).toBeNull();
    expect(await firstLineWithFlags(dir, 'nothing', LineFlag.error)).toBeNull();
    // Order: api 0-2, web 0-1, api 3, web 2.
    const found = await searchInterleaved(dir, ['api', 'web'], ' 2', { limitLines: 10 });
    expect(found).toEqual({ matches: [2, 6], truncated: false });
    const capped = await searchInterleaved(dir, ['api', 'web'], ' ', { limitLines: 3 });
    expect(capped).toEqual({ matches: [0, 1, 2], truncated: true });
  });
});
