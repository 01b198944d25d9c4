import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildSession } from '../../src/core/builds/session';
import type { Project, TaskPhase } from '../../src/shared/domain';
import { engineUrl, imageExists } from '../support/engine';
import { BUSYBOX, tempDir } from '../support/fixtures';

const url = engineUrl();
const SERVICES = ['api', 'web', 'worker', 'db-init'];

describe.skipIf(!url)('a project of several services', () => {
  let folder: Awaited<ReturnType<typeof tempDir>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let project: Project;
  beforeAll(async () => {
    folder = await tempDir('slipway-4svc-');
    data = await tempDir('slipway-4svc-data-');
    // The compose detection lives in another slice; the project is made here as it would find it.
    for (const service of SERVICES) {
      const context = join(folder.path, service);
      await mkdir(context);
      await copyFile(BUSYBOX, join(context, 'busybox'));
      await writeFile(
        join(context, 'Dockerfile'),
        `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","sh","-c","echo building ${service}; /bin/busybox sleep 1"]\n`,
      );
    }
    project = {
      id: 'four-services',
      path: folder.path,
      name: 'four',
      composeFile: join(folder.path, 'compose.yaml'),
      tasks: SERVICES.map((service) => ({
        id: service,
        service,
        contextPath: join(folder.path, service),
        dockerfile: 'Dockerfile',
      })),
      external: [],
    };
  });
  afterAll(() => Promise.all([folder.cleanup(), data.cleanup()]));

  it('builds four services two at a time on the real engine, every image present', async () => {
    const session = new BuildSession({
      dataDir: data.path,
      project,
      endpoint: { region: 'local', url },
      tag: 'slipway-test/four:1',
      concurrency: 2,
    });
    const phases = new Map<string, TaskPhase>();
    let mostAtOnce = 0;
    session.on('event', (event) => {
      if (event.type !== 'task.state') return;
      phases.set(event.taskId, event.state.phase);
      const active = [...phases.values()].filter((phase) => !['queued', 'done', 'failed', 'cancelled'].includes(phase));
      mostAtOnce = Math.max(mostAtOnce, active.length);
    });
    const startedMs = performance.now();
    const build = await session.run();
    console.log(`4 services, concurrency 2: ${Math.round(performance.now() - startedMs)} ms`);
    expect(build.status).toBe('succeeded');
    expect(build.tasks.map((task) => task.state.phase)).toEqual(['done', 'done', 'done', 'done']);
    expect(mostAtOnce).toBe(2);
    for (const service of SERVICES) expect(await imageExists(url, `slipway-test/four-${service}:1`)).toBe(true);
  });

  it('one failing service does not stop the others, unless fail-fast is asked', async () => {
    const broken: Project = {
      ...project,
      tasks: project.tasks.map((task, index) => (index === 0 ? { ...task, dockerfile: 'Missing.Dockerfile' } : task)),
    };
    const tolerant = await new BuildSession({
      dataDir: data.path,
      project: broken,
      endpoint: { region: 'local', url },
      concurrency: 2,
    }).run();
    expect(tolerant.status).toBe('failed');
    expect(tolerant.tasks.map((task) => task.state.phase)).toEqual(['failed', 'done', 'done', 'done']);
    const strict = await new BuildSession({
      dataDir: data.path,
      project: broken,
      endpoint: { region: 'local', url },
      concurrency: 1,
      failFast: true,
    }).run();
    expect(strict.status).toBe('failed');
    expect(strict.error?.code).not.toBe('E_CANCELLED');
    expect(strict.tasks.map((task) => task.state.phase)).toEqual(['failed', 'cancelled', 'cancelled', 'cancelled']);
  });
});
