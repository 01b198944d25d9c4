import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planFromText } from '../../src/core/pack/plan';
import { startScan } from '../../src/core/pack/scan';
import { removeStaleScanFolders } from '../../src/core/pack/scan-folders';
import { tempDir } from '../support/fixtures';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function folder(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  return dir.path;
}

/** The id of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('scan folders', () => {
  it('removes the stale folders of dead owners only, leaving live owners and unknown folders', async () => {
    const tmp = await folder();
    const dead = deadPid();
    const names = [
      `slipway-scan-${dead}-0a1b2c`,
      `slipway-scan-${process.pid}-3d4e5f`,
      `slipway-scan-${process.ppid}-6a7b8c`,
      'slipway-scan-Ab12Cd',
      'other-folder',
    ];
    for (const name of names) {
      await mkdir(join(tmp, name));
      await writeFile(join(tmp, name, 'scan.spool'), 'x');
    }
    await removeStaleScanFolders(tmp);
    expect((await readdir(tmp)).sort()).toEqual(names.slice(1).sort());
  });

  it('names each scan folder after the process that owns it', async () => {
    const root = await folder();
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    const run = await startScan(planFromText(root, ''), { spool: true });
    try {
      expect(run.spool?.path).toMatch(new RegExp(`/slipway-scan-${process.pid}-[0-9a-f]+/scan\\.spool$`));
      await run.result;
    } finally {
      await run.dispose();
    }
  });

  it('stops a scan that is disposed of before it ends: the scan never completes', async () => {
    const root = await folder();
    // Enough entries that the scan is far from done when the stop arrives, a slice (4 ms) after it starts.
    for (let dir = 0; dir < 20; dir++) {
      mkdirSync(join(root, `d${dir}`));
      for (let file = 0; file < 400; file++) writeFileSync(join(root, `d${dir}`, `f${file}`), '');
    }
    const run = await startScan(planFromText(root, ''), { spool: true });
    const outcome = run.result.then(
      () => 'completed',
      (error: Error) => error.message,
    );
    await run.dispose();
    expect(await outcome).toBe('The scan was stopped');
  });
});
