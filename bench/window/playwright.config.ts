import { defineConfig } from '@playwright/test';
import base from '../../playwright.config';

// The window's benchmarks: the same Chromium and options as the end-to-end tests, one at a time.
export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: /.*\.bench\.ts$/,
  outputDir: '../../test-results/bench-window',
});
