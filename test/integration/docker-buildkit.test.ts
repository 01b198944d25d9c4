import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine';
import { readLines, readSteps } from '../../src/core/logs/reader';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Build } from '../../src/shared/domain';
import { runCli } from '../support/cli';
import { leakedSince, openDescriptors, processesWith } from '../support/descriptors';
import { dockerUrl, engineUrl, imageExists } from '../support/engine';
import { fixture, tempDir } from '../support/fixtures';

const docker = dockerUrl();
const podman = engineUrl();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function temp(prefix?: string) {
  const dir = await tempDir(prefix);
  cleanups.push(dir.cleanup);
  return dir.path;
}

async function project(name: string) {
  const dir = await fixture(name);
  cleanups.push(dir.cleanup);
  return dir.path;
}

/** GET on the Docker Engine's socket, as JSON. */
async function dockerGet(path: string): Promise<unknown> {
  const dispatcher = new Agent({ connect: { socketPath: docker.replace('unix://', '') } });
  try {
    const response = await request(`http://localhost${path}`, { dispatcher });
    return await response.body.json();
  } finally {
    await dispatcher.close();
  }
}

/** Runs `slipway build --json` and reads its events and the build it recorded. */
async function build(dir: string, data: string, args: string[]) {
  const run = await runCli(['build', dir, '--json', '--data-dir', data, ...args]);
  const events = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as SlipwayEvent & { text?: string });
  const started = events.find((event) => event.type === 'build.started') as { build: Build } | undefined;
  const id = started?.build.id as string;
  const recorded = id ? (JSON.parse(await readFile(join(data, 'builds', id, 'build.json'), 'utf8')) as Build) : null;
  const log = id ? await readLines(join(data, 'builds', id), 'main', 0, 10_000) : { lines: [], flags: [] };
  return { run, events, build: recorded, log, directory: join(data, 'builds', id) };
}

