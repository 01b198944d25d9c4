import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { DATA_FILE_MODE, dataDirError, ensurePrivateDir } from '../data-dir';
import { validateSettings } from './settings-validate';

/** Settings as a fresh install has them: the local engine, two tasks at once, 50 builds or 2 GiB. */
export function defaultSettings(): Settings {
  return {
    targets: [],
    defaultTarget: null,
    pinnedRegion: null,
    concurrency: 2,
    compress: 'auto',
    quota: { maxBuilds: 50, maxBytes: 2 * 1024 ** 3 },
  };
}

export function settingsPath(dataDir: string): string {
  return join(dataDir, 'settings.json');
}

function invalid(path: string, problem: string): SlipwayError {
  return new SlipwayError('E_SETTINGS_INVALID', `${path} cannot be used: ${problem}`, {
    hint: `Fix the file, or press Repair in Settings of the window (slipway serve, or the desktop app); the file is kept beside it as ${path}.bad-<time>. Nothing is built or deleted until then.`,
  });
}

/**
 * Reads settings.json from the data directory: a field it lacks takes its default; a field that is
 * there must be valid (the contract's schema), else E_SETTINGS_INVALID naming the file and the field.
 */
export async function loadSettings(dataDir: string): Promise<Settings> {
  const path = settingsPath(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return defaultSettings();
    throw dataDirError(error, path, 'read');
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    throw invalid(path, 'it is not valid JSON');
  }
  // The schemas (zod) are loaded only when there is a file to check: a build without settings.json
  // does not pay for them.
  const { describeProblems, settingsFileSchema } = await import('../../shared/schemas');
  const checked = settingsFileSchema.safeParse(saved);
  if (!checked.success) throw invalid(path, describeProblems(checked.error));
  const defaults = defaultSettings();
  const { quota, ...rest } = checked.data;
  const settings: Settings = { ...defaults, ...rest, quota: { ...defaults.quota, ...quota } };
  try {
    validateSettings(settings);
  } catch (error) {
    throw invalid(path, (error as Error).message);
  }
  return settings;
}

/** Writes settings.json atomically (temp file + rename), readable by its owner only: it may name TLS keys. */
export async function saveSettings(dataDir: string, settings: Settings): Promise<void> {
  const temporary = join(dataDir, `.settings.json.${process.pid}.tmp`);
  try {
    await ensurePrivateDir(dataDir);
    await writeFile(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: DATA_FILE_MODE });
    await rename(temporary, settingsPath(dataDir));
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw dataDirError(error, settingsPath(dataDir), 'write');
  }
}

/** A file name's time stamp: 20261126T114501Z, sortable and free of colons. */
function fileStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/**
 * Starts settings again from the defaults when settings.json cannot be used: the old file is renamed to
 * settings.json.bad-<time> beside it (never deleted), then the defaults are written. Valid settings are
 * left as they are. Returns the settings and where the old file went.
 */
export async function repairSettings(
  dataDir: string,
  now = new Date(),
): Promise<{ settings: Settings; keptAs: string | null }> {
  try {
    return { settings: await loadSettings(dataDir), keptAs: null };
  } catch (error) {
    if (!(error instanceof SlipwayError) || error.code !== 'E_SETTINGS_INVALID') throw error;
  }
  const path = settingsPath(dataDir);
  const keptAs = `${path}.bad-${fileStamp(now)}`;
  try {
    await rename(path, keptAs);
  } catch (error) {
    throw dataDirError(error, path, 'write');
  }
  const settings = defaultSettings();
  await saveSettings(dataDir, settings);
  return { settings, keptAs };
}
