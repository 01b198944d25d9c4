import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The temporary folders of scans (`$TMPDIR/slipway-scan-<pid>-<random>`, each holding a spool, see
 * scan-spool.ts). A scan removes its folder when it is disposed of; a process that quits at once (a
 * second Ctrl-C) removes those still there; one that was killed leaves them to the next process, which
 * removes the folders of owners no longer alive.
 */

const live = new Set<string>();
let sweep: Promise<void> | null = null;

/** Makes a scan's folder, at once and synchronously, so that a Ctrl-C a moment later knows of it. */
export function makeScanFolder(): string {
  const folder = join(tmpdir(), `slipway-scan-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(folder, { mode: 0o700 });
  live.add(folder);
  return folder;
}

export async function removeScanFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
  live.delete(folder);
}

/** Removes the scan folders of this process that are still there: the last thing before quitting at once. */
export function removeScanFoldersNow(): void {
  for (const folder of live) {
    try {
      rmSync(folder, { recursive: true, force: true });
      live.delete(folder);
    } catch {
      // The process is quitting; the next one removes what is left (its owner is dead by then).
    }
  }
}

/** True when a process with this id is alive (one of another user counts as alive). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the scan folders in `directory` whose owner process is no longer alive. Folders without an
 * owner's id (older versions) or of a live owner are left alone.
 */
export async function removeStaleScanFolders(directory: string): Promise<void> {
  const names = await readdir(directory).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const owner = /^slipway-scan-(\d+)-[0-9a-f]+$/.exec(name);
      const pid = Number(owner?.[1]);
      if (!owner || pid === process.pid || alive(pid)) return;
      await rm(join(directory, name), { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

/** Removes the stale scan folders of the temporary folder, once per process (before its first scan). */
export function sweepStaleScanFolders(): Promise<void> {
  sweep ??= removeStaleScanFolders(tmpdir());
  return sweep;
}
