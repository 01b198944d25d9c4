import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';
import packageJson from './package.json' with { type: 'json' };

// The CLI and browser-mode server: an ESM bundle for Node, dependencies left to node_modules but undici,
// with the workers (pack and search, each a worker thread's entry) and any chunk they share beside it in
// the same folder. undici is bundled through its public index: one chunk to read instead of the hundred
// CommonJS modules Node resolves and reads one by one, about 0.1 s of a one-file build's start.
const BUNDLED = 'undici';
const external = [
  ...builtinModules,
  ...builtinModules.map((name) => `node:${name}`),
  ...Object.keys(packageJson.dependencies).filter((name) => name !== BUNDLED),
];

export default defineConfig({
  ssr: { noExternal: [BUNDLED] },
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
