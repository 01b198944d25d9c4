import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildRecordWriter, buildDir, finalStatus, readBuild } from '../../src/core/builds/build-store';
import { applyHistoryQuota, enforceQuota, listHistory } from '../../src/core/builds/history';
import { BuildSession } from '../../src/core/builds/session';
import { dataDirError, resolveDataDir } from '../../src/core/data-dir';
import { Engine } from '../../src/core/engine';
import { readLines, readSteps } from '../../src/core/logs/reader';
import { indexPath, SpoolWriter, stepsPath } from '../../src/core/logs/spool';
import { defaultSettings, loadSettings, settingsPath } from '../../src/core/settings/settings-store';
import { parseRequest } from '../../src/shared/contract';
import type { Build, Project } from '../../src/shared/domain';
import { bounds, parseWholeNumber } from '../../src/shared/numbers';
import { tempDir } from '../support/fixtures';
import { buildRecord } from '../support/records';

const MIB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function dataDir(): Promise<string> {
  const made = await tempDir('slipway-faults-data-');
  cleanups.push(made.cleanup);
  return made.path;
}

const record = (id: string, status: Build['status'] = 'succeeded') => buildRecord(id, status);

const project: Project = {
  id: 'p1',
  path: '/projects/shop',
  name: 'shop',
  composeFile: null,
  tasks: [{ id: 'web', service: 'web', contextPath: '/projects/shop', dockerfile: 'Dockerfile' }],
  external: [],
};

describe('a settings.json that cannot be used', () => {
  it('is refused with E_SETTINGS_INVALID naming the file and the field, not read as NaN workers', async () => {
    const data = await dataDir();
    await writeFile(settingsPath(data), '{"concurrency":"x"}');
    const refusal = await loadSettings(data).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'E_SETTINGS_INVALID' });
    expect((refusal as Error).message).toContain(settingsPath(data));
    expect((refusal as Error).message).toContain('concurrency');
    expect((refusal as { hint?: string }).hint).toContain('Repair');
  });

  it('is repaired from the window: put aside as settings.json.bad-<time>, the defaults written, nothing deleted', async () => {
    const data = await dataDir();
    await writeFile(settingsPath(data), '{"concurrency":"x"}');
    const engine = new Engine({ dataDir: data, mode: 'browser', version: 'test' });
    await expect(engine.call('settings.get', {})).rejects.toMatchObject({ code: 'E_SETTINGS_INVALID' });
    const repaired = await engine.call('settings.repair', {});
    expect(repaired.settings).toEqual(defaultSettings());
    expect(repaired.keptAs).toMatch(/settings\.json\.bad-\d{8}T\d{6}Z$/);
    expect(await readFile(repaired.keptAs as string, 'utf8')).toBe('{"concurrency":"x"}');
    expect(await engine.call('settings.get', {})).toEqual(defaultSettings());
    // Valid settings are left alone by a second repair.
    expect(await engine.call('settings.repair', {})).toEqual({ settings: defaultSettings(), keptAs: null });
  });

  it('never lets a session with no workers report success', () => {
    expect(
      () =>
        new BuildSession({
          dataDir: '/nowhere',
          project,
          endpoint: { region: 'local', url: 'unix:///x.sock' },
          concurrency: Number.NaN,
        }),
    ).toThrow(/concurrency takes a whole number from 1 to 16/);
    const queued = record('20261126-100000-aaaaaa', 'running');
    queued.tasks[0] = { ...(queued.tasks[0] as Build['tasks'][number]), state: { phase: 'queued' } };
    expect(finalStatus(queued, false)).toMatchObject({ status: 'failed', error: { code: 'E_INTERNAL' } });
  });
});

