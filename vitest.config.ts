import { defineConfig } from 'vitest/config';
import { PACK_WORKER_BUILD, SEARCH_WORKER_BUILD } from './test/support/pack-worker';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // The source's workers, built by the global setup: tests run TypeScript, a worker thread cannot.
    env: { SLIPWAY_PACK_WORKER: PACK_WORKER_BUILD, SLIPWAY_SEARCH_WORKER: SEARCH_WORKER_BUILD },
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Engine tests share one Podman service and two cores; files run one at a time.
    fileParallelism: false,
  },
});
