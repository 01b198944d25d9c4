// `node --import <this file>`: appends the URL of every module the process loads to the file that
// SLIPWAY_MODULE_LOG names, ES modules as they load (through the hooks) and CommonJS ones at exit (the
// require cache), for tests that check what a command loads.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const log = process.env.SLIPWAY_MODULE_LOG;
if (log) {
  register('./hooks.mjs', import.meta.url, { data: { log } });
  const { cache } = createRequire(import.meta.url);
  process.on('exit', () => {
    const required = Object.keys(cache).map((path) => pathToFileURL(path).href);
    if (required.length > 0) appendFileSync(log, `${required.join('\n')}\n`);
  });
}