describe('a quota that is not a number', () => {
  for (const quota of ['{"maxBytes":null}', '{"maxBuilds":"fifty"}', '{"maxBuilds":0}', '{"maxBytes":1024}']) {
    it(`deletes no build when settings.json says ${quota}`, async () => {
      const data = await dataDir();
      for (const hour of ['10', '11', '12']) {
        const id = `20261126-${hour}0000-aaaaaa`;
        await new BuildRecordWriter(buildDir(data, id)).save(record(id));
      }
      await writeFile(settingsPath(data), `{"quota":${quota}}`);
      await expect(applyHistoryQuota(data)).rejects.toMatchObject({ code: 'E_SETTINGS_INVALID' });
      expect(await readdir(join(data, 'builds'))).toHaveLength(3);
    });
  }

  it('deletes nothing when handed NaN directly', async () => {
    const data = await dataDir();
    for (const hour of ['10', '11']) {
      const id = `20261126-${hour}0000-aaaaaa`;
      await new BuildRecordWriter(buildDir(data, id)).save(record(id));
    }
    await expect(enforceQuota(data, { maxBuilds: Number.NaN, maxBytes: MIB })).rejects.toMatchObject({
      code: 'E_SETTINGS_INVALID',
    });
    expect(await readdir(join(data, 'builds'))).toHaveLength(2);
  });
});

describe('a damaged build.json', () => {
  it('shows in history as a damaged entry with a coded error, and the quota never deletes it', async () => {
    const data = await dataDir();
    const ids = [
      '20261126-100000-bad000',
      '20261126-110000-bad001',
      '20261126-120000-good00',
      '20261126-130000-good01',
    ];
    await mkdir(buildDir(data, ids[0] as string), { recursive: true });
    await writeFile(
      join(buildDir(data, ids[0] as string), 'build.json'),
      '{"id": "20261126-100000-bad000", "tasks": 3',
    );
    await mkdir(buildDir(data, ids[1] as string), { recursive: true });
    await writeFile(
      join(buildDir(data, ids[1] as string), 'build.json'),
      JSON.stringify({ ...record(ids[1] as string), tasks: [{ logLines: 'many' }] }),
    );
    for (const id of ids.slice(2)) await new BuildRecordWriter(buildDir(data, id)).save(record(id));

    const history = await listHistory(data);
    expect(history.map((entry) => [entry.id, entry.status])).toEqual([
      [ids[3], 'succeeded'],
      [ids[2], 'succeeded'],
      [ids[1], 'damaged'],
      [ids[0], 'damaged'],
    ]);
    expect(history[2]?.damage?.code).toBe('E_RECORD_DAMAGED');
    expect(history[2]?.damage?.message).toContain('tasks.0');
    expect(history[3]?.startedAt).toBe('2026-11-26T10:00:00.000Z');
    await expect(readBuild(data, ids[0] as string)).rejects.toMatchObject({ code: 'E_RECORD_DAMAGED' });

    // Two readable builds over a quota of one: the older readable one goes, the damaged ones stay.
    expect(await enforceQuota(data, { maxBuilds: 1, maxBytes: 2 * 1024 * MIB })).toEqual([ids[2]]);
    expect((await readdir(join(data, 'builds'))).sort()).toEqual([ids[0], ids[1], ids[3]]);
  });
});

