#!/usr/bin/env node
// The built CLI lives in out/cli; `npm run build` makes it.
import { existsSync } from 'node:fs';

const built = new URL('../out/cli/index.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('error E_INTERNAL: Slipway is not built yet. Run "npm run build" first.\n');
  process.exit(2);
}
const { main } = await import(built.href);
process.exitCode = await main(process.argv.slice(2));
