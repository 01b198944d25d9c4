import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = `${root}node_modules/.cache/slipway-test/pack-worker`;

/** Where the tests' build of the pack worker goes (built-worker.ts finds it in SLIPWAY_PACK_WORKER). */
export const PACK_WORKER_BUILD = `${outDir}/pack-worker.js`;
/** ... and of the search worker (SLIPWAY_SEARCH_WORKER). */
export const SEARCH_WORKER_BUILD = `${outDir}/search-worker.js`;

/** Builds the pack and search workers as the bundles do, so tests run the workers of the source they test. */
export async function buildPackWorker(): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root,
    build: {
      ssr: true,
      outDir,
      emptyOutDir: true,
      target: 'node20',
      rollupOptions: {
        input: {
          'pack-worker': `${root}src/core/pack/pack-worker.ts`,
          'search-worker': `${root}src/core/logs/search-worker.ts`,
        },
        external: (id) => builtinModules.includes(id.replace(/^node:/, '')) || !/^[./]/.test(id),
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  });
}