describe('the log files read back', () => {
  it('refuses an index whose entries go backwards instead of reading garbage', async () => {
    const dir = await dataDir();
    const spool = await SpoolWriter.open(dir, 'web');
    await spool.write(['one', 'two', 'three'].map((text) => ({ text, flags: 0 })));
    await spool.close();
    const index = await readFile(indexPath(dir, 'web'));
    index.writeUInt32LE(2, 8); // line 1 now "ends" before line 0 does
    await writeFile(indexPath(dir, 'web'), index);
    await expect(readLines(dir, 'web', 0, 10)).rejects.toMatchObject({ code: 'E_RECORD_DAMAGED' });
  });

  it('refuses a steps file with a record that is not a step, but skips a torn last one', async () => {
    const dir = await dataDir();
    const spool = await SpoolWriter.open(dir, 'web');
    await spool.write([{ text: 'Step 1/2', flags: 0 }]);
    await spool.close();
    await writeFile(stepsPath(dir, 'web'), '{"step":1,"steps":2,"line":0,"atMs":5,"text":"Step 1/2"}\n{"step":"x"}\n');
    await expect(readSteps(dir, 'web')).rejects.toMatchObject({ code: 'E_RECORD_DAMAGED' });
    await writeFile(stepsPath(dir, 'web'), '{"step":1,"steps":2,"line":0,"atMs":5,"text":"Step 1/2"}\n{"step":2,"st');
    expect(await readSteps(dir, 'web')).toEqual([{ step: 1, steps: 2, line: 0, text: 'Step 1/2', durationMs: null }]);
  });

  it('leaves out steps whose line the log does not hold, as after a full disk', async () => {
    const dir = await dataDir();
    const spool = await SpoolWriter.open(dir, 'web');
    await spool.write(['Step 1/2 : FROM scratch', 'one'].map((text) => ({ text, flags: 0 })));
    await spool.close();
    const steps = await readFile(stepsPath(dir, 'web'), 'utf8');
    await writeFile(stepsPath(dir, 'web'), `${steps}{"step":2,"steps":2,"line":7,"atMs":9,"text":"Step 2/2"}\n`);
    expect((await readSteps(dir, 'web')).map((step) => step.line)).toEqual([0]);
  });

  it('keeps build.json and the logs 0600 in a 0700 folder', async () => {
    const data = await dataDir();
    const directory = buildDir(data, '20261126-100000-aaaaaa');
    await new BuildRecordWriter(directory).save(record('20261126-100000-aaaaaa'));
    const spool = await SpoolWriter.open(directory, 'web');
    await spool.write([{ text: 'a line', flags: 0 }]);
    await spool.close();
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    expect((await stat(join(data, 'builds'))).mode & 0o777).toBe(0o700);
    for (const name of await readdir(directory)) {
      expect([name, (await stat(join(directory, name))).mode & 0o777]).toEqual([name, 0o600]);
    }
  });
});

describe('numbers as typed', () => {
  it('are decimal digits within their bound, nothing else', () => {
    for (const text of ['0x10', '1e1', '-1', '+1', '2.5', ' 3', '3 ', '', '1_0', 'Infinity', 'NaN', '51', '100000']) {
      expect([text, parseWholeNumber(text, bounds.samples)]).toEqual([text, null]);
    }
    expect(parseWholeNumber('50', bounds.samples)).toBe(50);
    expect(parseWholeNumber('0', bounds.port)).toBe(0);
    expect(parseWholeNumber('65536', bounds.port)).toBeNull();
  });

  it('are held to the same bounds by the contract', () => {
    expect(() => parseRequest('build.start', { projectId: 'p', concurrency: 17 })).toThrow(/from 1 to 16/);
    expect(() => parseRequest('settings.update', { quota: { maxBuilds: 5, maxBytes: 1024 } })).toThrow(
      /of at least 1048576/,
    );
    expect(parseRequest('settings.update', { concurrency: 16 })).toEqual({ concurrency: 16 });
  });
});

describe('the data directory', () => {
  it('is never the current folder by way of --data-dir ""', () => {
    expect(() => resolveDataDir('')).toThrow(/--data-dir is empty/);
    expect(resolveDataDir('relative/dir')).toBe(join(process.cwd(), 'relative/dir'));
  });

  it('names a full, read-only or forbidden disk with its own code', () => {
    const of = (code: string) => dataDirError(Object.assign(new Error(code), { code }), '/d/builds/x', 'write').code;
    expect(of('ENOSPC')).toBe('E_SPOOL_DISK_FULL');
    expect(of('EDQUOT')).toBe('E_SPOOL_DISK_FULL');
    expect(of('EROFS')).toBe('E_DATA_DIR_READ_ONLY');
    expect(of('EACCES')).toBe('E_DATA_DIR_UNWRITABLE');
    expect(of('EPERM')).toBe('E_DATA_DIR_UNWRITABLE');
  });
});
