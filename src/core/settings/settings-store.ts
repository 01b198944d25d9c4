import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';

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

/** Reads settings.json from the data directory, filling what it lacks with defaults. */
export async function loadSettings(dataDir: string): Promise<Settings> {
  let text: string;
  try {
    text = await readFile(settingsPath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return defaultSettings();
    throw new SlipwayError(
      'E_SPOOL_WRITE',
      `Cannot read ${settingsPath(dataDir)}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  try {
    const saved = JSON.parse(text) as Partial<Settings>;
    const defaults = defaultSettings();
    return { ...defaults, ...saved, quota: { ...defaults.quota, ...saved.quota } };
  } catch {
    throw new SlipwayError('E_BAD_INPUT', `${settingsPath(dataDir)} is not valid JSON`, {
      hint: 'Fix or delete the file; Slipway then starts from its defaults.',
    });
  }
}

/** Writes settings.json atomically (temp file + rename), readable by its owner only: it may name TLS keys. */
export async function saveSettings(dataDir: string, settings: Settings): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const temporary = join(dataDir, `.settings.json.${process.pid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, settingsPath(dataDir));
}
