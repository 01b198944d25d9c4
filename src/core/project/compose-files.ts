import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import type { Lookup } from './interpolate';
import { absoluteFrom, realPathOrNull } from './paths';

/** Compose's own search order (compose-go's DefaultFileNames): the first that exists wins. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

/** The override files merged over the default file (compose-go's DefaultOverrideFileNames), first found wins. */
export const OVERRIDE_FILE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

/** Sub-folders looked into when the opened folder has neither a compose file nor a Dockerfile. */
const SEARCH_DEPTH = 2;
const SKIPPED_FOLDERS = new Set(['node_modules', 'vendor', 'dist', 'build', 'target']);

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, { cause: error });
  }
}

async function existing(folder: string, names: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) if (await isFile(join(folder, name))) found.push(join(folder, name));
  return found;
}

/** Returns the compose file of a folder by Compose's precedence, or null when it has none. */
export async function findComposeFile(folder: string): Promise<string | null> {
  return (await existing(folder, COMPOSE_FILE_NAMES))[0] ?? null;
}

/** The compose files of a project, in merge order, with what their choice is worth saying. */
export interface ComposeFileChoice {
  /** Real paths, in merge order. */
  files: string[];
  /** Where the list came from. */
  source: 'option' | 'COMPOSE_FILE' | 'default' | 'sub-folder';
  warnings: string[];
}

/**
 * Chooses the compose files as docker compose does: the explicit list (-f, relative to the opened
 * folder), else COMPOSE_FILE split by COMPOSE_PATH_SEPARATOR, else the default file and the first
 * override file beside it. Returns null when the folder has none of these.
 */
export async function chooseComposeFiles(
  folder: string,
  explicit: string[] | undefined,
  lookup: Lookup,
): Promise<ComposeFileChoice | null> {
  const real = async (paths: string[], source: string) => {
    const files: string[] = [];
    for (const path of paths) {
      const found = await realPathOrNull(path);
      if (found === null || !(await isFile(found))) {
        throw new SlipwayError('E_PROJECT_NOT_FOUND', `No such compose file: ${path} (from ${source})`, {
          hint: 'Check the path; it is relative to the folder you opened.',
        });
      }
      files.push(found);
    }
    return files;
  };
  if (explicit && explicit.length > 0) {
    const paths = explicit.map((file) => absoluteFrom(folder, file));
    return { files: await real(paths, '--file'), source: 'option', warnings: [] };
  }
  const variable = lookup('COMPOSE_FILE');
  if (variable) {
    const separator = lookup('COMPOSE_PATH_SEPARATOR') || (process.platform === 'win32' ? ';' : ':');
    const paths = variable
      .split(separator)
      .filter((part) => part !== '')
      .map((file) => absoluteFrom(folder, file));
    return { files: await real(paths, 'COMPOSE_FILE'), source: 'COMPOSE_FILE', warnings: [] };
  }
  const candidates = await existing(folder, COMPOSE_FILE_NAMES);
  const base = candidates[0];
  if (!base) return null;
  const warnings: string[] = [];
  if (candidates.length > 1) {
    warnings.push(
      `Found several compose files (${candidates.map((path) => relative(folder, path)).join(', ')}); using ${relative(folder, base)}, as docker compose does`,
    );
  }
  const overrides = await existing(folder, OVERRIDE_FILE_NAMES);
  if (overrides.length > 1) {
    warnings.push(
      `Found several override files (${overrides.map((path) => relative(folder, path)).join(', ')}); using ${relative(folder, overrides[0] as string)}`,
    );
  }
  const files = overrides[0] ? [base, overrides[0]] : [base];
  return { files: await real(files, 'the folder'), source: 'default', warnings };
}

/** Folders listed at most while looking for a nested compose file: a home folder must not take long. */
const MAX_SEARCHED_FOLDERS = 2000;

/**
 * Compose files in the sub-folders of a folder (two levels deep, hidden and dependency folders
 * skipped), for a folder opened one level too high (the compose file lives in docker/). Each folder is
 * listed once, the folders of one level at once.
 */
export async function findNestedComposeFiles(folder: string): Promise<string[]> {
  const list = async (path: string): Promise<Dirent[]> => {
    try {
      return await readdir(path, { withFileTypes: true });
    } catch {
      return [];
    }
  };
  const subFolders = (path: string, entries: Dirent[]) =>
    entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !SKIPPED_FOLDERS.has(entry.name))
      .map((entry) => join(path, entry.name))
      .sort();
  const found: string[] = [];
  let level = subFolders(folder, await list(folder));
  let listed = 0;
  for (let depth = 0; depth < SEARCH_DEPTH && level.length > 0 && listed < MAX_SEARCHED_FOLDERS; depth++) {
    level = level.slice(0, MAX_SEARCHED_FOLDERS - listed);
    listed += level.length;
    const listings: Dirent[][] = [];
    // A few dozen at once: enough to hide the disk's latency, far from the process's limit on open files.
    for (let start = 0; start < level.length; start += 32) {
      listings.push(...(await Promise.all(level.slice(start, start + 32).map(list))));
    }
    const next: string[] = [];
    for (const [index, entries] of listings.entries()) {
      const path = level[index] as string;
      const names = new Set(entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name));
      const name = COMPOSE_FILE_NAMES.find((candidate) => names.has(candidate));
      if (name) found.push(join(path, name));
      else next.push(...subFolders(path, entries));
    }
    level = next;
  }
  return found.sort();
}
