import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readLines, searchLog } from '../../src/core/logs/reader';
import { SEARCH_QUEUE, SEARCH_WORKERS, searchWorkersAlive } from '../../src/core/logs/search-host';
import { SpoolWriter } from '../../src/core/logs/spool';
import { SlipwayError } from '../../src/shared/errors';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A log of long lines of "a": what `(a+)+b` backtracks on for longer than anyone waits. */
async function longLines(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const spool = await SpoolWriter.open(dir.path, 'web');
  await spool.write(Array.from({ length: 20 }, () => ({ text: 'a'.repeat(30_000), flags: 0 })));
  await spool.close();
  return dir.path;
}

const HOSTILE = '(a+)+b';
const openDescriptors = () => readdirSync('/proc/self/fd').length;
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error as SlipwayError,
  );

async function workersGone(): Promise<number> {
  while (searchWorkersAlive() > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  return searchWorkersAlive();
}

describe('a regular expression that backtracks forever', () => {
  it('fails with E_SEARCH_LIMIT at its time limit, and leaves no worker and no descriptor', async () => {
    const dir = await longLines();
    const before = openDescriptors();
    const error = await failure(searchLog(dir, 'web', HOSTILE, { regex: true, timeoutMs: 200 }));
    expect(error).toBeInstanceOf(SlipwayError);
    expect(error?.code).toBe('E_SEARCH_LIMIT');
    expect(error?.message).toContain('(a+)+b');
    expect(await workersGone()).toBe(0);
    expect(openDescriptors()).toBe(before);
  });

  it('leaves this thread free: reads and text searches answer while it runs, and it stops when its caller goes', async () => {
    const dir = await longLines();
    const before = openDescriptors();
    const caller = new AbortController();
    let settled = false;
    const hostile = failure(searchLog(dir, 'web', HOSTILE, { regex: true, signal: caller.signal })).finally(() => {
      settled = true;
    });
    const window = await readLines(dir, 'web', 0, 2);
    expect(window.totalLines).toBe(20);
    expect((await searchLog(dir, 'web', 'aaaa', { limitLines: 3 })).matches).toEqual([0, 1, 2]);
    expect(settled).toBe(false);
    caller.abort();
    const error = await hostile;
    expect(error?.code).toBe('E_CANCELLED');
    expect(await workersGone()).toBe(0);
    expect(openDescriptors()).toBe(before);
  });

  it('runs at most SEARCH_WORKERS workers at once; more wait, past SEARCH_QUEUE they are refused', async () => {
    const dir = await longLines();
    const caller = new AbortController();
    const searches = Array.from({ length: SEARCH_WORKERS + SEARCH_QUEUE }, () =>
      failure(searchLog(dir, 'web', HOSTILE, { regex: true, signal: caller.signal })),
    );
    const refused = await failure(searchLog(dir, 'web', HOSTILE, { regex: true, signal: caller.signal }));
    expect(refused?.code).toBe('E_SEARCH_LIMIT');
    expect(searchWorkersAlive()).toBeLessThanOrEqual(SEARCH_WORKERS);
    caller.abort();
    const errors = await Promise.all(searches);
    expect(errors.map((error) => error?.code)).toEqual(searches.map(() => 'E_CANCELLED'));
    expect(await workersGone()).toBe(0);
  });

  it('still finds what a well-behaved expression matches, in a worker', async () => {
    const dir = await longLines();
    expect(await searchLog(dir, 'web', '^a{30000}$', { regex: true, limitLines: 5 })).toEqual({
      matches: [0, 1, 2, 3, 4],
      truncated: true,
    });
  });
});
