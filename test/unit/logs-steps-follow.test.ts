import { appendFile, readFile, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { followLines } from '../../src/core/logs/follow';
import { LineFlag } from '../../src/core/logs/log-line';
import { readLines, readSteps } from '../../src/core/logs/reader';
import { indexPath, logPath, repairSpool, SpoolWriter } from '../../src/core/logs/spool';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function dir(): Promise<string> {
  const made = await tempDir();
  cleanups.push(made.cleanup);
  return made.path;
}

const line = (text: string, flags = 0) => ({ text, flags });

describe('build steps of a task log', () => {
  it('gives each step its first line and how long it ran, timed when the lines were spooled', async () => {
    const path = await dir();
    let nowMs = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => nowMs);
    const spool = await SpoolWriter.open(path, 'web');
    await spool.write([line('Sending context'), line('STEP 1/3: FROM scratch')]);
    nowMs += 1500;
    await spool.write([line('Step 2/3 : COPY . /app'), line('copying'), line('copying more')]);
    nowMs += 20_000;
    await spool.write([line('STEP 3/3: RUN make'), line('STEP 9/9 inside a line is text', LineFlag.continued)]);
    nowMs += 250;
    await spool.close();
    expect(await readSteps(path, 'web')).toEqual([
      { step: 1, steps: 3, line: 1, text: 'STEP 1/3: FROM scratch', durationMs: 1500 },
      { step: 2, steps: 3, line: 2, text: 'Step 2/3 : COPY . /app', durationMs: 20_000 },
      { step: 3, steps: 3, line: 5, text: 'STEP 3/3: RUN make', durationMs: 250 },
    ]);
    const window = await readLines(path, 'web', 5, 1);
    expect(window.lines).toEqual(['STEP 3/3: RUN make']);
  });

  it('leaves the last step of a task still running without a duration', async () => {
    const path = await dir();
    const spool = await SpoolWriter.open(path, 'web');
    await spool.write([line('STEP 1/2: FROM scratch'), line('STEP 2/2: RUN sleep 100')]);
    const steps = await readSteps(path, 'web');
    expect(steps.map((step) => step.durationMs === null)).toEqual([false, true]);
    spool.destroy();
  });
});

describe('a spool opened again', () => {
  it('cuts a torn tail back to the last complete line and appends after it', async () => {
    const path = await dir();
    const first = await SpoolWriter.open(path, 'web');
    await first.write([line('one'), line('two')]);
    await first.close();
    // A crash: half a line in the log, half an index entry.
    await appendFile(logPath(path, 'web'), 'thr');
    await appendFile(indexPath(path, 'web'), Buffer.alloc(3));
    expect(await repairSpool(path, 'web')).toEqual({ lines: 2, bytes: 8 });
    expect(await readFile(logPath(path, 'web'), 'utf8')).toBe('one\ntwo\n');
    const again = await SpoolWriter.open(path, 'web');
    await again.write([line('three')]);
    await again.close();
    expect((await readLines(path, 'web', 0, 10)).lines).toEqual(['one', 'two', 'three']);
    expect((await stat(indexPath(path, 'web'))).size).toBe(3 * 8);
  });
});

describe('following a task log', () => {
  it('hands out lines as they are spooled and ends once the task has ended', async () => {
    const path = await dir();
    const spool = await SpoolWriter.open(path, 'web');
    await spool.write([line('before')]);
    let ended = false;
    const seen: string[] = [];
    const following = (async () => {
      for await (const window of followLines(path, 'web', { isFinished: async () => ended, batchLines: 2 })) {
        seen.push(...window.lines);
      }
    })();
    await vi.waitFor(() => expect(seen).toEqual(['before']));
    await spool.write([line('a'), line('b'), line('c')]);
    await vi.waitFor(() => expect(seen).toEqual(['before', 'a', 'b', 'c']));
    await spool.write([line('last')]);
    await spool.close();
    ended = true;
    await following;
    expect(seen).toEqual(['before', 'a', 'b', 'c', 'last']);
  });

  it('starts at a given line, and stops when aborted', async () => {
    const path = await dir();
    const spool = await SpoolWriter.open(path, 'web');
    await spool.write(['0', '1', '2', '3'].map((text) => line(text)));
    const abort = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const window of followLines(path, 'web', {
        fromLine: 2,
        isFinished: async () => false,
        signal: abort.signal,
      })) {
        seen.push(...window.lines);
      }
    })();
    await vi.waitFor(() => expect(seen).toEqual(['2', '3']));
    abort.abort();
    await following;
    await spool.close();
  });
});
