import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildRecordWriter } from '../../src/core/builds/build-store';
import type { Build } from '../../src/shared/domain';
import { mountSmallDisk } from '../support/tmpfs';

const build = (status: Build['status']): Build => ({
  id: '20261126-120000-full00',
  projectPath: '/projects/shop',
  target: { name: 'default', kind: 'docker', endpoints: [{ region: 'local', url: 'unix:///run/podman.sock' }] },
  region: 'local',
  reason: 'the local engine',
  startedAt: '2026-11-26T12:00:00.000Z',
  finishedAt: status === 'running' ? null : '2026-11-26T12:01:00.000Z',
  status,
  tasks: [],
  error: status === 'failed' ? { code: 'E_SPOOL_DISK_FULL', message: 'The disk is full' } : null,
});

describe('the build record on a full disk', () => {
  it('still takes the final status, written over the old record when no temp file fits', async (context) => {
    const disk = await mountSmallDisk(64 * 1024);
    if (!disk) {
      context.skip();
      return;
    }
    try {
      const directory = join(disk.path, 'builds', '20261126-120000-full00');
      const writer = new BuildRecordWriter(directory);
      await writer.save(build('running'));
      // Fill every last block.
      const filler = join(disk.path, 'filler');
      await writeFile(filler, Buffer.alloc(256 * 1024)).catch((error: NodeJS.ErrnoException) => {
        expect(error.code).toBe('ENOSPC');
      });
      await expect(writeFile(join(disk.path, 'probe'), 'x'.repeat(8192))).rejects.toMatchObject({ code: 'ENOSPC' });
      await writer.save(build('failed'));
      const saved = JSON.parse(await readFile(join(directory, 'build.json'), 'utf8'));
      expect(saved.status).toBe('failed');
      expect(saved.error.code).toBe('E_SPOOL_DISK_FULL');
      expect(await readdir(directory)).toEqual(['build.json']);
    } finally {
      await disk.cleanup();
    }
  });
});
