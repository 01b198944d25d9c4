import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli } from '../support/cli';
import { engineUrl } from '../support/engine';
import { BUSYBOX, tempDir } from '../support/fixtures';

const url = engineUrl();
const DRIP_LINES = 120;
const dripDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "i=0; while [ $i -lt ${DRIP_LINES} ]; do echo \\"drip line $i\\"; /bin/busybox sleep 0.02; i=$((i+1)); done"]
`;

async function waitForBuildId(dataDir: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [id] = await readdir(join(dataDir, 'builds')).catch(() => [] as string[]);
    if (id) return id;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no build folder appeared');
}

const jsonLines = (run: CliRun) =>
  run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { line: number; text: string });

describe.skipIf(!url)('slipway logs and history on a real build', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let project: Awaited<ReturnType<typeof tempDir>>;
  let buildId = '';
  let followed: CliRun;
  let built: CliRun;

  beforeAll(async () => {
    data = await tempDir('slipway-data-');
    project = await tempDir('slipway-drip-');
    await writeFile(join(project.path, 'Dockerfile'), dripDockerfile);
    await copyFile(BUSYBOX, join(project.path, 'busybox'));
    const building = runCli(['build', project.path, '--builder', url, '--data-dir', data.path]);
    buildId = await waitForBuildId(data.path);
    // Follow from while the build runs until it ends.
    followed = await runCli(['logs', buildId, '--follow', '--json', '--data-dir', data.path]);
    built = await building;
  });
  afterAll(async () => {
    await Promise.all([data.cleanup(), project.cleanup()]);
  });

  it('follows a running build line by line and stops when the task ends', async () => {
    expect(built.code).toBe(0);
    expect(followed.code).toBe(0);
    const lines = jsonLines(followed);
    expect(lines.map((line) => line.line)).toEqual(lines.map((_, i) => i));
    const drips = lines.filter((line) => line.text.startsWith('drip line')).map((line) => line.text);
    expect(drips).toEqual(Array.from({ length: DRIP_LINES }, (_, i) => `drip line ${i}`));
    const whole = await runCli(['logs', buildId, '--json', '--data-dir', data.path]);
    expect(jsonLines(whole)).toEqual(lines);
  });

  it('starts at --from N and prints only the lines --grep finds, after their numbers', async () => {
    const whole = (await runCli(['logs', buildId, '--data-dir', data.path])).stdout.trim().split('\n');
    const from = await runCli(['logs', buildId, '--from', '10', '--data-dir', data.path]);
    expect(from.stdout.trim().split('\n')).toEqual(whole.slice(10));

    const grep = await runCli(['logs', buildId, '--grep', 'drip line 11', '--data-dir', data.path]);
    const expected = whole.flatMap((text, i) => (text.includes('drip line 11') ? [`${i}:${text}`] : []));
    expect(grep.stdout.trim().split('\n')).toEqual(expected);
    expect(expected).toHaveLength(1 + 10);

    const regex = await runCli(['logs', buildId, '--grep', 'line 1\\d$', '--regex', '--data-dir', data.path]);
    expect(regex.stdout.trim().split('\n')).toHaveLength(10);
  });

  it('names the build or task it cannot find, with exit 2', async () => {
    const task = await runCli(['logs', buildId, '--task', 'nope', '--data-dir', data.path]);
    expect(task.code).toBe(2);
    expect(task.stderr).toContain('has no task nope; its tasks: main');
    const build = await runCli(['logs', '20200101-000000-000000', '--data-dir', data.path]);
    expect(build.code).toBe(2);
    expect(build.stderr).toContain(join(data.path, 'builds'));
  });

  it('lists the build in history, as text and as JSON', async () => {
    const text = await runCli(['history', '--data-dir', data.path]);
    expect(text.stdout).toContain(buildId);
    expect(text.stdout).toContain('succeeded');
    const json = JSON.parse((await runCli(['history', '--json', '--data-dir', data.path])).stdout);
    expect(json).toMatchObject([{ id: buildId, status: 'succeeded', tasks: [{ id: 'main', phase: 'done' }] }]);
  });
});
