import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import type { IgnoreRule } from '../project/ignore';

export interface WalkEntry {
  /** Path relative to the context root, '/'-separated; '.' for the root itself. */
  path: string;
  stats: Stats;
  linkname?: string;
}

function unreadable(path: string, error: unknown): SlipwayError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, {
    hint: 'Fix its permissions, or leave it out with a line in .dockerignore.',
    cause: error,
  });
}

/**
 * Walks a context as the packer will see it: lstat (links are never followed), ignored paths and
 * whole ignored folders left out. Holds one folder listing at a time per level of depth.
 */
export async function* walkContext(root: string, ignore: IgnoreRule): AsyncGenerator<WalkEntry> {
  const stack: string[] = ['.'];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    const absolute = join(root, path);
    let stats: Stats;
    try {
      stats = await lstat(absolute);
    } catch (error) {
      throw unreadable(absolute, error);
    }
    if (stats.isSymbolicLink()) {
      yield {
        path,
        stats,
        linkname: await readlink(absolute).catch((error) => Promise.reject(unreadable(absolute, error))),
      };
      continue;
    }
    yield { path, stats };
    if (!stats.isDirectory()) continue;
    let children: Dirent[];
    try {
      children = await readdir(absolute, { withFileTypes: true });
    } catch (error) {
      throw unreadable(absolute, error);
    }
    for (const child of children) {
      const childPath = path === '.' ? child.name : `${path}/${child.name}`;
      if (!ignore(childPath)) stack.push(childPath);
    }
  }
}
