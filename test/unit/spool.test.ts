import { appendFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LineFlag } from '../../src/core/logs/log-line';
import { readLines } from '../../src/core/logs/reader';
import { indexPath, SpoolWriter } from '../../src/core/logs/spool';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe('the log spool', () => {
  it('reads back any window of lines with their flags', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const spool = await SpoolWriter.open(dir.path, 'web');
    const lines = Array.from({ length: 10_000 }, (_, i) => ({
      text: `line ${i} \u2713`,
      flags: i % 7 === 0 ? LineFlag.error : 0,
    }));
    for (let i = 0; i < lines.length; i += 1000) await spool.write(lines.slice(i, i + 1000));
    await spool.close();
    const window = await readLines(dir.path, 'web', 4990, 20);
    expect(window.totalLines).toBe(10_000);
    expect(window.lines).toEqual(lines.slice(4990, 5010).map((line) => line.text));
    expect(window.flags).toEqual(lines.slice(4990, 5010).map((line) => line.flags));
    expect((await readLines(dir.path, 'web', 0, 2)).lines).toEqual(['line 0 \u2713', 'line 1 \u2713']);
    expect((await readLines(dir.path, 'web', 9_999, 50)).lines).toEqual(['line 9999 \u2713']);
    expect((await readLines(dir.path, 'web', 20_000, 5)).lines).toEqual([]);
  });

  it('does not count a line whose text never reached the log (a crash between the two writes)', async () => {
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const spool = await SpoolWriter.open(dir.path, 'web');
    await spool.write([{ text: 'complete', flags: 0 }]);
    await spool.close();
    const entry = Buffer.alloc(8);
    entry.writeUInt32LE(1_000_000, 0);
    await appendFile(indexPath(dir.path, 'web'), entry);
    const window = await readLines(dir.path, 'web', 0, 10);
    expect(window.lines).toEqual(['complete']);
    expect(window.totalLines).toBe(1);
  });
});
