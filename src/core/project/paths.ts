import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { SlipwayError } from '../../shared/errors';

/** Whether `child` is `parent` or lies under it (lexically: resolve links first). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** A path of a compose file made absolute from the folder it is relative to; `~/` is the home folder. */
export function absoluteFrom(base: string, path: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(base, path);
}

/** What a path is on disk, following links: a file, a folder, or nothing. */
export async function kindOf(path: string): Promise<'file' | 'folder' | null> {
  try {
    return (await stat(path)).isDirectory() ? 'folder' : 'file';
  } catch {
    return null;
  }
}

/** The real path (every link resolved), or null when the path does not exist. */
export async function realPathOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code ?? String(error)}`, { cause: error });
  }
}

/** A folder to be sent, as resolved against the project's folders before it is packed. */
export interface ResolvedFolder {
  /** The real path: what the packer walks. */
  real: string;
  /** The path as written, made absolute, when it differs from the real one (it is or passes through a link). */
  link: string | null;
}

/**
 * Resolves a folder named by the project (a build context, an additional context) with realpath, and
 * decides whether it may be sent. A path written to lie inside one of `roots` (the opened folder, the
 * project directory, both real paths) must really lie inside that root: a `./link` to a folder elsewhere
 * is refused with E_CONTEXT_OUTSIDE_PROJECT naming the link. A path written to lie above them
 * (`context: ..`) is sent where it points, as docker compose does; a link there must stay under the
 * written path's real parent. Returns null when the folder does not exist.
 */
export async function resolveSentFolder(
  written: string,
  roots: string[],
  what: string,
): Promise<ResolvedFolder | null> {
  const real = await realPathOrNull(written);
  if (real === null) return null;
  const root = roots.find((candidate) => isInside(candidate, written));
  const boundary = root ?? (await realPathOrNull(resolve(written, '..'))) ?? resolve(written, '..');
  if (!isInside(boundary, real)) {
    throw new SlipwayError(
      'E_CONTEXT_OUTSIDE_PROJECT',
      `${what}: ${written} is a link to ${real}, outside ${boundary}; it is not sent`,
      {
        hint: 'Point the compose file at the real folder (context: with its path) if it is meant to be sent.',
      },
    );
  }
  return { real, link: real === written ? null : written };
}
