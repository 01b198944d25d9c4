import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { META_CONTENT_SECURITY_POLICY } from './src/shared/content-security-policy';

/** The page's CSP meta tag carries the one policy of src/shared (index.html says where it goes). */
const contentSecurityPolicy = {
  name: 'slipway-content-security-policy',
  transformIndexHtml: (html: string) => html.replace('%CONTENT_SECURITY_POLICY%', META_CONTENT_SECURITY_POLICY),
};

export default defineConfig({
  main: {
    // The pack and search workers are worker threads' entries; they and any chunk they share sit beside index.js.
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: 'src/main/index.ts',
          'pack-worker': 'src/core/pack/pack-worker.ts',
          'search-worker': 'src/core/logs/search-worker.ts',
        },
        output: { entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: 'src/preload/index.ts' },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src/renderer',
    build: { outDir: 'out/renderer', rollupOptions: { input: { index: 'src/renderer/index.html' } } },
    plugins: [react(), contentSecurityPolicy],
  },
});
