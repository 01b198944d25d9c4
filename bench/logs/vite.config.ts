import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

// The logs benchmark as a plain Node bundle, so it runs (and its memory is measured) without a loader.
export default defineConfig({
  build: {
    ssr: true,
    outDir: 'out/bench/logs',
    emptyOutDir: true,
    target: 'node20',
    rollupOptions: {
      external: [...builtinModules, ...builtinModules.map((name) => `node:${name}`)],
      // The search worker runs the benchmark's regular expression search; it sits beside the bundle.
      input: { 'logs-bench': 'bench/logs/logs-bench.ts', 'search-worker': 'src/core/logs/search-worker.ts' },
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
    },
  },
});
