import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildRecordWriter, buildDir } from '../../src/core/builds/build-store';
import { Engine } from '../../src/core/engine';
import { SpoolWriter } from '../../src/core/logs/spool';
import type { SlipwayEvent } from '../../src/shared/contract';
import { tempDir } from '../support/fixtures';
import { buildRecord } from '../support/records';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function engineWithHistory() {
  const data = await tempDir('slipway-data-');
  cleanups.push(data.cleanup);
  const crashed = '20261126-100000-c0ffee';
  const directory = buildDir(data.path, crashed);
  await new BuildRecordWriter(directory).save(buildRecord(crashed, 'running'));
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid as number;
  await writeFile(join(directory, 'owner.json'), JSON.stringify({ pid: deadPid, host: 'h' }));
  const spool = await SpoolWriter.open(directory, 'web');
  await spool.write(
    ['STEP 1/2: FROM scratch', 'STEP 2/2: RUN make', 'cc -c a.c', 'a.c:3: warning: unused x', 'cc -c b.c'].map(
      (text) => ({ text, flags: 0 }),
    ),
  );
  await spool.close();
  const engine = new Engine({ dataDir: data.path, mode: 'browser', version: 'test' });
  return { engine, crashed };
}

describe('the engine answers history and log requests', () => {
  it('lists history with a build cut off by a dead process as interrupted', async () => {
    const { engine, crashed } = await engineWithHistory();
    const history = await engine.call('history.list', {});
    expect(history).toMatchObject([{ id: crashed, status: 'interrupted', tasks: [{ id: 'web', phase: 'failed' }] }]);
  });

  it('searches a task log by text and by regular expression, and lists its steps', async () => {
    const { engine, crashed } = await engineWithHistory();
    expect(await engine.call('logs.search', { buildId: crashed, taskId: 'web', query: 'cc -c' })).toEqual({
      matches: [2, 4],
      truncated: false,
    });
    expect(
      await engine.call('logs.search', {
        buildId: crashed,
        taskId: 'web',
        query: 'warning: \\w+',
        regex: true,
        limit: 5,
      }),
    ).toEqual({ matches: [3], truncated: false });
    const steps = await engine.call('logs.steps', { buildId: crashed, taskId: 'web' });
    expect(steps.map((step) => [step.step, step.line, step.text])).toEqual([
      [1, 0, 'STEP 1/2: FROM scratch'],
      [2, 1, 'STEP 2/2: RUN make'],
    ]);
    expect(steps.every((step) => step.durationMs !== null && step.durationMs >= 0)).toBe(true);
  });

  it('deletes a build, says history changed, and refuses ids that are not plain names', async () => {
    const { engine, crashed } = await engineWithHistory();
    const events: SlipwayEvent[] = [];
    engine.on('event', (event) => events.push(event));
    expect(await engine.call('history.delete', { buildId: crashed })).toEqual({ deleted: true });
    expect(events).toContainEqual({ type: 'history.changed' });
    expect(await engine.call('history.list', {})).toEqual([]);
    await expect(engine.call('logs.search', { buildId: '..', taskId: 'web', query: 'x' })).rejects.toMatchObject({
      code: 'E_BAD_INPUT',
    });
    await expect(engine.call('logs.steps', { buildId: crashed, taskId: 'web' })).rejects.toMatchObject({
      code: 'E_BAD_INPUT',
    });
  });
});
