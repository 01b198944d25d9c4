import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BuildRecordWriter, buildDir } from '../../src/core/builds/build-store';
import { BuildSession } from '../../src/core/builds/session';
import { Engine } from '../../src/core/engine';
import { openProject } from '../../src/core/project/detect';
import { startBrowserServer } from '../../src/server/server';
import type { SlipwayEvent } from '../../src/shared/contract';
import type { Build } from '../../src/shared/domain';
import { runCli } from '../support/cli';
import { type FakeCaptureBuilder, startFakeCaptureBuilder } from '../support/fake-capture-builder';
import { startFakeFaultBuilder } from '../support/fake-fault-builder';
import { fixture, tempDir } from '../support/fixtures';
import { buildRecord } from '../support/records';
import { serveSlipway } from '../support/serve';
import { mountSmallDisk } from '../support/tmpfs';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function temp(prefix: string): Promise<string> {
  const made = await tempDir(prefix);
  cleanups.push(made.cleanup);
  return made.path;
}

let project: Awaited<ReturnType<typeof fixture>>;
let captures: Awaited<ReturnType<typeof tempDir>>;
let builder: FakeCaptureBuilder;
beforeAll(async () => {
  project = await fixture('single');
  captures = await tempDir('slipway-captures-');
  builder = await startFakeCaptureBuilder(captures.path);
});
afterAll(async () => {
  await builder.close();
  await project.cleanup();
  await captures.cleanup();
});

const build = (data: string, ...extra: string[]) =>
  runCli(['build', project.path, '--builder', builder.url, '--data-dir', data, ...extra]);

describe('slipway build with a settings.json it cannot use', () => {
  it('refuses with E_SETTINGS_INVALID and exit 2 instead of "Build succeeded" with nothing sent', async () => {
    const data = await temp('slipway-bad-settings-');
    await writeFile(join(data, 'settings.json'), '{"concurrency":"x"}');
    const sent = builder.captures.length;
    const run = await build(data);
    expect(run.stderr).toContain('E_SETTINGS_INVALID');
    expect(run.stderr).toContain(join(data, 'settings.json'));
    expect(run.stderr).not.toContain('Build succeeded');
    expect(run.code).toBe(2);
    expect(builder.captures.length).toBe(sent);
  });

  for (const quota of ['{"maxBytes":null}', '{"maxBuilds":"fifty"}']) {
    it(`keeps every build when the quota is ${quota}`, async () => {
      const data = await temp('slipway-bad-quota-');
      const ids = ['20261126-100000-aaaaaa', '20261126-110000-aaaaaa', '20261126-120000-aaaaaa'];
      for (const id of ids) await new BuildRecordWriter(buildDir(data, id)).save(buildRecord(id, 'succeeded'));
      await writeFile(join(data, 'settings.json'), `{"quota":${quota}}`);
      const run = await build(data);
      expect(run.stderr).toContain('E_SETTINGS_INVALID');
      expect((await readdir(join(data, 'builds'))).sort()).toEqual(ids);
    });
  }
});

describe('slipway build when the data directory cannot take the record', () => {
  it('says E_DATA_DIR_READ_ONLY on a read-only file system and leaves nothing behind', async (context) => {
    const disk = await mountSmallDisk(1024 * 1024, { readOnly: true });
    if (!disk) {
      context.skip();
      return;
    }
    try {
      const run = await build(disk.path);
      expect(run.stderr).toContain('E_DATA_DIR_READ_ONLY');
      expect(run.stderr).not.toContain('E_INTERNAL');
      expect(run.code).toBe(2);
      expect(await readdir(disk.path)).toEqual([]);
    } finally {
      await disk.cleanup();
    }
  });

  it('says E_SPOOL_DISK_FULL on a full disk, with no empty build folder and no 0-byte owner.json', async (context) => {
    const disk = await mountSmallDisk(64 * 1024);
    if (!disk) {
      context.skip();
      return;
    }
    try {
      await mkdir(join(disk.path, 'builds'));
      await writeFile(join(disk.path, 'filler'), Buffer.alloc(256 * 1024)).catch(() => undefined);
      const run = await build(disk.path);
      expect(run.stderr).toContain('E_SPOOL_DISK_FULL');
      expect(run.stderr).not.toContain('E_INTERNAL');
      expect(run.code).toBe(1);
      expect(await readdir(join(disk.path, 'builds'))).toEqual([]);
    } finally {
      await disk.cleanup();
    }
  });

  it('says E_DATA_DIR_UNWRITABLE to a user who may not write it', async (context) => {
    const data = await temp('slipway-not-mine-');
    await chmod(data, 0o755);
    // The project must stay readable to that user: only the data directory is refused.
    await chmod(project.path, 0o755);
    const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;
    // Root writes anywhere: the CLI runs as nobody, against a folder root owns.
    const args = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'build', project.path];
    // Spawned without blocking: the FAKE builder answering the CLI runs in this process.
    const run = await new Promise<{ status: number | null; stderr: string; error?: Error }>((resolve) => {
      const child = spawn('setpriv', [...args, '--builder', builder.url, '--data-dir', data], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', (error) => resolve({ status: null, stderr, error }));
      child.on('close', (status) => resolve({ status, stderr }));
    });
    if (run.error || process.getuid?.() !== 0) {
      if (process.env.CI) throw new Error(`setpriv is needed to run as another user: ${run.error}`);
      console.warn('Skipping the unwritable data directory test: it needs root and setpriv');
      context.skip();
      return;
    }
    expect(run.stderr).toContain('E_DATA_DIR_UNWRITABLE');
    expect(run.stderr).not.toContain('E_INTERNAL');
    expect(run.status).toBe(2);
    expect(await readdir(data)).toEqual([]);
  });
});

