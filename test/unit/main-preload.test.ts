import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requestNames } from '../../src/shared/contract';

const preloadDir = new URL('../../src/preload/', import.meta.url).pathname;
const builtPreload = new URL('../../out/preload/index.cjs', import.meta.url).pathname;

describe('the sandboxed preload', () => {
  it('lists every request of the contract, and only those', async () => {
    const { preloadRequestNames } = await import('../../src/preload/request-names');
    expect([...preloadRequestNames].sort()).toEqual([...requestNames].sort());
  });

  it('imports nothing at run time but electron and its own files (a sandbox can require nothing else)', async () => {
    for (const name of await readdir(preloadDir)) {
      const text = await readFile(join(preloadDir, name), 'utf8');
      const runtimeImports = [...text.matchAll(/^import (?!type )[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      expect(
        runtimeImports.filter((module) => module !== 'electron' && !module?.startsWith('./')),
        name,
      ).toEqual([]);
    }
  });

  it('is built into one file that requires only electron', async (context) => {
    if (!existsSync(builtPreload)) {
      console.log(`Skipping the built preload check: ${builtPreload} is not built (npm run build)`);
      context.skip();
    }
    const requires = [...(await readFile(builtPreload, 'utf8')).matchAll(/require\(["']([^"']+)["']\)/g)].map(
      (m) => m[1],
    );
    expect(new Set(requires)).toEqual(new Set(['electron']));
  });
});
