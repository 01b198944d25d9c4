import { homedir } from 'node:os';
import { join } from 'node:path';

/** The data directory: $XDG_DATA_HOME/slipway, else ~/.local/share/slipway. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg?.startsWith('/')) return join(xdg, 'slipway');
  return join(env.HOME || homedir(), '.local', 'share', 'slipway');
}
