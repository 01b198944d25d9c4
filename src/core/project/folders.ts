import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { SlipwayError } from '../../shared/errors';

export interface FolderListing {
  path: string;
  parent: string | null;
  folders: string[];
}

/** Most folders people pick from hold far fewer; the cap keeps a huge folder from flooding the picker. */
export const MAX_LISTED_FOLDERS = 2000;

/** Lists the visible sub-folders of a folder (home when none is given), for browser mode's folder picker. */
export async function listFolders(path: string | undefined, home = homedir()): Promise<FolderListing> {
  const given = path?.trim() || home;
  if (!isAbsolute(given)) {
    throw new SlipwayError('E_BAD_INPUT', `Not an absolute path: ${given}`, { hint: 'Start the path with /.' });
  }
  const folder = resolve(given);
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SlipwayError('E_PROJECT_NOT_FOUND', `No such folder: ${folder}`);
    if (code === 'ENOTDIR') throw new SlipwayError('E_PROJECT_NOT_A_FOLDER', `Not a folder: ${folder}`);
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot list ${folder}: ${code ?? String(error)}`, { cause: error });
  }
  const folders = entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b))
    .slice(0, MAX_LISTED_FOLDERS);
  const parent = dirname(folder);
  return { path: folder, parent: parent === folder ? null : parent, folders };
}
