import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl } from '../support/engine';
import { BUSYBOX, tempDir } from '../support/fixtures';
import { mountSmallDisk } from '../support/tmpfs';

const url = engineUrl();

/** About 1.5 MiB of output: more than the 256 KiB disk the logs are kept on. */
const noisyDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "i=0; while [ $i -lt 25000 ]; do echo \\"noise line $i 0123456789 abcdefghijklmnopqrstuvwxyz\\"; i=$((i+1)); done"]
`;

describe.skipIf(!url)('slipway build when the disk holding the logs fills up', () => {
  let project: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    project = await tempDir('slipway-noisy-');
    await writeFile(join(project.path, 'Dockerfile'), noisyDockerfile);
    await copyFile(BUSYBOX, join(project.path, 'busybox'));
  });
  afterAll(() => project.cleanup());

  it('fails the task with E_SPOOL_DISK_FULL naming the folder, and the log written so far reads back', async (context) => {
    const disk = await mountSmallDisk(256 * 1024);
    if (!disk) {
      context.skip();
      return;
    }
    try {
      const run = await runCli(['build', project.path, '--builder', url, '--data-dir', disk.path]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('E_SPOOL_DISK_FULL');
      const [buildId] = await readdir(join(disk.path, 'builds'));
      expect(run.stderr).toContain(join(disk.path, 'builds', buildId as string));

      const record = JSON.parse(await readFile(join(disk.path, 'builds', buildId as string, 'build.json'), 'utf8'));
      expect(record.status).toBe('failed');
      expect(record.tasks[0].state.error.code).toBe('E_SPOOL_DISK_FULL');

      const logs = await runCli(['logs', buildId as string, '--data-dir', disk.path]);
      expect(logs.code).toBe(0);
      const lines = logs.stdout.trim().split('\n');
      const noise = lines.filter((line) => line.startsWith('noise line'));
      expect(noise.length).toBeGreaterThan(100);
      expect(noise).toEqual(noise.map((_, i) => `noise line ${i} 0123456789 abcdefghijklmnopqrstuvwxyz`));
      // build.json counts the lines on disk, and the build printed exactly those: none it never stored.
      expect(record.tasks[0].logLines).toBe(lines.length);
      expect(run.stdout.trim().split('\n')).toEqual(lines);
    } finally {
      await disk.cleanup();
    }
  });
});
