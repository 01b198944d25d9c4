import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';
import packageJson from './package.json' with { type: 'json' };

// The CLI and browser-mode server: an ESM bundle for Node, dependencies left to node_modules, with the
// workers (pack and search, each a worker thread's entry) and any chunk they share beside it in the same folder.
const external = [
  ...builtinModules,
  ...builtinModules.map((name) => `node:${name}`),
  ...Object.keys(packageJson.dependencies),
];

export default defineConfig({
  build: {
    ssr: true,
    outDir: 'out/cli',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
    rollupOptions: {
      external,
      input: {
        index: 'src/cli/index.ts',
        'pack-worker': 'src/core/pack/pack-worker.ts',
        'search-worker': 'src/core/logs/search-worker.ts',
      },
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
    },
  },
});
