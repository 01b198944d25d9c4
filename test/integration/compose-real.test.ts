import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl, imageLabels } from '../support/engine';
import { fixture, folderWith, tempDir } from '../support/fixtures';

const url = engineUrl();

describe.skipIf(!url)('a compose project read as docker compose reads it, built on a real engine', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let project: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    data = await tempDir('slipway-data-');
    // Nothing RUNs: the Dockerfiles only COPY and LABEL, so no busybox is needed.
    project = await fixture('compose-real', { busyboxIn: [] });
  });
  afterAll(async () => {
    await project.cleanup();
    await data.cleanup();
  });

  it('builds the services of the merged files with .env values, the override target, extends and a context above', async () => {
    const folder = `${project.path}/docker`;
    const env = { FROM_ENV: 'from-process' };
    const inspect = await runCli(['inspect', folder, '--json'], { env });
    expect(inspect.stderr).toBe('');
    const report = JSON.parse(inspect.stdout) as {
      tasks: { service: string; tags: string[]; target: string | null; context: string }[];
      services: { service: string; state: string }[];
      folders: { path: string; outsideProject: boolean }[];
    };
    expect(report.tasks.map((task) => task.service)).toEqual(['web', 'api', 'root', 'extra']);
    expect(report.services.find((service) => service.service === 'tool')?.state).toBe('inactive');
    expect(report.tasks[0]).toMatchObject({
      tags: ['slipway-test/real-web:1'],
      target: 'final',
      context: `${project.path}/app`,
    });
    expect(report.folders).toContainEqual({ path: project.path, services: ['root'], outsideProject: true });

    const run = await runCli(['build', folder, '--builder', url, '--data-dir', data.path], { env });
    expect(run.stderr).not.toContain('failed');
    expect(run.code).toBe(0);
    // Said before building: the profiled service is left out.
    expect(run.stderr).toContain('[tool] not built: its profiles (tools) are not active');

    expect(await imageLabels(url, 'slipway-test/real-web:1')).toMatchObject({
      'org.slipway.greeting': 'hello from .env',
      'org.slipway.from-env': 'from-process',
      'org.slipway.stage': 'final',
      'org.slipway.fixture': 'compose-real',
    });
    expect(await imageLabels(url, 'slipwayreal-api')).toMatchObject({
      'org.slipway.from': 'common',
      'org.slipway.extended': 'yes',
    });
    expect(await imageLabels(url, 'slipwayreal-root')).toMatchObject({ 'org.slipway.service': 'root' });
    expect(await imageLabels(url, 'slipwayreal-extra')).toMatchObject({ 'org.slipway.service': 'extra' });
    expect(await imageLabels(url, 'slipwayreal-tool')).toBeNull();
  });

  it('builds the profiled service only when its profile is active', async () => {
    const folder = `${project.path}/docker`;
    const run = await runCli(['build', folder, '--builder', url, '--data-dir', data.path, '--profile', 'tools']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('[tool]');
    expect(await imageLabels(url, 'slipwayreal-tool')).toMatchObject({ 'org.slipway.service': 'tool' });
  });
});

/** `slipway build` against a builder nobody answers at: what it says before it tries to build. */
function buildWithoutBuilder(folder: string) {
  return runCli(['build', folder, '--builder', 'unix:///nonexistent.sock', '--data-dir', join(folder, 'data')]);
}

describe('inspect on compose files it cannot build as written', () => {
  it('prints a warning naming a build key it cannot carry and its service, in --json too', async () => {
    const dir = await folderWith({
      'compose.yaml':
        'services:\n  web:\n    build:\n      context: .\n      privileged: true\n      args: { API_TOKEN: s3cr3t-token, MODE: dev }\n',
      Dockerfile: 'FROM scratch\n',
    });
    try {
      const json = await runCli(['inspect', dir.path, '--json']);
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout) as {
        tasks: { refused: string[]; warnings: string[]; args: Record<string, string> }[];
      };
      expect(report.tasks[0]?.refused).toEqual(['privileged']);
      expect(report.tasks[0]?.warnings.join()).toContain('service "web": build.privileged is not carried');
      expect(report.tasks[0]?.args).toEqual({ API_TOKEN: '********', MODE: 'dev' });
      // A value no hex id or path can hold by chance ("abc" was in a project id once).
      expect(json.stdout).not.toContain('s3cr3t-token');
      const text = await runCli(['inspect', dir.path]);
      expect(text.stdout).toContain('warning: service "web": build.privileged is not carried');
      const build = await buildWithoutBuilder(dir.path);
      // The refusal is said before the build is tried (here it cannot reach a builder).
      expect(build.stderr.indexOf('build.privileged is not carried')).toBeGreaterThanOrEqual(0);
      expect(build.stderr.indexOf('build.privileged')).toBeLessThan(build.stderr.indexOf('E_BUILDER_UNREACHABLE'));
    } finally {
      await dir.cleanup();
    }
  });

  it('refuses a context that links out of the project with exit 2, naming the link, and sends nothing', async () => {
    const outside = await folderWith({ id_rsa: 'PRIVATE KEY\n', Dockerfile: 'FROM scratch\nCOPY id_rsa /\n' });
    const dir = await folderWith({ 'compose.yaml': 'services:\n  app:\n    build: ./link\n' });
    try {
      await symlink(outside.path, join(dir.path, 'link'));
      const run = await buildWithoutBuilder(dir.path);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('E_CONTEXT_OUTSIDE_PROJECT');
      expect(run.stderr).toContain(join(dir.path, 'link'));
    } finally {
      await dir.cleanup();
      await outside.cleanup();
    }
  });
});
