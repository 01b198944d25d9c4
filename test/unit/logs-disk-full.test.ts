import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerBuildParser } from '../../src/core/logs/docker-parser';
import { readLines } from '../../src/core/logs/reader';
import { SpoolWriter } from '../../src/core/logs/spool';
import { SlipwayError } from '../../src/shared/errors';
import { tellInto } from '../support/spool-records';
import { mountSmallDisk } from '../support/tmpfs';

describe('a full disk while spooling', () => {
  it('fails with E_SPOOL_DISK_FULL naming the folder, and what was written stays readable', async (context) => {
    const disk = await mountSmallDisk(256 * 1024);
    if (!disk) {
      context.skip();
      return;
    }
    try {
      const buildDir = join(disk.path, 'builds', '20261126-120000-full00');
      const spool = await SpoolWriter.open(buildDir, 'web');
      const written: string[] = [];
      let failure: unknown = null;
      for (let batch = 0; batch < 1000 && !failure; batch++) {
        const lines = Array.from({ length: 50 }, (_, i) => `batch ${batch} line ${i} ${'\u2588'.repeat(40)}`);
        try {
          await spool.write(lines.map((text) => ({ text, flags: 0 })));
          written.push(...lines);
        } catch (error) {
          failure = error;
          written.push(...lines);
        }
      }
      await spool.close().catch(() => undefined);
      expect(failure).toBeInstanceOf(SlipwayError);
      expect((failure as SlipwayError).code).toBe('E_SPOOL_DISK_FULL');
      expect((failure as SlipwayError).message).toContain(buildDir);

      const window = await readLines(buildDir, 'web', 0, 5000);
      expect(window.totalLines).toBeGreaterThan(100);
      // Every line it reads back is whole and in order: a prefix of what was sent.
      expect(window.lines).toEqual(written.slice(0, window.lines.length));
    } finally {
      await disk.cleanup();
    }
  });

  // Lines one by one, and runs of plain lines as the Docker parser makes them (their bytes stored as they are).
  for (const [written, asRuns] of [
    ['one by one', false],
    ['as runs', true],
  ] as const) {
    it(`counts and reports only the lines the disk took (written ${written}): logLines matches the files, nothing unstored is shown`, async (context) => {
      const disk = await mountSmallDisk(256 * 1024);
      if (!disk) {
        context.skip();
        return;
      }
      try {
        const buildDir = join(disk.path, 'builds', '20261126-120000-full01');
        const reported: string[] = [];
        const spool = await SpoolWriter.open(buildDir, 'web', tellInto(reported));
        const parser = new DockerBuildParser(undefined, { lineRuns: true });
        let queued = 0;
        for (let batch = 0; batch < 1000; batch++) {
          const lines = Array.from({ length: 50 }, (_, i) => ({
            text: `batch ${batch} line ${i} ${'x'.repeat(60)}`,
            flags: 0,
          }));
          queued += lines.length;
          const messages = lines.map((line) => `${JSON.stringify({ stream: `${line.text}\n` })}\r\n`).join('');
          const [record] = asRuns ? parser.push(Buffer.from(messages)) : [];
          if (asRuns) expect(record?.kind).toBe('run');
          const written = record?.kind === 'run' ? spool.writeRun(record.run) : spool.write(lines);
          const failed = await written.then(
            () => false,
            () => true,
          );
          if (failed) break;
        }
        await expect(spool.close()).rejects.toMatchObject({ code: 'E_SPOOL_DISK_FULL' });
        const onDisk = await readLines(buildDir, 'web', 0, 100_000);
        // More was handed to the spool than the disk took; the count and the lines shown are the disk's.
        expect(queued).toBeGreaterThan(onDisk.totalLines);
        expect(spool.lines).toBe(onDisk.totalLines);
        expect(reported).toEqual(onDisk.lines);
      } finally {
        await disk.cleanup();
      }
    });
  }
});
