import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine';
import type { SlipwayEvent } from '../../src/shared/contract';
import { engineUrl } from '../support/engine';
import { BUSYBOX, folderWith, tempDir } from '../support/fixtures';

const url = engineUrl();

// The timeline, the summary and re-run through the contract, on the private Podman (buildah's classic
// "STEP n/m:" steps, its "--> Using cache" lines, and its GET /images/{id}/json).
describe.skipIf(!url)('a build from history on Podman', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let project: Awaited<ReturnType<typeof folderWith>>;
  let engine: Engine;
  beforeAll(async () => {
    data = await tempDir('slipway-engine-timeline-');
    project = await folderWith({
      Dockerfile: [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'ARG MODE=none',
        'RUN ["/bin/busybox", "sh", "-c", "echo mode=$MODE > /mode.txt; /bin/busybox cat /mode.txt"]',
        '',
      ].join('\n'),
    });
    await cp(BUSYBOX, join(project.path, 'busybox'));
    engine = new Engine({ dataDir: data.path, mode: 'browser', version: 'test', builderUrl: url });
  });
  afterAll(async () => {
    await engine.close();
    await project.cleanup();
    await data.cleanup();
  });

  function finished(): Promise<SlipwayEvent> {
    return new Promise((resolve) => {
      const listener = (event: SlipwayEvent) => {
        if (event.type !== 'build.finished') return;
        engine.off('event', listener);
        resolve(event);
      };
      engine.on('event', listener);
    });
  }

  it('keeps the image the engine made, draws its steps, and runs it again with the same options from the cache', async () => {
    const opened = await engine.call('project.open', { path: project.path });
    const first = finished();
    const { buildId } = await engine.call('build.start', {
      projectId: opened.id,
      tag: 'slipway-timeline-test:1',
      buildArgs: { MODE: 'ci' },
      concurrency: 1,
    });
    expect(await first).toMatchObject({ status: 'succeeded' });
    const build = await engine.call('build.get', { buildId });
    const [task] = build.tasks;
    expect(task?.image?.sizeBytes).toBeGreaterThan(1024 * 1024);
    // Podman's compat API names the tag in full, with the registry it assumes.
    expect(task?.image?.tags).toEqual(['docker.io/library/slipway-timeline-test:1']);
    expect(task?.image?.id.replace(/^sha256:/, '')).toBe(
      task?.state.phase === 'done' ? task.state.imageId?.replace(/^sha256:/, '') : 'no image',
    );
    expect(build.startOptions).toEqual({ tag: 'slipway-timeline-test:1', buildArgs: { MODE: 'ci' }, concurrency: 1 });

    const timeline = await engine.call('build.timeline', { buildId });
    const lane = timeline.tasks[0];
    expect(lane?.phases.map((phase) => phase.kind)).toEqual(['queued', 'packing', 'uploading']);
    expect(lane?.steps.map((step) => step.name)).toEqual([
      'STEP 1/4: FROM scratch',
      'STEP 2/4: COPY busybox /bin/busybox',
      'STEP 3/4: ARG MODE=none',
      expect.stringMatching(/^STEP 4\/4: RUN /),
    ]);
    expect(lane?.steps.every((step) => step.startMs !== null && step.endMs !== null)).toBe(true);

    const again = finished();
    const rerun = await engine.call('build.rerun', { buildId });
    expect(await again).toMatchObject({ buildId: rerun.buildId, status: 'succeeded' });
    const second = await engine.call('build.get', { buildId: rerun.buildId });
    expect(second.startOptions).toEqual(build.startOptions);
    expect(second.tasks[0]?.task.buildArgs).toEqual({ MODE: 'ci' });
    // The same options hit the cache: buildah says so after each step, and the timeline marks them.
    const cached = (await engine.call('build.timeline', { buildId: rerun.buildId })).tasks[0]?.steps;
    expect(cached?.find((step) => step.name.startsWith('STEP 4/4'))?.cached).toBe(true);
  });
});