describe('browser mode on a read-only data directory', () => {
  it('fails the build with E_DATA_DIR_READ_ONLY and keeps answering', async (context) => {
    const disk = await mountSmallDisk(1024 * 1024, { readOnly: true });
    if (!disk) {
      context.skip();
      return;
    }
    const served = await serveSlipway(['--data-dir', disk.path, '--builder', builder.url]);
    try {
      const api = async (name: string, input: unknown = {}) => {
        const response = await fetch(`${served.origin}/api/${name}`, {
          method: 'POST',
          headers: { 'x-slipway-token': served.token, 'content-type': 'application/json' },
          body: JSON.stringify(input),
        });
        return (await response.json()) as { result?: unknown; error?: { code: string } };
      };
      const opened = (await api('project.open', { path: project.path })).result as { id: string };
      const started = (await api('build.start', { projectId: opened.id })).result as { buildId: string };
      expect(started.buildId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
      // The build failed before any task ran; the server is still there to say so.
      for (let tries = 0; tries < 50; tries++) {
        const info = await api('app.info');
        expect(info.result).toMatchObject({ mode: 'browser' });
        if ((await api('build.get', { buildId: started.buildId })).error) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await api('history.list')).result).toEqual([]);
      expect(await readdir(disk.path)).toEqual([]);
    } finally {
      await served.stop();
      await disk.cleanup();
    }
  });
});

describe('numbers on the command line', () => {
  it('refuses probe --samples 100000 at once instead of probing for minutes', async () => {
    const run = await runCli(['probe', '--builder', builder.url, '--samples', '100000']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--samples takes a whole number from 1 to 50');
  });

  for (const [option, value] of [
    ['--concurrency', '0x10'],
    ['--concurrency', '1e1'],
    ['--silence-timeout', '1.5'],
  ]) {
    it(`refuses build ${option} ${value}`, async () => {
      const data = await temp('slipway-numbers-');
      const run = await build(data, option as string, value as string);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`E_BAD_INPUT: ${option} takes a whole number`);
    });
  }

  it('refuses logs --from 0x10 and serve --port 1e1', async () => {
    expect((await runCli(['logs', 'x', '--from', '0x10'])).stderr).toContain('--from takes a whole number');
    expect((await runCli(['serve', '--no-open', '--port', '1e1'])).stderr).toContain('--port takes a whole number');
  });

  it('refuses --data-dir "" instead of writing into the current folder', async () => {
    const here = await temp('slipway-cwd-');
    const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;
    const run = spawnSync(process.execPath, [bin, 'build', project.path, '--builder', builder.url, '--data-dir', ''], {
      cwd: here,
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--data-dir is empty');
    expect(await readdir(here)).toEqual([]);
  });
});

describe('build args whose names look secret', () => {
  it('are sent to the builder but masked in build.json and in events', async () => {
    const data = await temp('slipway-masked-');
    const opened = await openProject(project.path);
    const session = new BuildSession({
      dataDir: data,
      project: opened,
      endpoint: { region: 'local', url: builder.url },
      buildArgs: { NPM_TOKEN: 'npm_s3cret', db_password: 'hunter2', Api_Key: 'k3y', VERSION: '1.2.3' },
    });
    const events: SlipwayEvent[] = [];
    session.on('event', (event) => events.push(event));
    const finished = await session.run();
    expect(finished.status).toBe('succeeded');
    const sent = JSON.parse((builder.captures.at(-1)?.query.get('buildargs') as string) ?? '{}');
    expect(sent).toEqual({ NPM_TOKEN: 'npm_s3cret', db_password: 'hunter2', Api_Key: 'k3y', VERSION: '1.2.3' });
    const text = await readFile(join(session.directory, 'build.json'), 'utf8');
    const saved = JSON.parse(text) as Build;
    expect(saved.tasks[0]?.task.buildArgs).toEqual({
      NPM_TOKEN: '********',
      db_password: '********',
      Api_Key: '********',
      VERSION: '1.2.3',
    });
    for (const secret of ['npm_s3cret', 'hunter2', 'k3y']) {
      expect(text).not.toContain(secret);
      expect(JSON.stringify(events)).not.toContain(secret);
    }
  });
});

describe('the process guard of browser mode', () => {
  it('records the running build as failed on an unhandled rejection, and the server lives on', async () => {
    const data = await temp('slipway-guard-');
    const renderer = await temp('slipway-renderer-');
    const drip = await startFakeFaultBuilder('drip');
    const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test', builderUrl: drip.url });
    // Vitest's own listener would report the rejection as a failed run: it steps aside while the
    // server's guard is the only one listening, as it is in `slipway serve`.
    const theirs = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    const server = await startBrowserServer(engine, { rendererDir: renderer });
    try {
      const finished = new Promise<SlipwayEvent>((resolve) =>
        engine.on('event', (event) => event.type === 'build.finished' && resolve(event)),
      );
      const opened = await engine.call('project.open', { path: project.path });
      const { buildId } = await engine.call('build.start', { projectId: opened.id });
      while ((await engine.call('build.get', { buildId })).tasks[0]?.state.phase !== 'building') {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      void Promise.reject(new Error('a fault nobody handled'));
      expect(await finished).toMatchObject({ status: 'failed', error: { code: 'E_INTERNAL' } });
      const saved = JSON.parse(await readFile(join(buildDir(data, buildId), 'build.json'), 'utf8')) as Build;
      expect(saved.status).toBe('failed');
      expect(saved.error?.message).toContain('a fault nobody handled');
      expect(await engine.call('app.info', {})).toMatchObject({ mode: 'browser' });
    } finally {
      await engine.close();
      await server.close();
      for (const listener of theirs) process.on('unhandledRejection', listener);
      await drip.close();
    }
  });
});
