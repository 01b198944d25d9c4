import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = new URL('../../src/', import.meta.url).pathname;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)].map(
    (match) => match[1] as string,
  );
}

describe('the layers depend one way', () => {
  it('src/core never imports electron, so the engine runs headless', async () => {
    const files = await sourceFiles(join(src, 'core'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const offending = (await importsOf(file)).filter((name) => name === 'electron' || name.startsWith('electron/'));
      expect(offending, file).toEqual([]);
    }
  });

  it('src/shared imports nothing but zod and itself', async () => {
    for (const file of await sourceFiles(join(src, 'shared'))) {
      const outside = (await importsOf(file)).filter((name) => name !== 'zod' && !name.startsWith('./'));
      expect(outside, file).toEqual([]);
    }
  });

  it('the renderer reaches the engine only through src/shared', async () => {
    for (const file of await sourceFiles(join(src, 'renderer'))) {
      const reaching = (await importsOf(file)).filter(
        (name) => /\/(core|main|server|cli|preload)\//.test(name) || name.startsWith('node:'),
      );
      expect(reaching, file).toEqual([]);
    }
  });
});
