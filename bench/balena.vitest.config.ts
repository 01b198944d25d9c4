import { defineConfig } from 'vitest/config';

// The balena upload benchmark: run alone (npm run bench:balena), never part of npm test.
export default defineConfig({
  test: {
    include: ['bench/balena-*.bench.ts'],
    testTimeout: 1_800_000,
  },
});
