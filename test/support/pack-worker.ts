import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = `${root}node_modules/.cache/slipway-test/pack-worker`;

/** Where the tests' build of the pack worker goes (worker-host.ts finds it in SLIPWAY_PACK_WORKER). */
export const PACK_WORKER_BUILD = `${outDir}/pack-worker.js`;

/** Builds src/core/pack/pack-worker.ts as the bundles do, so tests run the worker of the source they test. */
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
        input: { 'pack-worker': `${root}src/core/pack/pack-worker.ts` },
        external: (id) => builtinModules.includes(id.replace(/^node:/, '')) || !/^[./]/.test(id),
        output: { format: 'es', entryFileNames: '[name].js' },
      },
    },
  });
}
