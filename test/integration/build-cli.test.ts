import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl, imageExists } from '../support/engine';
import { startFakeSinkBuilder } from '../support/fake-sink-builder';
import { fixture, tempDir } from '../support/fixtures';

const url = engineUrl();

async function spooledLog(dataDir: string): Promise<string> {
  const [buildId] = await readdir(join(dataDir, 'builds'));
  return readFile(join(dataDir, 'builds', buildId as string, 'main.log'), 'utf8');
}

describe.skipIf(!url)('slipway build on a real engine', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    data = await tempDir('slipway-data-');
  });
  afterAll(() => data.cleanup());

  it('builds a FROM scratch image with COPY and RUN, tags it, spools the step lines, and leaves no scan spool', async () => {
    const project = await fixture('single');
    const dataDir = join(data.path, 'ok');
    // The scan's spool goes to TMPDIR: a folder of this test's own shows what the build left there.
    const ownTmp = join(data.path, 'tmp');
    await mkdir(ownTmp);
    const run = await runCli(
      ['build', project.path, '--builder', url, '--tag', 'slipway-test/single:1', '--data-dir', dataDir],
      { env: { TMPDIR: ownTmp } },
    );
    await project.cleanup();
    expect(await readdir(ownTmp)).toEqual([]);
    expect(run.stderr).toContain('done in');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('STEP 4/4: RUN');
    expect(run.stdout).toContain('greeting: hello from the fixture');
    expect(run.stdout).toContain('.dockerignore');
    expect(run.stdout).not.toContain('ignored.log');
    expect(await imageExists(url, 'slipway-test/single:1')).toBe(true);
    const log = await spooledLog(dataDir);
    expect(log).toContain('STEP 1/4: FROM scratch');
    expect(log).toContain('STEP 3/4: COPY . /ctx/');
    expect(log).toContain('greeting: hello from the fixture');
  });

  it('exits 1 on a failing RUN, with the engine error in the output, the spool and the --json events', async () => {
    const project = await fixture('failing');
    const dataDir = join(data.path, 'failing');
    const run = await runCli(['build', project.path, '--builder', url, '--json', '--data-dir', dataDir]);
    await project.cleanup();
    expect(run.code).toBe(1);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; [key: string]: unknown });
    const finished = events.find((event) => event.type === 'build.finished') as unknown as {
      status: string;
      error: { code: string; message: string };
    };
    expect(finished.status).toBe('failed');
    expect(finished.error.code).toBe('E_BUILD_FAILED');
    expect(finished.error.message).toContain('exit status 3');
    const lines = events.filter((event) => event.type === 'task.line').map((event) => event.text);
    expect(lines).toContain('about to fail');
    const log = await spooledLog(dataDir);
    expect(log).toContain('about to fail');
    expect(log).toContain('exit status 3');
    expect(log).toContain('E_BUILD_FAILED');
  });
});

describe('slipway build refuses bad input with exit 2 and leaves nothing behind', () => {
  it('names a folder that does not exist', async () => {
    const data = await tempDir();
    const missing = join(data.path, 'no-such-project');
    const run = await runCli(['build', missing, '--data-dir', join(data.path, 'data')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('E_PROJECT_NOT_FOUND');
    expect(run.stderr).toContain(missing);
    expect(await readdir(data.path)).toEqual([]);
    await data.cleanup();
  });

  it('names the folder that has no Dockerfile', async () => {
    const data = await tempDir();
    await writeFile(join(data.path, 'README'), 'no Dockerfile here');
    const run = await runCli(['build', data.path, '--data-dir', join(data.path, 'data')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('E_NO_DOCKERFILE');
    expect(run.stderr).toContain(data.path);
    expect(await readdir(data.path)).toEqual(['README']);
    await data.cleanup();
  });

  it('names a builder URL nobody answers at', async () => {
    const project = await fixture('single');
    const data = await tempDir();
    const run = await runCli([
      'build',
      project.path,
      '--builder',
      'tcp://127.0.0.1:9',
      '--data-dir',
      join(data.path, 'data'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('E_BUILDER_UNREACHABLE');
    expect(run.stderr).toContain('tcp://127.0.0.1:9');
    expect(await readdir(data.path)).toEqual([]);
    const socketRun = await runCli([
      'build',
      project.path,
      '--builder',
      `unix://${data.path}/none.sock`,
      '--json',
      '--data-dir',
      join(data.path, 'data'),
    ]);
    expect(socketRun.code).toBe(2);
    expect(JSON.parse(socketRun.stdout.trim()).error.code).toBe('E_BUILDER_UNREACHABLE');
    expect(socketRun.stderr).toContain(`${data.path}/none.sock`);
    expect(await readdir(data.path)).toEqual([]);
    await Promise.all([project.cleanup(), data.cleanup()]);
  });
});

describe('memory stays flat whatever the context size', () => {
  it('streams a 1 GiB context to a (fake, discarding) builder with the CLI under 80 MB of RSS', async () => {
    const project = await tempDir('slipway-1gib-');
    await writeFile(join(project.path, 'Dockerfile'), 'FROM scratch\nCOPY big.bin /big.bin\n');
    await writeFile(join(project.path, 'big.bin'), '');
    await truncate(join(project.path, 'big.bin'), 1024 ** 3);
    const data = await tempDir('slipway-data-');
    const sink = await startFakeSinkBuilder();
    try {
      const run = await runCli(['build', project.path, '--builder', sink.url, '--data-dir', data.path]);
      expect(run.stderr).toContain('done in');
      expect(run.code).toBe(0);
      expect(sink.received).toHaveLength(1);
      expect(sink.received[0]).toBeGreaterThan(1024 ** 3);
      expect(run.stdout).toContain(`fake sink received ${sink.received[0]} bytes`);
      console.log(`1 GiB upload: CLI peak RSS ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
      expect(run.peakRssBytes).toBeGreaterThan(0);
      // Issue #18's bound: no worker for a context of two files, the archive's chunks reused.
      expect(run.peakRssBytes).toBeLessThan(80 * 1024 * 1024);
    } finally {
      await sink.close();
      await Promise.all([project.cleanup(), data.cleanup()]);
    }
  });
});
