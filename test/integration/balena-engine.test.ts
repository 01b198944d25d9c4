import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BALENA_BUILD_LOG_ID } from '../../src/core/builders/balena-names';
import { buildDir } from '../../src/core/builds/build-store';
import { Engine } from '../../src/core/engine';
import type { SlipwayEvent } from '../../src/shared/contract';
import { type FakeBalenaBuilder, startFakeBalenaBuilder } from '../support/fake-balena-builder';
import { tempDir } from '../support/fixtures';

let fake: FakeBalenaBuilder | null = null;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await fake?.close();
  fake = null;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('the window’s engine pushes to a balena target', () => {
  it('shows the tasks from the start, per-task logs, the upload progress and the final status', async () => {
    const project = await tempDir('slipway-balena-engine-');
    const data = await tempDir('slipway-balena-data-');
    cleanups.push(project.cleanup, data.cleanup);
    await writeFile(join(project.path, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    fake = await startFakeBalenaBuilder({
      steps: [
        { message: { type: 'metadata', resource: 'buildLogId', value: '4321' } },
        { message: { message: '[main]     Step 1/2 : FROM scratch' } },
        { message: { message: '[main]     Step 2/2 : COPY . /' } },
        { message: { message: '[Success]  Release successfully created!' } },
      ],
    });
    const tokens: string[] = [];
    const engine = new Engine({
      dataDir: data.path,
      mode: 'browser',
      version: 'test',
      balenaToken: async (target) => {
        tokens.push(target);
        return 'engine-token';
      },
    });
    const events: SlipwayEvent[] = [];
    engine.on('event', (event) => events.push(event));
    await engine.call('settings.update', {
      targets: [
        { name: 'fleet', kind: 'balena', endpoints: [{ region: 'eu', url: fake.url }], fleet: 'myorg/myfleet' },
      ],
      defaultTarget: 'fleet',
    });
    const opened = await engine.call('project.open', { path: project.path });
    const finished = new Promise<void>((resolve) =>
      engine.on('event', (event) => event.type === 'build.finished' && resolve()),
    );
    const { buildId } = await engine.call('build.start', { projectId: opened.id, noCache: true });
    await finished;
    await engine.close();

    expect(tokens).toEqual(['fleet']);
    expect(fake.builds[0]?.headers.authorization).toBe('Bearer engine-token');
    expect(fake.builds[0]?.query.nocache).toBe('true');
    const started = events.find((event) => event.type === 'build.started');
    expect(started?.type === 'build.started' && started.build.tasks.map((task) => task.task.id)).toEqual(['main']);
    expect(events.some((event) => event.type === 'task.state' && event.state.phase === 'uploading')).toBe(true);
    const build = await engine.call('build.get', { buildId });
    expect(build).toMatchObject({ status: 'succeeded', releaseId: '4321', logId: BALENA_BUILD_LOG_ID });
    const main = await engine.call('logs.read', { buildId, taskId: 'main', fromLine: 0, count: 10 });
    expect(main.lines).toEqual(['Step 1/2 : FROM scratch', 'Step 2/2 : COPY . /']);
    const own = await engine.call('logs.read', { buildId, taskId: BALENA_BUILD_LOG_ID, fromLine: 0, count: 10 });
    expect(own.lines).toEqual(['[Success]  Release successfully created!']);
  });
});

describe('a balena target’s stored token', () => {
  it('is the one sent to the builder, and appears in no answer, event, record or log', async () => {
    const project = await tempDir('slipway-balena-token-');
    const data = await tempDir('slipway-balena-token-data-');
    cleanups.push(project.cleanup, data.cleanup);
    await writeFile(join(project.path, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    fake = await startFakeBalenaBuilder({
      steps: [
        { message: { type: 'metadata', resource: 'buildLogId', value: '99' } },
        { message: { message: '[main]     Step 1/1 : FROM scratch' } },
        { message: { message: '[Success]  Release successfully created!' } },
      ],
    });
    const token = 'stored-token-5d0e9a';
    const engine = new Engine({ dataDir: data.path, mode: 'browser', version: 'test' });
    const events: SlipwayEvent[] = [];
    engine.on('event', (event) => events.push(event));
    await engine.call('settings.update', {
      targets: [{ name: 'fleet', kind: 'balena', endpoints: [{ region: 'eu', url: fake.url }], fleet: 'org/fleet' }],
      defaultTarget: 'fleet',
    });
    expect(await engine.call('targets.setToken', { target: 'fleet', token })).toEqual({ stored: true });
    const opened = await engine.call('project.open', { path: project.path });
    const finished = new Promise<void>((resolve) =>
      engine.on('event', (event) => event.type === 'build.finished' && resolve()),
    );
    const { buildId } = await engine.call('build.start', { projectId: opened.id });
    await finished;
    await engine.close();

    expect(fake.builds[0]?.headers.authorization).toBe(`Bearer ${token}`);
    const build = await engine.call('build.get', { buildId });
    expect(build.status).toBe('succeeded');
    const logs = await Promise.all(
      ['main', BALENA_BUILD_LOG_ID].map((taskId) =>
        engine.call('logs.read', { buildId, taskId, fromLine: 0, count: 50 }),
      ),
    );
    expect(JSON.stringify([build, events, logs, await engine.call('settings.get', {})])).not.toContain(token);
    const onDisk = await readdir(buildDir(data.path, buildId), { recursive: true, withFileTypes: true });
    for (const entry of onDisk.filter((file) => file.isFile())) {
      expect(await readFile(join(entry.parentPath, entry.name), 'utf8'), entry.name).not.toContain(token);
    }
  });
});
