import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildRecordWriter, buildDir } from '../../src/core/builds/build-store';
import { deleteBuild, enforceQuota, listHistory, recoverInterrupted } from '../../src/core/builds/history';
import { readLines } from '../../src/core/logs/reader';
import { SpoolWriter } from '../../src/core/logs/spool';
import type { BuildStatus } from '../../src/shared/domain';
import { tempDir } from '../support/fixtures';
import { buildRecord } from '../support/records';

const MIB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function dataDir(): Promise<string> {
  const made = await tempDir('slipway-data-');
  cleanups.push(made.cleanup);
  return made.path;
}

const record = buildRecord;

/** A build saved as its session saves it; a running one is owned by `ownerPid`. */
async function saveBuild(data: string, id: string, status: BuildStatus, ownerPid = process.pid): Promise<void> {
  const directory = buildDir(data, id);
  await new BuildRecordWriter(directory).save(record(id, status));
  if (status === 'running')
    await writeFile(join(directory, 'owner.json'), JSON.stringify({ pid: ownerPid, host: 'h' }));
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid as number;
}

describe('build history', () => {
  it('lists builds newest first, each with its id, status and tasks', async () => {
    const data = await dataDir();
    await saveBuild(data, '20261126-100000-aaaaaa', 'succeeded');
    await saveBuild(data, '20261126-120000-cccccc', 'failed');
    await saveBuild(data, '20261126-110000-bbbbbb', 'cancelled');
    await mkdir(join(data, 'builds', 'not-a-build'), { recursive: true });
    const builds = await listHistory(data);
    expect(builds.map((build) => build.id)).toEqual([
      '20261126-120000-cccccc',
      '20261126-110000-bbbbbb',
      '20261126-100000-aaaaaa',
    ]);
    expect(builds[0]).toMatchObject({ status: 'failed', durationMs: 60_000, tasks: [{ id: 'web', phase: 'done' }] });
  });

  it('writes build.json by renaming a whole file into place, leaving no temp file', async () => {
    const data = await dataDir();
    await saveBuild(data, '20261126-100000-aaaaaa', 'succeeded');
    expect(await readdir(buildDir(data, '20261126-100000-aaaaaa'))).toEqual(['build.json']);
  });

  it('marks a build whose process died interrupted, its log cut to the last complete line, and leaves live ones', async () => {
    const data = await dataDir();
    await saveBuild(data, '20261126-100000-dead00', 'running', deadPid());
    await saveBuild(data, '20261126-110000-alive0', 'running', process.pid);
    const spool = await SpoolWriter.open(buildDir(data, '20261126-100000-dead00'), 'web');
    await spool.write([
      { text: 'STEP 1/3: FROM scratch', flags: 0 },
      { text: 'compiling', flags: 0 },
    ]);
    spool.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writeFile(
      join(buildDir(data, '20261126-100000-dead00'), 'web.log'),
      'STEP 1/3: FROM scratch\ncompiling\nhalf a li',
      {
        flag: 'w',
      },
    );

    await writeFile(join(buildDir(data, '20261126-100000-dead00'), '.build.json.4242.tmp'), '{"id":');
    expect(await recoverInterrupted(data)).toEqual(['20261126-100000-dead00']);
    const [alive, dead] = await listHistory(data);
    expect(alive?.status).toBe('running');
    expect(dead?.status).toBe('interrupted');
    expect(dead?.tasks[0]?.phase).toBe('failed');
    const saved = JSON.parse(await readFile(join(buildDir(data, '20261126-100000-dead00'), 'build.json'), 'utf8'));
    expect(saved.tasks[0].state.error.code).toBe('E_INTERRUPTED');
    expect(saved.tasks[0].logLines).toBe(2);
    expect((await readLines(buildDir(data, '20261126-100000-dead00'), 'web', 0, 10)).lines).toEqual([
      'STEP 1/3: FROM scratch',
      'compiling',
    ]);
    expect(await readdir(buildDir(data, '20261126-100000-dead00'))).toEqual([
      'build.json',
      'web.idx',
      'web.log',
      'web.steps',
      'web.times',
    ]);
    // Once is enough: the next start finds nothing to do.
    expect(await recoverInterrupted(data)).toEqual([]);
  });

  it('deletes a build and its logs, but refuses one still running', async () => {
    const data = await dataDir();
    await saveBuild(data, '20261126-100000-aaaaaa', 'succeeded');
    await saveBuild(data, '20261126-110000-alive0', 'running');
    expect(await deleteBuild(data, '20261126-100000-aaaaaa')).toEqual({ deleted: true });
    expect(await deleteBuild(data, '20261126-100000-aaaaaa')).toEqual({ deleted: false });
    await expect(deleteBuild(data, '20261126-110000-alive0')).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    await expect(deleteBuild(data, '../settings')).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    expect((await listHistory(data)).map((build) => build.id)).toEqual(['20261126-110000-alive0']);
  });
});

describe('the history quota', () => {
  it('removes the oldest builds past the count, never a running one', async () => {
    const data = await dataDir();
    await saveBuild(data, '20261126-090000-alive0', 'running');
    for (const hour of ['10', '11', '12', '13']) await saveBuild(data, `20261126-${hour}0000-aaaaaa`, 'succeeded');
    const deleted = await enforceQuota(data, { maxBuilds: 3, maxBytes: 2 * 1024 ** 3 });
    expect(deleted).toEqual(['20261126-100000-aaaaaa', '20261126-110000-aaaaaa']);
    expect((await listHistory(data)).map((build) => build.id)).toEqual([
      '20261126-130000-aaaaaa',
      '20261126-120000-aaaaaa',
      '20261126-090000-alive0',
    ]);
  });

  it('removes the oldest builds until the rest fit in the bytes allowed', async () => {
    const data = await dataDir();
    for (const hour of ['10', '11', '12']) {
      const id = `20261126-${hour}0000-aaaaaa`;
      await saveBuild(data, id, 'succeeded');
      await writeFile(join(buildDir(data, id), 'web.log'), Buffer.alloc(400 * 1024, 'x'));
    }
    const deleted = await enforceQuota(data, { maxBuilds: 50, maxBytes: MIB });
    expect(deleted).toEqual(['20261126-100000-aaaaaa']);
    expect(await listHistory(data)).toHaveLength(2);
    // The newest build stays even when it alone is over the bytes allowed.
    await writeFile(join(buildDir(data, '20261126-120000-aaaaaa'), 'web.log'), Buffer.alloc(2 * MIB, 'x'));
    expect(await enforceQuota(data, { maxBuilds: 50, maxBytes: MIB })).toEqual(['20261126-110000-aaaaaa']);
    expect((await listHistory(data)).map((build) => build.id)).toEqual(['20261126-120000-aaaaaa']);
  });
});
