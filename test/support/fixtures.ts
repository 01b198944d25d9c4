import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const fixturesDir = new URL('../fixtures/', import.meta.url).pathname;
/** Debian's busybox-static: a static binary that runs in a FROM scratch image. */
export const BUSYBOX = '/bin/busybox';

/** A temp folder removed by cleanup(), for data dirs and generated contexts. */
export async function tempDir(prefix = 'slipway-test-'): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Copies a fixture to a temp folder and, when it RUNs commands, puts the static busybox in its context(s). */
export async function fixture(name: string, options: { busyboxIn?: string[] } = {}) {
  const dir = await tempDir(`slipway-${name}-`);
  await cp(join(fixturesDir, name), dir.path, { recursive: true });
  for (const context of options.busyboxIn ?? ['.']) await cp(BUSYBOX, join(dir.path, context, 'busybox'));
  return dir;
}

/** A temp folder holding the given files (path -> content), removed by cleanup(). */
export async function folderWith(files: Record<string, string>, prefix = 'slipway-project-') {
  const dir = await tempDir(prefix);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir.path, path)), { recursive: true });
    await writeFile(join(dir.path, path), content);
  }
  return dir;
}

/** Temp folders for one test file, each removed after its test: `const dir = tempDirs();` then `await dir()`. */
export function tempDirs(afterEach: (cleanup: () => Promise<void>) => void): () => Promise<string> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  return async () => {
    const made = await tempDir();
    cleanups.push(made.cleanup);
    return made.path;
  };
}
