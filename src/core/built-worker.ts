import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * The URL of a worker thread's entry, `<name>.js`. Each bundle that starts one (the CLI's, Electron
 * main's) is built with the entry beside it; tests, which run the TypeScript source, name a build of it
 * in the environment variable `variable` (test/support/global-setup.ts builds them).
 */
export function builtWorkerUrl(name: string, variable: string): URL {
  const beside = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(beside)) return beside;
  const built = process.env[variable];
  if (built) return pathToFileURL(built);
  throw new Error(`The worker ${name} is missing: ${beside.pathname} (build with "npm run build")`);
}
