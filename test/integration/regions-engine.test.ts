import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine';
import type { SlipwayEvent } from '../../src/shared/contract';
import { engineUrl } from '../support/engine';
import { fixture, tempDir } from '../support/fixtures';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy';

const url = engineUrl();

describe.skipIf(!url)('targets and regions through the contract', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let near: LatencyProxy;
  let far: LatencyProxy;
  let engine: Engine;
  const events: SlipwayEvent[] = [];
  beforeAll(async () => {
    data = await tempDir('slipway-engine-regions-');
    near = await startLatencyProxy({ upstream: url, roundTripMs: 5, jitter: 0.2 });
    far = await startLatencyProxy({ upstream: url, roundTripMs: 60, jitter: 0.2 });
    engine = new Engine({ dataDir: data.path, mode: 'browser', version: 'test' });
    engine.on('event', (event) => events.push(event));
  });
  afterAll(async () => {
    await engine.close();
    await Promise.all([near.close(), far.close()]);
    await data.cleanup();
  });

  it('saves targets in the settings file and refuses a target it could not use', async () => {
    const secretUrl = `http://builder:s3cret-token@127.0.0.1:${near.port}`;
    const settings = await engine.call('settings.update', {
      targets: [
        {
          name: 'fleet',
          kind: 'docker',
          endpoints: [
            { region: 'near', url: secretUrl },
            { region: 'far', url: far.url },
          ],
        },
      ],
      defaultTarget: 'fleet',
    });
    expect(settings.defaultTarget).toBe('fleet');
    const saved = JSON.parse(await readFile(join(data.path, 'settings.json'), 'utf8'));
    expect(saved.targets[0].endpoints[0].url).toBe(secretUrl);
    await expect(
      engine.call('settings.update', {
        targets: [{ name: 'bad', kind: 'docker', endpoints: [{ region: 'x', url: 'ftp://example' }] }],
      }),
    ).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    await expect(engine.call('settings.update', { defaultTarget: 'nowhere' })).rejects.toMatchObject({
      code: 'E_BAD_INPUT',
    });
  });

  it('probes the default target, announces the result, and a pinned region wins until unpinned', async () => {
    const probed = await engine.call('regions.probe', {});
    expect(probed.chosen).toBe('near');
    expect(probed.reason).toMatch(/^lowest median/);
    expect(probed.probes.map((probe) => probe.engine?.product)).toEqual(['podman', 'podman']);
    expect(probed.probes[0]?.url).not.toContain('s3cret');
    expect(events.some((event) => event.type === 'regions.probed')).toBe(true);
    expect((await engine.call('regions.pin', { region: 'far' })).pinnedRegion).toBe('far');
    expect(await engine.call('regions.probe', {})).toMatchObject({ chosen: 'far', reason: 'pinned' });
    expect((await engine.call('regions.pin', { region: null })).pinnedRegion).toBeNull();
    expect((await engine.call('regions.probe', {})).chosen).toBe('near');
  });

  it('builds in the chosen region with the token kept out of the build record and the log', async () => {
    const project = await fixture('single');
    try {
      const opened = await engine.call('project.open', { path: project.path });
      const finished = new Promise<SlipwayEvent>((resolve) =>
        engine.on('event', (event) => event.type === 'build.finished' && resolve(event)),
      );
      const { buildId } = await engine.call('build.start', { projectId: opened.id, region: 'auto', noCache: true });
      expect(await finished).toMatchObject({ status: 'succeeded' });
      const regionEvent = events.find((event) => event.type === 'task.region' && event.buildId === buildId);
      expect(regionEvent).toMatchObject({ region: 'near' });
      const directory = join(data.path, 'builds', buildId);
      for (const file of await readdir(directory)) {
        expect(await readFile(join(directory, file), 'utf8')).not.toContain('s3cret');
      }
      const build = await engine.call('build.get', { buildId });
      expect(build.region).toBe('near');
      expect(build.target.endpoints[0]?.url).toContain('***');
    } finally {
      await project.cleanup();
    }
  });
});
