import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module of the launcher, without types
import { launchSettings } from '../../scripts/launch-settings.js';

const cli = new URL('../../out/cli/index.js', import.meta.url).href;
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;

/**
 * Runs the built CLI's main (`--help`, which sets the process's memory limits first) with `node` and
 * these flags, then starts worker threads as a search or a scan does while the main thread makes
 * garbage that survives a scavenge or two; prints the young generation's size (MiB) at the end.
 */
function youngGenerationAfterWorkers(flags: string[]): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { Worker } from 'node:worker_threads';
    const { main } = await import(${JSON.stringify(cli)});
    await main(['--help'], { out() {}, err() {} });
    for (let round = 0; round < 4; round++) {
      const worker = new Worker('let kept = []; for (let i = 0; i < 1e5; i++) { kept.push({ i }); if (kept.length > 1e4) kept = []; }', { eval: true });
      await new Promise((resolve) => worker.once('online', resolve));
      let kept = [];
      for (let i = 0; i < 5e5; i++) { kept.push({ i, text: 'line ' + i }); if (kept.length > 20000) kept = []; }
      await new Promise((resolve) => worker.once('exit', resolve));
    }
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    console.log(young.space_size / 2 ** 20);
  `;
  const run = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the script failed: ${run.stderr}`);
  return Number(run.stdout.trim().split('\n').at(-1));
}

describe("a Slipway process's memory settings", () => {
  it('keep the young generation at its starting size after worker threads start, even run as `node bin/slipway.js`', () => {
    // Without Slipway's settings the same work grows it to 2 x 16 MiB. Set at run time, they come after
    // the CLI's modules are loaded, which may have grown it a step (2 x 2 MiB) already; with them it
    // grows no further.
    expect(youngGenerationAfterWorkers([])).toBeLessThanOrEqual(4);
  });

  it("are what bin/slipway.js's #! line starts it with, and what the other launchers read from there", () => {
    const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
    expect(first.startsWith('#!/usr/bin/env -S ')).toBe(true);
    // A kernel reads at most 127 bytes of a #! line on older Linux.
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(127);
    const settings = launchSettings();
    expect(settings.nodeFlags).toContain('--max-semi-space-size=2');
    expect(settings.env).toMatchObject({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '32768' });
    // Set at the start, they hold from the first allocation.
    expect(youngGenerationAfterWorkers(settings.nodeFlags)).toBeLessThanOrEqual(4);
  });

  it('are refused, naming the file, when the #! line is not one the launchers can read', () => {
    expect(() => launchSettings('#!/usr/bin/env node\n')).toThrow(/bin\/slipway\.js/);
    expect(() => launchSettings('#!/usr/bin/env -S MALLOC_ARENA_MAX=2 deno\n')).toThrow(/runs no node/);
  });
});
