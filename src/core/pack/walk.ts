import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { SlipwayError } from '../../shared/errors';
import type { IgnoreRule } from '../project/ignore';
import { decodeName, fsPath } from './names';

export interface WalkEntry {
  /** Path relative to the context root, '/'-separated (names that are not UTF-8 escaped, see names.ts). */
  path: string;
  stats: Stats;
  linkname?: string;
}

/** The error for a path that cannot be read, naming it. */
export function unreadable(path: string, error: unknown): SlipwayError {
  if (error instanceof SlipwayError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, {
    hint: 'Fix its permissions, or leave it out with a line in .dockerignore.',
    cause: error,
  });
}

/** The error for a path that vanished or shrank after the scan, naming it. */
export function changed(path: string, what: string): SlipwayError {
  return new SlipwayError('E_CONTEXT_CHANGED', `${path} ${what} while the context was being packed`, {
    hint: 'Stop whatever is writing into the context, or ignore those files, and build again.',
  });
}

/** Joins a context-relative folder and a name. */
export function childPath(folder: string, name: string): string {
  return folder === '.' || folder === '' ? name : `${folder}/${name}`;
}

/**
 * Lists what the docker CLI sends from one folder of the context, in name order: the children it
 * sends, and (as relative paths with slashes) whatever it sends from inside excluded folders that it
 * only walks through because of a "!" exception. Those folders themselves are not sent, as in the CLI.
 */
export async function listSent(root: string, folder: string, ignore: IgnoreRule): Promise<string[]> {
  const absolute = folder === '.' ? root : `${root}/${folder}`;
  let children: Dirent<Buffer>[];
  try {
    children = await readdir(fsPath(absolute) as string, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    throw unreadable(absolute, error);
  }
  const names = children.map((child) => ({ name: decodeName(child.name), child }));
  // Go's filepath.Walk visits names in byte order; so does the tar.
  names.sort((a, b) => Buffer.compare(a.child.name, b.child.name));
  const sent: string[] = [];
  for (const { name, child } of names) {
    const path = childPath(folder, name);
    let isFolder = child.isDirectory();
    if (!isFolder && !child.isFile() && !child.isSymbolicLink() && !child.isFIFO() && !child.isSocket()) {
      isFolder = (await lstat(fsPath(`${root}/${path}`)).catch(() => null))?.isDirectory() ?? false;
    }
    const verdict = ignore.verdict(path, isFolder);
    if (verdict === 'send') sent.push(name);
    else if (verdict === 'walk') {
      for (const inner of await listSent(root, path, ignore)) sent.push(`${name}/${inner}`);
    }
  }
  return sent;
}

/**
 * Walks a context as the packer sends it, depth first: lstat (links are never followed), the root
 * itself not sent (as the docker CLI). Holds one folder listing at a time per level of depth.
 */
export async function* walkContext(root: string, ignore: IgnoreRule): AsyncGenerator<WalkEntry> {
  const stack: { folder: string; names: string[]; next: number }[] = [
    { folder: '.', names: await listSent(root, '.', ignore), next: 0 },
  ];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as (typeof stack)[number];
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const path = childPath(top.folder, top.names[top.next++] as string);
    const absolute = `${root}/${path}`;
    let stats: Stats;
    try {
      stats = await lstat(fsPath(absolute));
    } catch (error) {
      throw unreadable(absolute, error);
    }
    if (stats.isSymbolicLink()) {
      let target: Buffer;
      try {
        target = await readlink(fsPath(absolute), { encoding: 'buffer' });
      } catch (error) {
        throw unreadable(absolute, error);
      }
      yield { path, stats, linkname: decodeName(target) };
      continue;
    }
    yield { path, stats };
    if (stats.isDirectory()) stack.push({ folder: path, names: await listSent(root, path, ignore), next: 0 });
  }
}
