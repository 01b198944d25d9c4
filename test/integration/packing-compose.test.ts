import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl, imageLabels as labelsOn } from '../support/engine';
import { fixture, tempDir } from '../support/fixtures';

const url = engineUrl();
const imageLabels = (tag: string) => labelsOn(url, tag);

describe.skipIf(!url)('a multi-service compose project on a real engine', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    data = await tempDir('slipway-data-');
  });
  afterAll(() => data.cleanup());

  it('builds one image per built service, with its args, target and labels, and lists the pulled one', async () => {
    const project = await fixture('compose-multi', {
      busyboxIn: ['services/web', 'services/api', 'services/worker', 'services/tools'],
    });
    const inspect = await runCli(['inspect', project.path, '--json']);
    expect(inspect.code).toBe(0);
    const report = JSON.parse(inspect.stdout) as { project: { external: unknown[]; tasks: { id: string }[] } };
    expect(report.project.tasks.map((task) => task.id)).toEqual(['web', 'api', 'worker', 'tools']);
    expect(report.project.external).toEqual([{ service: 'db', image: 'docker.io/library/postgres:16' }]);

    const run = await runCli([
      'build',
      project.path,
      '--builder',
      url,
      '--tag',
      'slipway-test/compose:1',
      '--data-dir',
      data.path,
    ]);
    await project.cleanup();
    expect(run.stderr).not.toContain('failed');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('[web] web: hello web');
    expect(run.stdout).toContain('[api] api: greeting=hello-from-the-anchor role=api shared=1');
    expect(run.stdout).not.toContain('the target was ignored');
    expect(run.stdout).toContain('[worker] worker: greeting=list-form role=worker');
    expect(run.stdout).toContain('[tools] tools: build busybox tool.txt');
    expect(run.stdout).not.toContain('secret.txt');

    expect(await imageLabels('slipway-test/compose-web:1')).not.toBeNull();
    expect(await imageLabels('slipway-test/compose-api:1')).toMatchObject({
      'org.slipway.role': 'api',
      'org.slipway.fixture': 'compose-multi',
    });
    expect(await imageLabels('slipway-test/compose-worker:1')).toMatchObject({ 'org.slipway.role': 'worker' });
    expect(await imageLabels('slipway-test/compose-tools:1')).not.toBeNull();
    expect(await imageLabels('slipway-test/compose-db:1')).toBeNull();

    const [buildId] = await readdir(join(data.path, 'builds'));
    const apiLog = await readFile(join(data.path, 'builds', buildId as string, 'api.log'), 'utf8');
    expect(apiLog).toContain('greeting=hello-from-the-anchor');
  });
});
