import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildSession } from '../../src/core/builds/session';
import { openProject } from '../../src/core/project/detect';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Endpoint } from '../../src/shared/domain';
import { engineUrl } from '../support/engine';
import { startFakeFaultBuilder } from '../support/fake-fault-builder';
import { fixture, tempDir } from '../support/fixtures';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';

const url = engineUrl();

interface Timed {
  atMs: number;
  event: SlipwayEvent;
}

async function buildOn(endpoints: Endpoint[], projectPath: string, dataDir: string, uploadStallTimeoutMs?: number) {
  const project = await openProject(projectPath);
  const session = new BuildSession({
    dataDir,
    project,
    target: { name: 'regions', kind: 'docker', endpoints },
    regions: endpoints.map((endpoint) => endpoint.region),
    reason: 'test order',
    uploadStallTimeoutMs,
    tag: `slipway-test/failover-${Date.now()}`,
  });
  const events: Timed[] = [];
  session.on('event', (event) => events.push({ atMs: performance.now(), event }));
  const build = await session.run();
  const log = await readFile(join(session.directory, 'main.log'), 'utf8');
  const regions = events.flatMap(({ atMs, event }) => (event.type === 'task.region' ? [{ atMs, ...event }] : []));
  const doneAtMs =
    events.find(({ event }) => event.type === 'task.state' && event.state.phase === 'done')?.atMs ?? Number.NaN;
  return { build, log, regions, doneAtMs };
}

