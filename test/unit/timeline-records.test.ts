import { afterEach, describe, expect, it, vi } from 'vitest';
import { BuildRecordWriter, buildDir } from '../../src/core/builds/build-store';
import { readTimeline } from '../../src/core/builds/timeline';
import { Engine } from '../../src/core/engine';
import { readSteps } from '../../src/core/logs/reader';
import { SpoolWriter } from '../../src/core/logs/spool';
import type { Build } from '../../src/shared/domain';
import { tempDirs } from '../support/fixtures';
import { buildRecord } from '../support/records';

afterEach(() => vi.restoreAllMocks());
const dir = tempDirs(afterEach);

const T = Date.parse('2026-11-26T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function finishedBuild(): Build {
  const build = buildRecord('20261126-100000-aaaaaa', 'succeeded');
  const task = build.tasks[0] as Build['tasks'][number];
  task.startedAt = iso(T + 200);
  task.finishedAt = iso(T + 10_000);
  task.phaseTimes = { packing: iso(T + 250), uploading: iso(T + 600), building: iso(T + 1000) };
  task.scan = { files: 3, bytes: 100, tarBytes: 4096, skipped: [] };
  return build;
}

describe('the timeline of a build', () => {
  it("draws BuildKit's vertexes with the builder's times, parallel stages overlapping, cached ones marked", async () => {
    const path = await dir();
    const spool = await SpoolWriter.open(path, 'web');
    const vertex = (
      digest: string,
      name: string,
      startedMs: number | null,
      completedMs: number | null,
      cached = false,
    ) => spool.recordStep({ vertex: digest, name, line: spool.nextLine, startedMs, completedMs, cached, error: false });
    vertex('sha256:a', '[base 1/2] COPY busybox /bin/busybox', T + 1000, null);
    await spool.write([{ text: '#1 [base 1/2] COPY busybox /bin/busybox', flags: 0 }]);
    vertex('sha256:b', '[tools 1/1] RUN sleep 2', T + 1100, null);
    await spool.write([{ text: '#2 [tools 1/1] RUN sleep 2', flags: 0 }]);
    vertex('sha256:a', '[base 1/2] COPY busybox /bin/busybox', T + 1000, T + 1200, true);
    vertex('sha256:b', '[tools 1/1] RUN sleep 2', T + 1100, T + 3100);
    vertex('sha256:c', '[internal] load metadata', null, T + 900, true);
    await spool.close();
    const timeline = await readTimeline(finishedBuild(), path);
    const [task] = timeline.tasks;
    expect(task?.steps).toEqual([
      {
        id: 'sha256:a',
        name: '[base 1/2] COPY busybox /bin/busybox',
        stage: 'base',
        startMs: T + 1000,
        endMs: T + 1200,
        cached: true,
        failed: false,
        line: 0,
      },
      {
        id: 'sha256:b',
        name: '[tools 1/1] RUN sleep 2',
        stage: 'tools',
        startMs: T + 1100,
        endMs: T + 3100,
        cached: false,
        failed: false,
        line: 1,
      },
      // A cached vertex that never said it started took no time, at its end.
      {
        id: 'sha256:c',
        name: '[internal] load metadata',
        stage: 'internal',
        startMs: T + 900,
        endMs: T + 900,
        cached: true,
        failed: false,
        line: 2,
      },
    ]);
    expect(task?.phases).toEqual([
      { kind: 'queued', startMs: T, endMs: T + 200 },
      { kind: 'packing', startMs: T + 250, endMs: T + 600 },
      { kind: 'uploading', startMs: T + 600, endMs: T + 1000 },
    ]);
    expect(task?.tarBytes).toBe(4096);
    // The folds of the log still come from its step lines alone.
    expect(await readSteps(path, 'web')).toEqual([]);
  });

  it('times classic steps from one start to the next, the last to the end of the task, and marks cached ones', async () => {
    const path = await dir();
    let nowMs = T + 1000;
    vi.spyOn(Date, 'now').mockImplementation(() => nowMs);
    const spool = await SpoolWriter.open(path, 'web');
    await spool.write([{ text: 'STEP 1/2: FROM scratch', flags: 0 }]);
    nowMs += 300;
    await spool.write([
      { text: 'STEP 2/3: COPY . /', flags: 0 },
      { text: '--> Using cache 3f1c2a', flags: 0 },
    ]);
    nowMs += 10;
    await spool.write([
      { text: 'STEP 3/3: RUN make', flags: 0 },
      { text: 'cc -c a.c', flags: 0 },
    ]);
    nowMs += 5000;
    await spool.close();
    const [task] = (await readTimeline(finishedBuild(), path)).tasks;
    expect(task?.steps.map((step) => [step.name, step.startMs, step.endMs, step.stage, step.cached])).toEqual([
      ['STEP 1/2: FROM scratch', T + 1000, T + 1300, null, false],
      ['STEP 2/3: COPY . /', T + 1300, T + 1310, null, true],
      ['STEP 3/3: RUN make', T + 1310, T + 6310, null, false],
    ]);
  });
});

describe('the engine on a build from history', () => {
  it('answers its timeline, and refuses to run it again when a build arg it had is masked in the record', async () => {
    const data = await dir();
    const build = { ...finishedBuild(), startOptions: { buildArgs: { NPM_TOKEN: '********', MODE: 'ci' } } };
    const directory = buildDir(data, build.id);
    await new BuildRecordWriter(directory).save(build);
    const spool = await SpoolWriter.open(directory, 'web');
    await spool.write([{ text: 'STEP 1/1: FROM scratch', flags: 0 }]);
    await spool.close();
    const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test' });
    const timeline = await engine.call('build.timeline', { buildId: build.id });
    expect(timeline.tasks.map((task) => [task.service, task.steps.length, task.phases.length])).toEqual([
      ['web', 1, 3],
    ]);
    await expect(engine.call('build.rerun', { buildId: build.id })).rejects.toMatchObject({
      code: 'E_BAD_INPUT',
      message: expect.stringContaining('build arg NPM_TOKEN'),
    });
    await expect(engine.call('build.timeline', { buildId: '../etc' })).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
  });
});
