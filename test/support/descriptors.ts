import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A process's open descriptors: fd number -> what it points at (socket:[inode], a path, ...). */
export async function openDescriptors(pid: number | 'self' = 'self'): Promise<Map<string, string>> {
  const dir = `/proc/${pid}/fd`;
  const fds = new Map<string, string>();
  for (const fd of await readdir(dir)) {
    const target = await readlink(join(dir, fd)).catch(() => null);
    if (target !== null) fds.set(fd, target);
  }
  return fds;
}

/** Descriptors open now that were not open before, after giving closes a moment to land. */
export async function leakedSince(before: Map<string, string>): Promise<string[]> {
  let leaked: string[] = [];
  for (let tries = 0; tries < 20; tries++) {
    const now = await openDescriptors();
    leaked = [...now].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`);
    if (leaked.length === 0) return leaked;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return leaked;
}

/** Processes on this machine whose command line holds the marker (a build's RUN step). */
export async function processesWith(marker: string): Promise<number> {
  let count = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) count += 1;
  }
  return count;
}