describe.skipIf(!url)('a task moves to the next region when its region fails before the build started', () => {
  let project: Awaited<ReturnType<typeof fixture>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  const proxies: LatencyProxy[] = [];
  const proxy = async (roundTripMs: number) => {
    const started = await startLatencyProxy({ upstream: url, roundTripMs, jitter: 0.2 });
    proxies.push(started);
    return started;
  };
  beforeAll(async () => {
    project = await fixture('single');
    // 2 MiB that does not compress, so the upload is long enough to be cut in the middle.
    await writeFile(join(project.path, 'payload.bin'), randomBytes(2 << 20));
    data = await tempDir('slipway-failover-');
    // Build once straight on the engine so that the builds after a failover are cache hits: the time from
    // the failure to "done" then measures the failover itself, not the fixture's RUN step.
    const warm = await buildOn([{ region: 'direct', url }], project.path, join(data.path, 'warm'));
    expect(warm.build.status).toBe('succeeded');
  });
  afterAll(async () => {
    await Promise.all(proxies.map((started) => started.close()));
    await Promise.all([project.cleanup(), data.cleanup()]);
  });

  it('a reset in the middle of the upload: the task completes on the next region, moved within one second', async () => {
    const near = await proxy(5);
    const far = await proxy(40);
    near.resetAfterUploadBytes(256 * 1024);
    const run = await buildOn(
      [
        { region: 'near', url: near.url },
        { region: 'far', url: far.url },
      ],
      project.path,
      join(data.path, 'reset'),
    );
    if (run.build.status !== 'succeeded') console.log(JSON.stringify(run.build.tasks[0]?.state), run.log.slice(-2000));
    expect(run.build.status).toBe('succeeded');
    expect(run.build.tasks[0]?.region).toBe('far');
    expect(near.resets).toHaveLength(1);
    expect(run.regions.map((event) => event.region)).toEqual(['near', 'far']);
    expect(run.regions[1]?.reason).toBe('failover from near: ECONNRESET');
    const movedMs = (run.regions[1]?.atMs as number) - (near.resets[0] as number);
    console.log(
      `reset -> moved to far in ${movedMs.toFixed(0)} ms; -> done on far in ${(run.doneAtMs - (near.resets[0] as number)).toFixed(0)} ms`,
    );
    expect(movedMs).toBeLessThan(1000);
    expect(run.log).toContain('Slipway: E_UPLOAD_RESET');
    expect(run.log).toContain('Slipway: failover from near: ECONNRESET; trying far');
    expect(run.log).toContain('Successfully tagged slipway-test/failover-');
  });

  it('a refused connection: the task completes on the next region, and its log says why', async () => {
    const gone = await proxy(5);
    await gone.refuse();
    const far = await proxy(40);
    const run = await buildOn(
      [
        { region: 'gone', url: gone.url },
        { region: 'far', url: far.url },
      ],
      project.path,
      join(data.path, 'refused'),
    );
    if (run.build.status !== 'succeeded') console.log(JSON.stringify(run.build.tasks[0]?.state), run.log.slice(-2000));
    expect(run.build.status).toBe('succeeded');
    expect(run.regions.map((event) => [event.region, event.reason])).toEqual([
      ['gone', 'test order'],
      ['far', 'failover from gone: ECONNREFUSED'],
    ]);
    expect((run.regions[1]?.atMs ?? Number.NaN) - (run.regions[0]?.atMs ?? Number.NaN)).toBeLessThan(1000);
    expect(run.log).toContain('Slipway: E_BUILDER_UNREACHABLE');
    expect(run.log).toContain('trying far');
  });

  it('a region one task had to leave is skipped by the tasks after it', async () => {
    const gone = await proxy(5);
    await gone.refuse();
    const far = await proxy(40);
    const single = await openProject(project.path);
    const twoTasks = {
      ...single,
      tasks: [single.tasks[0], { ...single.tasks[0], id: 'again', service: 'again' }] as typeof single.tasks,
    };
    const session = new BuildSession({
      dataDir: join(data.path, 'two'),
      project: twoTasks,
      target: {
        name: 'regions',
        kind: 'docker',
        endpoints: [
          { region: 'gone', url: gone.url },
          { region: 'far', url: far.url },
        ],
      },
      reason: 'test order',
      concurrency: 1,
    });
    const moves: [string, string, string][] = [];
    session.on('event', (event) => {
      if (event.type === 'task.region') moves.push([event.taskId, event.region, event.reason]);
    });
    const build = await session.run();
    expect(build.status).toBe('succeeded');
    expect(moves).toEqual([
      ['main', 'gone', 'test order'],
      ['main', 'far', 'failover from gone: ECONNREFUSED'],
      ['again', 'far', 'failover from gone: ECONNREFUSED'],
    ]);
  });

  it('an upload that stalls: the task moves on after the stall timeout and completes on the next region', async () => {
    const stuck = await proxy(5);
    const far = await proxy(40);
    stuck.stallAfterUploadBytes(256 * 1024);
    // Bigger than every socket buffer between the two ends, so the stall holds the upload back.
    const big = await fixture('single');
    await writeFile(join(big.path, 'payload.bin'), randomBytes(24 << 20));
    const run = await buildOn(
      [
        { region: 'stuck', url: stuck.url },
        { region: 'far', url: far.url },
      ],
      big.path,
      join(data.path, 'stalled'),
      1500,
    ).finally(() => big.cleanup());
    expect(run.build.status).toBe('succeeded');
    expect(stuck.stalls).toHaveLength(1);
    expect(run.regions.map((event) => [event.region, event.reason])).toEqual([
      ['stuck', 'test order'],
      ['far', 'failover from stuck: E_BUILDER_TIMEOUT'],
    ]);
    const movedMs = (run.regions[1]?.atMs ?? Number.NaN) - (stuck.stalls[0] as number);
    console.log(`stall -> moved to far in ${movedMs.toFixed(0)} ms (stall timeout 1500 ms)`);
    expect(movedMs).toBeGreaterThan(1000);
    expect(movedMs).toBeLessThan(1500 + 1000);
    expect(run.log).toContain('made no progress for 2 s');
  });

  it('an HTTP 500 from a (FAKE) builder before the build: the task completes on the real engine', async () => {
    const broken = await startFakeFaultBuilder('html-500');
    const far = await proxy(40);
    try {
      const run = await buildOn(
        [
          { region: 'broken', url: broken.url },
          { region: 'far', url: far.url },
        ],
        project.path,
        join(data.path, 'http-500'),
      );
      if (run.build.status !== 'succeeded')
        console.log(JSON.stringify(run.build.tasks[0]?.state), run.log.slice(-2000));
      expect(run.build.status).toBe('succeeded');
      expect(run.regions[1]?.reason).toBe('failover from broken: HTTP 500');
      expect(run.log).toContain('answered 500');
    } finally {
      await broken.close();
    }
  });
});
