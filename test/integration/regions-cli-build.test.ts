import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl } from '../support/engine';
import { fixture, tempDir } from '../support/fixtures';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';

const url = engineUrl();

type Event = { type: string; [key: string]: unknown };

describe.skipIf(!url)('slipway build across regions', () => {
  let project: Awaited<ReturnType<typeof fixture>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let near: LatencyProxy;
  let far: LatencyProxy;
  beforeAll(async () => {
    project = await fixture('single');
    await writeFile(join(project.path, 'payload.bin'), randomBytes(1 << 20));
    data = await tempDir('slipway-cli-regions-');
    near = await startLatencyProxy({ upstream: url, roundTripMs: 5, jitter: 0.2 });
    far = await startLatencyProxy({ upstream: url, roundTripMs: 60, jitter: 0.2 });
  });
  afterAll(async () => {
    await Promise.all([near.close(), far.close()]);
    await Promise.all([project.cleanup(), data.cleanup()]);
  });
  const builders = () => ['--builder', `near=${near.url}`, '--builder', `far=${far.url}`];

  it('prints the chosen region and its reason before uploading', async () => {
    const run = await runCli(['build', project.path, ...builders(), '--data-dir', data.path]);
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n');
    const regionLine = lines.findIndex((line) =>
      /^Region near \(lowest median \d+ ms, next far \d+ ms\) at tcp:/.test(line),
    );
    const uploadLine = lines.findIndex((line) => line.includes('uploading'));
    expect(regionLine).toBeGreaterThanOrEqual(0);
    expect(regionLine).toBeLessThan(uploadLine);
  });

  it('builds in the region asked for with --region, and says it was pinned', async () => {
    const run = await runCli([
      'build',
      project.path,
      ...builders(),
      '--region',
      'far',
      '--json',
      '--data-dir',
      data.path,
    ]);
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Event);
    expect(events[0]).toMatchObject({ type: 'regions.probed', result: { chosen: 'far', reason: 'pinned' } });
    expect(events.find((event) => event.type === 'task.region')).toMatchObject({ region: 'far', reason: 'pinned' });
  });

  it('moves a task whose region resets the upload, and the events and log say so', async () => {
    near.resetAfterUploadBytes(128 * 1024);
    try {
      // Pinned, so that the region that resets is the one chosen whatever the probe measures on a busy
      // machine; a pin does not stop the failover to the others.
      const run = await runCli([
        'build',
        project.path,
        ...builders(),
        '--region',
        'near',
        '--json',
        '--data-dir',
        data.path,
      ]);
      expect(run.code).toBe(0);
      const events = run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Event);
      const moves = events.filter((event) => event.type === 'task.region').map((event) => [event.region, event.reason]);
      expect(moves).toEqual([
        ['near', 'pinned'],
        ['far', 'failover from near: ECONNRESET'],
      ]);
      const lines = events.filter((event) => event.type === 'task.line').map((event) => event.text);
      expect(lines).toContain('Slipway: failover from near: ECONNRESET; trying far');
      expect(events.at(-1)).toMatchObject({ type: 'build.finished', status: 'succeeded' });
    } finally {
      near.resetAfterUploadBytes(null);
    }
  });

  it('refuses a region that is not among the builders, naming the ones there are', async () => {
    const run = await runCli(['build', project.path, ...builders(), '--region', 'mars', '--data-dir', data.path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('E_BAD_INPUT: No region mars among near, far');
  });
});
