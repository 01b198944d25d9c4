#!/usr/bin/env node
// `npm start`: the Electron window where Electron's binary is installed, browser mode where it is not.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { launchSettings } from './launch-settings.js';

const require = createRequire(import.meta.url);

/** The Electron binary's path, without triggering its download. */
function electronBinary() {
  try {
    const packageDir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(packageDir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const binary = join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

// bin/slipway.js's memory settings, for the engine started here: Electron's main process (its V8 takes
// Node's flags as --js-flags, on the command line only) or browser mode's Node. The user's own
// environment wins over them.
const settings = launchSettings();
const env = { ...settings.env, ...process.env };

function run(command, args) {
  const child = spawn(command, args, { stdio: 'inherit', env });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
}

if (
  !existsSync(new URL('../out/cli/index.js', import.meta.url)) ||
  !existsSync(new URL('../out/main/index.js', import.meta.url))
) {
  console.error('Slipway is not built yet: run "npm run build" first (or "npm ci && npm run build && npm start").');
  process.exit(2);
}

const binary = electronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
if (binary && !noDisplay) {
  run(binary, [`--js-flags=${settings.nodeFlags.join(' ')}`, '.', ...process.argv.slice(2)]);
} else {
  const why = binary
    ? 'no display is available'
    : "Electron's binary is not installed (its download needs its release host)";
  console.error(`Slipway: ${why}; starting browser mode instead.`);
  run(process.execPath, [
    ...settings.nodeFlags,
    new URL('../bin/slipway.js', import.meta.url).pathname,
    'serve',
    ...process.argv.slice(2),
  ]);
}
