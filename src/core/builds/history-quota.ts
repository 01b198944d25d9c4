import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { boundMessage, bounds, withinBound } from '../../shared/numbers';
import { loadSettings } from '../settings/settings-store';
import { isPlainId } from './build-ids';
import { buildDir, buildsDir, ownerPath, readBuild } from './build-store';

// The history's quota, applied when a build ends: what it needs of the history and no more (no log
// reader, no recovery), since every CLI build loads it on its way out.

/** The ids of every build kept in the data directory, newest first (ids sort by start time). */
export async function listBuildIds(dataDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(buildsDir(dataDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries.filter(isPlainId).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when a process on this machine is still running the build. A build whose owner file is gone
 * or names a process that no longer exists was cut off. (A recycled pid reads as alive: the build then
 * shows as running until that process ends, which errs on the side of never touching a live build.)
 */
export async function isBuildLive(dataDir: string, buildId: string): Promise<boolean> {
  let saved: unknown;
  try {
    saved = JSON.parse(await readFile(ownerPath(buildDir(dataDir, buildId)), 'utf8'));
  } catch {
    // No owner file (or a torn one): no process claims the build.
    return false;
  }
  // An owner file that names no process (a pid of 0 or -1 would signal a whole process group) claims nothing.
  const { buildOwnerSchema } = await import('../../shared/schemas');
  const owner = buildOwnerSchema.safeParse(saved);
  return owner.success && processAlive(owner.data.pid);
}

/** The bytes of the files in a build's folder, stat'ed at once (a build's end waits for every folder's). */
async function folderBytes(directory: string): Promise<number> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const sizes = await Promise.all(
    names.map((name) =>
      stat(join(directory, name)).then(
        (info) => (info.isFile() ? info.size : 0),
        () => 0,
      ),
    ),
  );
  return sizes.reduce((sum, bytes) => sum + bytes, 0);
}

/**
 * Keeps the data directory within its quota: while there are more builds than `maxBuilds` or they
 * take more than `maxBytes`, the oldest build that is not running is deleted. The newest build is
 * always kept, even alone over the bytes allowed: its log is the one the user is about to read.
 * Only builds whose record reads back whole count and go: a damaged one (or a folder with no record)
 * is outside the quota until the user deletes it. A quota that is not within its bounds deletes
 * nothing (E_SETTINGS_INVALID). Returns the deleted ids.
 */
export async function enforceQuota(dataDir: string, quota: Settings['quota']): Promise<string[]> {
  for (const [field, bound] of [
    ['maxBuilds', bounds.maxBuilds],
    ['maxBytes', bounds.maxBytes],
  ] as const) {
    if (!withinBound(quota?.[field], bound)) {
      throw new SlipwayError('E_SETTINGS_INVALID', `quota.${field} ${boundMessage(bound, quota?.[field])}`, {
        hint: 'No build was deleted. Fix the quota in Settings.',
      });
    }
  }
  const ids = await listBuildIds(dataDir);
  // Nothing goes while every folder, readable or not, fits: the records need not be read (nor their
  // schemas loaded) after every build.
  const sizes = new Map(
    await Promise.all(ids.map(async (id) => [id, await folderBytes(buildDir(dataDir, id))] as const)),
  );
  let allBytes = 0;
  for (const bytes of sizes.values()) allBytes += bytes;
  if (ids.length <= quota.maxBuilds && allBytes <= quota.maxBytes) return [];
  const oldestFirst: string[] = [];
  for (const id of [...ids].reverse()) {
    if (
      await readBuild(dataDir, id).then(
        () => true,
        () => false,
      )
    )
      oldestFirst.push(id);
  }
  let totalBytes = 0;
  for (const id of oldestFirst) totalBytes += sizes.get(id) ?? 0;
  let count = oldestFirst.length;
  const deleted: string[] = [];
  for (const id of oldestFirst.slice(0, -1)) {
    if (count <= quota.maxBuilds && totalBytes <= quota.maxBytes) break;
    if (await isBuildLive(dataDir, id)) continue;
    await rm(buildDir(dataDir, id), { recursive: true, force: true });
    deleted.push(id);
    count -= 1;
    totalBytes -= sizes.get(id) ?? 0;
  }
  return deleted;
}

/** Applies the quota from the data directory's settings (default: 50 builds or 2 GiB). */
export async function applyHistoryQuota(dataDir: string): Promise<string[]> {
  const { quota } = await loadSettings(dataDir);
  return enforceQuota(dataDir, quota);
}