describe.skipIf(!docker)('BuildKit on the real Docker Engine (RUN steps with --network none: no bridge here)', () => {
  it('builds a cache mount and two stages with BuildKit, lists the image under its tag, and shows CACHED steps the second time', async () => {
    const dir = await project('buildkit');
    const data = await temp();
    const tag = `slipway-test/buildkit:${randomBytes(3).toString('hex')}`;
    const args = ['--builder', docker, '--network', 'none', '-t', tag];
    const first = await build(dir, data, args);
    expect(first.run.code, first.run.stderr).toBe(0);
    expect(first.build?.status).toBe('succeeded');
    expect(first.build?.tasks[0]?.builder).toBe('docker-buildkit');
    expect(await imageExists(docker, tag)).toBe(true);
    const text = first.log.lines.join('\n');
    expect(text).toMatch(/^#\d+ \[base 2\/3\] RUN --mount=type=cache,target=\/cache /m);
    expect(text).toMatch(/^#\d+ \d+\.\d{3} built in base$/m);
    expect(text).toMatch(/^#\d+ DONE \d+\.\ds$/m);
    const steps = await readSteps(first.directory, 'main');
    expect(steps.map((step) => `${step.step}/${step.steps}`)).toEqual(['1/3', '2/3', '3/3', '1/3', '2/3', '3/3']);
    expect(steps.every((step) => step.durationMs !== null)).toBe(true);
    const done = first.build?.tasks[0]?.state;
    expect(done?.phase === 'done' && done.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const second = await build(dir, data, args);
    expect(second.run.code, second.run.stderr).toBe(0);
    expect(second.log.lines.filter((line) => /^#\d+ CACHED$/.test(line)).length).toBeGreaterThanOrEqual(4);
  });

  it('fails a broken RUN with exit 1, the step and its exit code in the error, and the ERROR line in the log', async () => {
    const dir = await project('failing');
    const data = await temp();
    const failed = await build(dir, data, ['--builder', docker, '--network', 'none', '--builder-version', '2']);
    expect(failed.run.code).toBe(1);
    expect(failed.build?.status).toBe('failed');
    const state = failed.build?.tasks[0]?.state;
    expect(state?.phase).toBe('failed');
    const error = state?.phase === 'failed' ? state.error : null;
    expect(error?.code).toBe('E_BUILD_FAILED');
    expect(error?.message).toContain('[2/2] RUN ["/bin/busybox", "sh", "-c"');
    expect(error?.message).toContain('exit code: 3');
    const errorLine = failed.log.lines.findIndex((line) => /^#\d+ ERROR: .*exit code: 3/.test(line));
    expect(errorLine).toBeGreaterThan(0);
    expect(failed.log.lines).toContain(failed.log.lines.find((line) => /^#\d+ \d+\.\d{3} broken-step$/.test(line)));
  });

  it('builds the same project without BuildKit syntax with --builder-version 1', async () => {
    const dir = await project('two-stage');
    const data = await temp();
    const tag = `slipway-test/classic:${randomBytes(3).toString('hex')}`;
    const classic = await build(dir, data, ['--builder', docker, '--builder-version', '1', '-t', tag]);
    expect(classic.run.code, classic.run.stderr).toBe(0);
    expect(classic.build?.tasks[0]?.builder).toBe('docker-classic');
    expect(classic.log.lines).toContain('Step 1/7 : FROM scratch AS base');
    expect(await imageExists(docker, tag)).toBe(true);
  });

  it('cancel during a BuildKit build stops the RUN in the engine, marks the task cancelled and leaks nothing', async () => {
    const dir = await temp('slipway-bk-cancel-');
    const marker = `slipway-bk-cancel-${randomBytes(4).toString('hex')}`;
    await writeFile(join(dir, 'busybox'), await readFile('/bin/busybox'), { mode: 0o755 });
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","sh","-c","echo started ${marker}; /bin/busybox sleep 30; echo finished ${marker}"]\n`,
    );
    const data = await temp();
    const before = await openDescriptors();
    const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test', builderUrl: docker });
    await engine.call('settings.update', {
      targets: [{ name: 'docker', kind: 'docker', endpoints: [{ region: 'local', url: docker }], builderVersion: '2' }],
      defaultTarget: 'docker',
    });
    const events: SlipwayEvent[] = [];
    engine.on('event', (event) => events.push(event));
    const opened = await engine.call('project.open', { path: dir });
    const { buildId } = await engine.call('build.start', { projectId: opened.id, network: 'none' });
    const deadline = Date.now() + 60_000;
    while ((await processesWith(marker)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await processesWith(marker)).toBeGreaterThan(0);
    expect(await engine.call('build.cancel', { buildId })).toEqual({ cancelled: true });
    await engine.close();
    const recorded = await engine.call('build.get', { buildId });
    expect(recorded.status).toBe('cancelled');
    expect(recorded.tasks[0]?.state.phase).toBe('cancelled');
    expect(recorded.tasks[0]?.builder).toBe('docker-buildkit');
    expect(await leakedSince(before)).toEqual([]);
    let running = -1;
    for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
      running = await processesWith(marker);
      if (running === 0) break;
    }
    expect(running).toBe(0);
    expect(await dockerGet('/containers/json?all=1')).toEqual([]);
  });
});

describe.skipIf(!podman)('the classic builder on Podman', () => {
  it('builds the two-stage project with --builder-version 1', async () => {
    const dir = await project('two-stage');
    const data = await temp();
    const classic = await build(dir, data, [
      '--builder',
      podman,
      '--builder-version',
      '1',
      '-t',
      'slipway-test/two-stage',
    ]);
    expect(classic.run.code, classic.run.stderr).toBe(0);
    expect(classic.build?.tasks[0]?.builder).toBe('docker-classic');
    expect(await imageExists(podman, 'slipway-test/two-stage')).toBe(true);
  });
});
