import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Build } from '../../src/shared/domain';
import { type CliRun, runCli } from '../support/cli';
import { type FakeFaultBuilder, startFakeFaultBuilder } from '../support/fake-fault-builder';
import { tempDir } from '../support/fixtures';

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Waited in vain for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const SLIPWAY = new URL('../../bin/slipway.js', import.meta.url).pathname;

const scanFolders = async (tmp: string) => (await readdir(tmp)).filter((name) => name.startsWith('slipway-scan-'));

describe('the CLI under Ctrl-C, a reader gone away and a file given for a folder', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let silent: FakeFaultBuilder;
  let drip: FakeFaultBuilder;
  let project: string;
  beforeAll(async () => {
    work = await tempDir('slipway-interrupt-');
    silent = await startFakeFaultBuilder('no-answer');
    drip = await startFakeFaultBuilder('drip');
    project = join(work.path, 'project');
    await mkdir(project);
    await writeFile(join(project, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(project, 'payload.txt'), 'x'.repeat(100_000));
  });
  afterAll(async () => {
    await Promise.all([silent.close(), drip.close()]);
    await work.cleanup();
  });

  /** Runs `slipway build` with a TMPDIR of its own; `interrupt` sends the signals once it is ready. */
  async function buildInterrupted(
    name: string,
    builder: string,
    interrupt: (pid: number, tmp: string, data: string) => Promise<void>,
  ): Promise<{ run: CliRun; tmp: string; data: string }> {
    const tmp = join(work.path, `${name}-tmp`);
    const data = join(work.path, `${name}-data`);
    await mkdir(tmp);
    let pid = 0;
    const running = runCli(['build', project, '--builder', builder, '--data-dir', data], {
      env: { TMPDIR: tmp },
      onSpawn: (child) => {
        pid = child;
      },
    });
    await interrupt(pid, tmp, data);
    return { run: await running, tmp, data };
  }

  it('before the probe has answered: exits 130 at once, nothing left in TMPDIR, no stack trace', async () => {
    const { run, tmp } = await buildInterrupted('probe', silent.url, async (pid, tmp) => {
      // The scans start beside the probe, which the silent builder never answers.
      await until(async () => (await scanFolders(tmp)).length > 0, 'the scan folder');
      process.kill(pid, 'SIGINT');
    });
    expect(run.code).toBe(130);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('twice during the build: exits 130 with the build recorded cancelled and no temporary record left', async () => {
    const { run, data, tmp } = await buildInterrupted('twice', drip.url, async (pid, _tmp, data) => {
      await until(async () => {
        const builds = await readdir(join(data, 'builds')).catch(() => []);
        if (builds.length === 0) return false;
        const text = await readFile(join(data, 'builds', builds[0] as string, 'build.json'), 'utf8').catch(() => '');
        return text.includes('"building"');
      }, 'the building phase');
      process.kill(pid, 'SIGINT');
      process.kill(pid, 'SIGINT');
    });
    expect(run.code).toBe(130);
    const [buildId] = await readdir(join(data, 'builds'));
    const folder = join(data, 'builds', buildId as string);
    const build = JSON.parse(await readFile(join(folder, 'build.json'), 'utf8')) as Build;
    expect(build.status).toBe('cancelled');
    expect(build.tasks.map((task) => task.state.phase)).toEqual(['cancelled']);
    expect((await readdir(folder)).filter((name) => name.endsWith('.tmp') || name === 'owner.json')).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('ends quietly when the reader of its output goes away (inspect | head)', async () => {
    const child = spawn(process.execPath, [SLIPWAY, 'inspect', project], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The read end closes before the CLI has written anything: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'close')) as [number | null];
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('refuses a file given as the project folder with E_PROJECT_NOT_A_FOLDER, naming it', async () => {
    const file = join(project, 'Dockerfile');
    const run = await runCli(['build', file, '--builder', drip.url, '--data-dir', join(work.path, 'file-data')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error E_PROJECT_NOT_A_FOLDER: Not a folder: ${file}`);
  });

  it('removes at start the scan folders of processes that died, and only those', async () => {
    const tmp = join(work.path, 'stale-tmp');
    await mkdir(tmp);
    const dead = join(tmp, 'slipway-scan-999999999-0a1b2c');
    const live = join(tmp, `slipway-scan-${process.pid}-3d4e5f`);
    for (const folder of [dead, live]) {
      await mkdir(folder);
      await writeFile(join(folder, 'scan.spool'), 'left behind');
    }
    const run = await runCli(['inspect', project], { env: { TMPDIR: tmp } });
    expect(run.code).toBe(0);
    expect(await readdir(tmp)).toEqual([`slipway-scan-${process.pid}-3d4e5f`]);
  });
});
