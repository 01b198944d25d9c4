import { spawn } from 'node:child_process';
import { copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl } from '../support/engine';
import { BUSYBOX, tempDir } from '../support/fixtures';

const url = engineUrl();
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;

/** Lines the RUN step prints, each in two writes with a pause between, so a kill can land mid-line. */
const DRIP_LINES = 3000;
const dripDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "i=0; while [ $i -lt ${DRIP_LINES} ]; do echo -n \\"drip line $i\\"; /bin/busybox sleep 0.01; echo ' end'; i=$((i+1)); done"]
`;

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

describe.skipIf(!url)('a build cut off by SIGKILL', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let project: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    data = await tempDir('slipway-data-');
    project = await tempDir('slipway-drip-');
    await writeFile(join(project.path, 'Dockerfile'), dripDockerfile);
    await copyFile(BUSYBOX, join(project.path, 'busybox'));
  });
  afterAll(async () => {
    await Promise.all([data.cleanup(), project.cleanup()]);
  });

  it('shows as interrupted at the next start, its log readable up to the last complete line', async () => {
    const child = spawn(process.execPath, [bin, 'build', project.path, '--builder', url, '--data-dir', data.path], {
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const buildsDir = join(data.path, 'builds');
    const buildId = await waitFor('the build folder', async () => (await readdir(buildsDir))[0] ?? null);
    const indexFile = join(buildsDir, buildId, 'main.idx');
    // Kill once the RUN step has dripped a good number of lines: mid-log, not at a step boundary.
    await waitFor('40 drip lines', async () => ((await stat(indexFile)).size >= (40 + 6) * 8 ? true : null));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const before = JSON.parse(await readFile(join(buildsDir, buildId, 'build.json'), 'utf8'));
    expect(before.status).toBe('running');

    const history = await runCli(['history', '--json', '--data-dir', data.path]);
    expect(history.code).toBe(0);
    const builds = JSON.parse(history.stdout) as { id: string; status: string; tasks: { phase: string }[] }[];
    expect(builds).toHaveLength(1);
    expect(builds[0]?.id).toBe(buildId);
    expect(builds[0]?.status).toBe('interrupted');
    expect(builds[0]?.tasks[0]?.phase).toBe('failed');

    const logs = await runCli(['logs', buildId, '--json', '--data-dir', data.path]);
    expect(logs.code).toBe(0);
    const lines = logs.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { line: number; text: string });
    expect(lines.map((line) => line.line)).toEqual(lines.map((_, i) => i));
    expect(lines.map((line) => line.text)).toContain(
      'STEP 3/3: RUN ["/bin/busybox", "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo -n \\"drip line $i\\"; /bin/busybox sleep 0.01; echo \' end\'; i=$((i+1)); done"]',
    );
    const drips = lines.filter((line) => line.text.startsWith('drip line'));
    expect(drips.length).toBeGreaterThanOrEqual(40);
    expect(drips.length).toBeLessThan(DRIP_LINES);
    // Every line read back is whole, and none is missing up to the last one.
    expect(drips.map((line) => line.text)).toEqual(drips.map((_, i) => `drip line ${i} end`));

    // The spool on disk was cut back to that same last complete line.
    const text = await readFile(join(buildsDir, buildId, 'main.log'), 'utf8');
    expect(text.endsWith(`drip line ${drips.length - 1} end\n`)).toBe(true);
    expect((await stat(indexFile)).size).toBe(lines.length * 8);
    const record = JSON.parse(await readFile(join(buildsDir, buildId, 'build.json'), 'utf8'));
    expect(record.tasks[0].logLines).toBe(lines.length);
    expect(record.tasks[0].state.error.code).toBe('E_INTERRUPTED');
  });
});
