import type { App } from 'electron';
import { isPlainId } from '../core/builds/build-ids';

/** The scheme the desktop app opens: slipway://build/<id>/<task>/<n> shows line n (from 1) of a task's log. */
export const LINK_SCHEME = 'slipway';

/**
 * The window's route (a hash) for a slipway:// address, or null for anything else: only a build, and
 * optionally a task and a line, of plain ids and numbers. It is the same route browser mode's links
 * carry (#build/<id>/<task>/<n>), so a link copied from either opens in both.
 */
export function routeOfLink(url: string): string | null {
  const prefix = `${LINK_SCHEME}://`;
  if (!url.toLowerCase().startsWith(prefix)) return null;
  let parts: string[];
  try {
    parts = url
      .slice(prefix.length)
      .replace(/[?#].*$/, '')
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
  } catch {
    return null;
  }
  const [kind, buildId, taskId, line, ...rest] = parts;
  if (kind !== 'build' || !buildId || !isPlainId(buildId) || rest.length > 0) return null;
  if (taskId === undefined) return `#/build/${buildId}`;
  if (!isPlainId(taskId)) return null;
  if (line === undefined) return `#/build/${buildId}/log/${taskId}`;
  return /^[1-9]\d{0,15}$/.test(line) ? `#build/${buildId}/${taskId}/${line}` : null;
}

/** The first slipway:// address among a process's arguments (how Windows and Linux hand one over). */
export function linkInArgv(argv: readonly string[]): string | null {
  return argv.find((arg) => arg.toLowerCase().startsWith(`${LINK_SCHEME}://`)) ?? null;
}

type LinkApp = Pick<App, 'on' | 'setAsDefaultProtocolClient' | 'requestSingleInstanceLock' | 'quit'>;

/**
 * Makes the app the handler of slipway:// and hands every address it is given to `open` as a route:
 * on macOS through open-url, elsewhere through the arguments of the first instance or of a second
 * one (which quits at once, leaving the address to the first). False when this instance must quit.
 */
export function wireDeepLinks(app: LinkApp, argv: readonly string[], open: (route: string) => void): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.setAsDefaultProtocolClient(LINK_SCHEME);
  const handle = (url: string | null) => {
    const route = url === null ? null : routeOfLink(url);
    if (route) open(route);
  };
  app.on('open-url', (event, url) => {
    event.preventDefault();
    handle(url);
  });
  app.on('second-instance', (_event, secondArgv) => handle(linkInArgv(secondArgv)));
  handle(linkInArgv(argv));
  return true;
}
