import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine';
import {
  loadRecentProjects,
  optionsToOpenWith,
  recentProjectsPath,
  rememberProject,
} from '../../src/core/project/recent-projects';
import { folderWith, tempDir } from '../support/fixtures';

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function dataDir(): Promise<string> {
  const dir = await tempDir('slipway-recent-');
  cleanup = dir.cleanup;
  return dir.path;
}

describe('the compose options remembered per project', () => {
  it('opens a folder again with the options last chosen for it, each option given winning', async () => {
    const data = await dataDir();
    await rememberProject(data, {
      path: '/p',
      name: 'p',
      compose: { options: { profiles: ['debug'], envFile: 'x.env' } },
    });
    expect(await optionsToOpenWith(data, '/p', {})).toEqual({ profiles: ['debug'], envFile: 'x.env' });
    expect(await optionsToOpenWith(data, '/p', { profiles: [] })).toEqual({ profiles: [], envFile: 'x.env' });
    expect(await optionsToOpenWith(data, '/other', {})).toEqual({});
  });

  it('keeps no options for a project opened with the defaults, and drops malformed saved ones', async () => {
    const data = await dataDir();
    await rememberProject(data, { path: '/plain', name: 'plain', compose: { options: {} } });
    expect((await loadRecentProjects(data))[0]).not.toHaveProperty('options');
    await writeFile(
      recentProjectsPath(data),
      JSON.stringify([
        { path: '/p', name: 'p', openedAt: 'x', options: { profiles: [1, 2], files: ['a.yml'], envFile: 3 } },
      ]),
    );
    expect((await loadRecentProjects(data))[0]?.options).toEqual({ files: ['a.yml'] });
  });
});

describe('project.open with compose options, over the contract', () => {
  it('opens with the profiles given, remembers them, masks secret args, and refuses a file outside the folder', async () => {
    const data = await dataDir();
    const project = await folderWith({
      'compose.yaml':
        'services:\n  web:\n    build:\n      context: .\n      args: { API_TOKEN: abc, MODE: dev }\n  tool:\n    build: .\n    profiles: [tools]\n',
      Dockerfile: 'FROM scratch\n',
      'prod.env': 'A=1\n',
    });
    try {
      const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test' });
      const opened = await engine.call('project.open', {
        path: project.path,
        profiles: ['tools'],
        envFile: 'prod.env',
      });
      expect(opened.tasks.map((task) => task.service)).toEqual(['web', 'tool']);
      // The window sees secret-looking build-arg values masked; the engine builds with the real ones.
      expect(opened.tasks[0]?.buildArgs).toEqual({ API_TOKEN: '********', MODE: 'dev' });
      const again = await engine.call('project.open', { path: project.path });
      expect(again.compose?.options).toEqual({ profiles: ['tools'], envFile: 'prod.env' });
      for (const outside of [{ envFile: '../secrets.env' }, { envFile: '/etc/passwd' }, { files: ['a/../../x.yml'] }]) {
        await expect(engine.call('project.open', { path: project.path, ...outside })).rejects.toMatchObject({
          code: 'E_BAD_INPUT',
        });
      }
    } finally {
      await project.cleanup();
    }
  });
});
