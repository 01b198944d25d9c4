import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectTask } from '../../src/core/pack/inspect';
import { planContext } from '../../src/core/pack/plan';
import type { Task } from '../../src/shared/domain';
import { folderWith } from '../support/fixtures';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

async function context(files: Record<string, string>): Promise<string> {
  const dir = await folderWith(files, 'slipway-ignore-');
  cleanups.push(dir.cleanup);
  return dir.path;
}

const task = (root: string, dockerfile = 'Dockerfile'): Task => ({
  id: 'a',
  service: 'a',
  contextPath: root,
  dockerfile,
});

describe('the ignore file each builder reads', () => {
  const all = {
    Dockerfile: 'FROM scratch\n',
    'Dockerfile.dockerignore': 'from-dockerfile\n',
    '.dockerignore': 'from-dockerignore\n',
    '.containerignore': 'from-containerignore\n',
    'from-dockerfile': '',
    'from-dockerignore': '',
    'from-containerignore': '',
  };

  it('classic reads the context root .dockerignore', async () => {
    const root = await context(all);
    const plan = await planContext(task(root));
    expect(plan.ignoreFile).toBe(join(root, '.dockerignore'));
    expect(plan.ignore.verdict('from-dockerignore', false)).toBe('skip');
    expect(plan.ignore.verdict('from-dockerfile', false)).toBe('send');
  });

  it('BuildKit prefers <Dockerfile>.dockerignore beside the Dockerfile, else .dockerignore', async () => {
    const root = await context({
      ...all,
      'docker/app.Dockerfile': 'FROM scratch\n',
      'docker/app.Dockerfile.dockerignore': 'from-containerignore\n',
    });
    expect((await planContext(task(root), 'buildkit')).ignoreFile).toBe(join(root, 'Dockerfile.dockerignore'));
    const nested = await planContext(task(root, 'docker/app.Dockerfile'), 'buildkit');
    expect(nested.ignoreFile).toBe(join(root, 'docker/app.Dockerfile.dockerignore'));
    expect(nested.ignore.verdict('from-containerignore', false)).toBe('skip');
    const { 'Dockerfile.dockerignore': _own, ...withoutOwn } = all;
    expect((await planContext(task(await context(withoutOwn)), 'buildkit')).ignoreFile).toMatch(/\/\.dockerignore$/);
  });

  it('Podman prefers .containerignore when both exist, as buildah does', async () => {
    const root = await context(all);
    const plan = await planContext(task(root), 'podman');
    expect(plan.ignoreFile).toBe(join(root, '.containerignore'));
    expect(plan.ignore.verdict('from-containerignore', false)).toBe('skip');
    const { '.containerignore': _c, ...withoutContainer } = all;
    expect((await planContext(task(await context(withoutContainer)), 'podman')).ignoreFile).toMatch(
      /\/\.dockerignore$/,
    );
  });

  it('inspect says which file was used and which other builders would read instead', async () => {
    const root = await context(all);
    const inspection = await inspectTask(task(root));
    expect(inspection.ignoreFlavour).toBe('classic');
    expect(inspection.ignoreFile).toBe(join(root, '.dockerignore'));
    expect(inspection.otherIgnoreFiles).toEqual([
      { flavour: 'buildkit', file: join(root, 'Dockerfile.dockerignore') },
      { flavour: 'podman', file: join(root, '.containerignore') },
    ]);
    expect(inspection.scan.files).toBe(6);
  });
});
