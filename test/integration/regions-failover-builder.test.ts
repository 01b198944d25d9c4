import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startBuild } from '../../src/core/builds/start';
import { readSteps } from '../../src/core/logs/reader';
import { openProject } from '../../src/core/project/detect';
import type { SlipwayEvent } from '../../src/shared/contract';
import { runCli } from '../support/cli';
import { dockerUrl, engineUrl, imageExists } from '../support/engine';
import { folderWith, tempDir } from '../support/fixtures';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';
import { removeImage } from '../support/registry';

const podman = engineUrl();
const docker = dockerUrl();

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * A region in front of a real engine that resets the upload (a proxy), a project of 1 MiB, a data
 * folder and a tag: a build there fails over to the next region.
 */
async function resettingRegion(upstream: string) {
  const proxy: LatencyProxy = await startLatencyProxy({ upstream, roundTripMs: 2 });
  cleanups.push(() => proxy.close());
  // Past the pings of the probe and the builder choice, inside the context's upload.
  proxy.resetAfterUploadBytes(64 * 1024);
  const dir = await folderWith({ Dockerfile: 'FROM scratch\nCOPY blob /blob\n' });
  cleanups.push(dir.cleanup);
  await writeFile(join(dir.path, 'blob'), randomBytes(1024 * 1024));
  const data = await tempDir();
  cleanups.push(data.cleanup);
  const tag = `slipway-test/failover-builder:${randomBytes(3).toString('hex')}`;
  return { proxy, dir: dir.path, data: data.path, tag };
}

/** A build of a two-region target whose first region resets the upload, so the task fails over to the other engine. */
async function failOver(first: { name: string; url: string }, second: { name: string; url: string }) {
  const { proxy, dir, data, tag } = await resettingRegion(first.url);
  const session = await startBuild({
    dataDir: data,
    project: await openProject(dir),
    target: {
      name: 'mixed',
      kind: 'docker',
      endpoints: [
        { region: first.name, url: proxy.url },
        { region: second.name, url: second.url },
      ],
    },
    pinnedRegion: first.name,
    tag,
  });
  const moves: Extract<SlipwayEvent, { type: 'task.region' }>[] = [];
  session.on('event', (event) => {
    if (event.type === 'task.region') moves.push(event);
  });
  const build = await session.run();
  const built = await imageExists(second.url, tag);
  await removeImage(second.url, tag);
  return { build, moves, built, resets: proxy.resets.length, steps: await readSteps(session.directory, 'main') };
}

describe.skipIf(!podman || !docker)('a task that fails over to a region running another engine', () => {
  it('builds with Podman’s builder there after BuildKit was chosen for the first region', async () => {
    const run = await failOver({ name: 'docker', url: docker }, { name: 'podman', url: podman });
    expect(run.resets).toBe(1);
    expect(run.moves.map((move) => [move.region, move.builder])).toEqual([
      ['docker', 'docker-buildkit'],
      ['podman', 'docker-classic'],
    ]);
    expect(run.build.status, JSON.stringify(run.build.tasks[0]?.state)).toBe('succeeded');
    expect(run.build.tasks[0]?.region).toBe('podman');
    expect(run.build.tasks[0]?.builder).toBe('docker-classic');
    expect(run.built).toBe(true);
    // Podman's answer read as the classic builder's: its STEP lines are the task's steps.
    expect(run.steps.map((step) => `${step.step}/${step.steps}`)).toEqual(['1/2', '2/2']);
  });

  it('builds with BuildKit there after Podman was chosen for the first region', async () => {
    const run = await failOver({ name: 'podman', url: podman }, { name: 'docker', url: docker });
    expect(run.resets).toBe(1);
    expect(run.moves.map((move) => [move.region, move.builder])).toEqual([
      ['podman', 'docker-classic'],
      ['docker', 'docker-buildkit'],
    ]);
    expect(run.build.status, JSON.stringify(run.build.tasks[0]?.state)).toBe('succeeded');
    expect(run.build.tasks[0]?.builder).toBe('docker-buildkit');
    expect(run.built).toBe(true);
    const done = run.build.tasks[0]?.state;
    expect(done?.phase === 'done' && done.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('says so on the command line when the builder changes with the region', async () => {
    const { proxy, dir, data, tag } = await resettingRegion(docker);
    const args = ['--builder', `docker=${proxy.url}`, '--builder', `podman=${podman}`, '--region', 'docker'];
    const run = await runCli(['build', dir, '--data-dir', data, '-t', tag, ...args]);
    await removeImage(podman, tag);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('Builder BuildKit (');
    expect(run.stderr).toContain('[main] now in podman (failover from docker: ECONNRESET; builder classic there)');
  });
});
