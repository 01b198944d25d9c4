import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

// The logs benchmark as one plain Node bundle, so it runs (and its memory is measured) without a loader.
export default defineConfig({
  build: {
    ssr: 'bench/logs/logs-bench.ts',
    outDir: 'out/bench/logs',
    emptyOutDir: true,
    target: 'node20',
    rollupOptions: {
      external: [...builtinModules, ...builtinModules.map((name) => `node:${name}`)],
      output: { format: 'es', entryFileNames: 'logs-bench.js' },
    },
  },
});
