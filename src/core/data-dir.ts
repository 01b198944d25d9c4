import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type ErrorCode, SlipwayError } from '../shared/errors';

/** Files of the data directory (records, logs, settings) are readable by their owner only. */
export const DATA_FILE_MODE = 0o600;
/** Folders of the data directory are their owner's only: build args and logs may hold secrets. */
export const DATA_DIR_MODE = 0o700;

/** The data directory: $XDG_DATA_HOME/slipway, else ~/.local/share/slipway. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg?.startsWith('/')) return join(xdg, 'slipway');
  return join(env.HOME || homedir(), '.local', 'share', 'slipway');
}

/**
 * The data directory a shell was given (--data-dir), as an absolute path, else the default. An empty
 * one is refused: it would otherwise mean the current folder.
 */
export function resolveDataDir(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (given === undefined) return defaultDataDir(env);
  if (given.trim() === '') {
    throw new SlipwayError('E_BAD_INPUT', '--data-dir is empty', {
      hint: `Name a folder, or leave the option out for the default (${defaultDataDir(env)}).`,
    });
  }
  return resolve(given);
}

/**
 * The coded error of a file operation of the data directory that failed: a full disk, a folder the
 * user may not write (or read), a read-only file system; anything else gets `otherwise`.
 */
export function dataDirError(
  error: unknown,
  path: string,
  doing: 'read' | 'write',
  otherwise: ErrorCode = doing === 'read' ? 'E_DATA_DIR_UNREADABLE' : 'E_SPOOL_WRITE',
): SlipwayError {
  if (error instanceof SlipwayError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const cause = { cause: error };
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SlipwayError('E_SPOOL_DISK_FULL', `The disk is full: cannot write ${path}`, {
      ...cause,
      hint: 'Free some space or delete old builds; what was written so far stays readable.',
    });
  }
  if (code === 'EROFS') {
    return new SlipwayError('E_DATA_DIR_READ_ONLY', `Cannot ${doing} ${path}: the file system is read-only`, {
      ...cause,
      hint: 'Give Slipway a data directory on a writable disk with --data-dir (or XDG_DATA_HOME).',
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new SlipwayError(
      doing === 'read' ? 'E_DATA_DIR_UNREADABLE' : 'E_DATA_DIR_UNWRITABLE',
      `Cannot ${doing} ${path}: permission denied`,
      { ...cause, hint: 'Check the owner and mode of the data directory, or give another one with --data-dir.' },
    );
  }
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new SlipwayError(otherwise, `Cannot ${doing} ${path}: ${reason}`, cause);
}

/** Creates a folder of the data directory (and its parents) for its owner only; a wider folder of ours is narrowed. */
export async function ensurePrivateDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: DATA_DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // A recursive mkdir says ENOENT where it could not make a parent (a read-only or forbidden
    // folder): making them one at a time gives the real reason.
    await mkdirEach(path);
  }
  await chmod(path, DATA_DIR_MODE);
}

async function mkdirEach(path: string): Promise<void> {
  const parent = dirname(path);
  if (parent !== path && !existsSync(parent)) await mkdirEach(parent);
  await mkdir(path, { mode: DATA_DIR_MODE }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}
