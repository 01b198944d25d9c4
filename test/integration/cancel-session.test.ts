import { randomBytes } from 'node:crypto';
import { copyFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildSession } from '../../src/core/builds/session';
import { Engine } from '../../src/core/engine';
import { openProject } from '../../src/core/project/detect';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Build, TaskState } from '../../src/shared/domain';
import { runCli } from '../support/cli';
import { leakedSince, openDescriptors, processesWith } from '../support/descriptors';
import { engineUrl } from '../support/engine';
import { BUSYBOX, tempDir } from '../support/fixtures';

const url = engineUrl();

async function engineGet(path: string): Promise<{ status: number; json: unknown }> {
  const dispatcher = new Agent({ connect: { socketPath: url.replace('unix://', '') } });
  try {
    const response = await request(`http://localhost${path}`, { dispatcher });
    const text = await response.body.text();
    return { status: response.statusCode, json: text ? JSON.parse(text) : null };
  } finally {
    await dispatcher.close();
  }
}

/** The engine is no longer building: no build container left and no process of the RUN step. */
async function waitUntilEngineIdle(
  marker: string,
  timeoutMs: number,
): Promise<{ containers: number; processes: number }> {
  const deadline = Date.now() + timeoutMs;
  let state = { containers: -1, processes: -1 };
  while (Date.now() < deadline) {
    const list = await engineGet('/v4.0.0/libpod/containers/json?all=true&external=true');
    // Podman answers 500 while it removes a build container; that is not idle yet.
    if (!Array.isArray(list.json)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    state = {
      containers: (list.json as { Names: string[] }[]).filter((c) =>
        c.Names.some((n) => n.includes('working-container')),
      ).length,
      processes: await processesWith(marker),
    };
    if (state.containers === 0 && state.processes === 0) return state;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return state;
}

describe.skipIf(!url)('cancel stops everything and leaves the build marked cancelled', () => {
  let project: Awaited<ReturnType<typeof tempDir>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  const marker = `slipway-cancel-${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    project = await tempDir('slipway-cancel-');
    data = await tempDir('slipway-cancel-data-');
    await writeFile(
      join(project.path, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'COPY big.bin /big.bin',
        `RUN ["/bin/busybox","sh","-c","echo started ${marker}; /bin/busybox sleep 3; echo finished ${marker}"]`,
        'RUN ["/bin/busybox","sh","-c","echo the step after"]',
        '',
      ].join('\n'),
    );
    await copyFile(BUSYBOX, join(project.path, 'busybox'));
    await writeFile(join(project.path, 'big.bin'), '');
    await truncate(join(project.path, 'big.bin'), 32 * 1024 * 1024);
  });
  afterAll(() => Promise.all([project.cleanup(), data.cleanup()]));

  async function cancelWhen(when: (state: TaskState) => boolean, tag: string) {
    const before = await openDescriptors();
    const session = new BuildSession({
      dataDir: data.path,
      project: await openProject(project.path),
      endpoint: { region: 'local', url },
      tag,
    });
    const phases: string[] = [];
    session.on('event', (event: SlipwayEvent) => {
      if (event.type !== 'task.state') return;
      phases.push(event.state.phase);
      if (when(event.state)) session.cancel();
    });
    const build = await session.run();
    const onDisk = JSON.parse(await readFile(join(session.directory, 'build.json'), 'utf8')) as Build;
    const log = await readFile(join(session.directory, 'main.log'), 'utf8');
    return { build, onDisk, log, phases, leaked: await leakedSince(before) };
  }

  it('during packing: no descriptor or socket left open, the build marked cancelled', async () => {
    const run = await cancelWhen((state) => state.phase === 'packing', 'slipway-test/cancel-packing');
    expect(run.build.status).toBe('cancelled');
    expect(run.onDisk.status).toBe('cancelled');
    expect(run.onDisk.tasks[0]?.state.phase).toBe('cancelled');
    expect(run.phases).not.toContain('uploading');
    expect(run.leaked).toEqual([]);
  });

  it('during the upload: no descriptor or socket left open, nothing built, the build marked cancelled', async () => {
    const run = await cancelWhen(
      (state) => state.phase === 'uploading' && state.bytesSent > 0,
      'slipway-test/cancel-upload',
    );
    expect(run.build.status).toBe('cancelled');
    expect(run.onDisk.tasks[0]?.state.phase).toBe('cancelled');
    expect(run.phases).not.toContain('building');
    expect(run.leaked).toEqual([]);
    expect((await engineGet('/images/slipway-test%2Fcancel-upload/json')).status).toBe(404);
  });

  it('during the build, through the contract: sockets closed, the engine stops building, the spool keeps what came', async () => {
    const before = await openDescriptors();
    const engine = new Engine({ dataDir: data.path, mode: 'browser', version: 'test', builderUrl: url });
    const events: SlipwayEvent[] = [];
    engine.on('event', (event) => events.push(event));
    const opened = await engine.call('project.open', { path: project.path });
    const { buildId } = await engine.call('build.start', { projectId: opened.id, tag: 'slipway-test/cancel-build' });
    // Wait until the RUN step's process is alive on the engine, then cancel through the contract.
    const deadline = Date.now() + 60_000;
    const finishedEarly = () => events.some((event) => event.type === 'build.finished');
    while ((await processesWith(marker)) === 0 && Date.now() < deadline && !finishedEarly()) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(finishedEarly()).toBe(false);
    expect(await processesWith(marker)).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await engine.call('build.cancel', { buildId })).toEqual({ cancelled: true });
    await engine.close();
    const finished = events.find((event) => event.type === 'build.finished');
    expect(finished).toMatchObject({ type: 'build.finished', status: 'cancelled' });
    const build = await engine.call('build.get', { buildId });
    expect(build.status).toBe('cancelled');
    expect(build.tasks[0]?.state.phase).toBe('cancelled');
    expect(build.tasks[0]?.logLines).toBeGreaterThan(0);
    const log = await readFile(join(data.path, 'builds', buildId, 'main.log'), 'utf8');
    expect(log).toContain(`started ${marker}`);
    expect(await leakedSince(before)).toEqual([]);
    // Docker stops a build when its connection closes. Podman 4.3 lets the running RUN process end
    // (its API has no way to kill it) and then abandons the build: no further step, no image.
    const idle = await waitUntilEngineIdle(marker, 15_000);
    expect(idle).toEqual({ containers: 0, processes: 0 });
    expect((await engineGet('/images/slipway-test%2Fcancel-build/json')).status).toBe(404);
  });

  it('Ctrl-C in the CLI during the build exits 130 with the build marked cancelled', async () => {
    const cliData = join(data.path, 'cli');
    let pid = 0;
    const running = runCli(
      ['build', project.path, '--builder', url, '--tag', 'slipway-test/cancel-cli', '--data-dir', cliData],
      {
        onSpawn: (childPid) => {
          pid = childPid;
        },
      },
    );
    let exited = false;
    void running.then(() => {
      exited = true;
    });
    const deadline = Date.now() + 60_000;
    while ((await processesWith(marker)) === 0 && Date.now() < deadline && !exited)
      await new Promise((r) => setTimeout(r, 100));
    expect(exited).toBe(false);
    const sockets = [...(await openDescriptors(pid)).values()].filter((target) => target.startsWith('socket:')).length;
    process.kill(pid, 'SIGINT');
    const run = await running;
    expect(sockets).toBeGreaterThan(0);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('Build cancelled');
    const [buildId] = await readdir(join(cliData, 'builds'));
    const build = JSON.parse(await readFile(join(cliData, 'builds', buildId as string, 'build.json'), 'utf8')) as Build;
    expect(build.status).toBe('cancelled');
    expect(await waitUntilEngineIdle(marker, 15_000)).toEqual({ containers: 0, processes: 0 });
  });
});
