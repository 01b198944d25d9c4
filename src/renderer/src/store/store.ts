// The window's store, in rooms: app-state (the state and its slices), navigation (the hash), the
// actions that send requests (project-actions, build-actions), notices, and events (a reducer that
// sends nothing). Components import from here.
import type { SlipwayEvent } from '../../../shared/contract';
import { slipway } from '../transport';
import { get, set } from './app-state';
import { loadBuild, loadHistory } from './build-actions';
import { reduceEvents } from './events';
import { FrameBatcher } from './frame-batcher';
import { openFailedLog } from './log-view';
import { route } from './navigation';
import { notifyFailure } from './notices';
import { loadSettings } from './project-actions';

export * from './app-state';
export * from './build-actions';
export * from './log-view';
export * from './navigation';
export * from './notices';
export * from './project-actions';

const RUNNING_REFRESH_MS = 5000;
let initialized = false;

export async function initialize(): Promise<void> {
  // One event stream per window, even when React mounts the app twice (StrictMode in development).
  if (initialized) return;
  initialized = true;
  const batcher = new FrameBatcher(applyEvents, (callback) => requestAnimationFrame(callback));
  slipway.onEvent((event) => batcher.push(event));
  window.addEventListener('hashchange', () => void route());
  const [info] = await Promise.allSettled([slipway['app.info']({}), loadSettings()]);
  if (info.status === 'fulfilled') set({ info: info.value });
  else notifyFailure('The engine cannot be reached', info.reason);
  await route();
  // Events can be missed (a dropped event stream reconnects); a running build is re-read now and then.
  setInterval(() => {
    const build = get().build;
    if (build?.status === 'running' && document.visibilityState === 'visible') void loadBuild(build.id);
  }, RUNNING_REFRESH_MS);
}

/** Applies one frame's worth of events to the store in a single update, then sends what they call for. */
export function applyEvents(events: SlipwayEvent[]): void {
  const { changes, followUps } = reduceEvents(get(), events, Date.now());
  set(changes);
  if (followUps.reloadBuild) void loadBuild(followUps.reloadBuild);
  if (followUps.reloadHistory) void loadHistory();
  for (const event of events) {
    // The desktop app opened a slipway:// address.
    if (event.type === 'window.route') location.hash = event.hash;
    else if (event.type === 'build.finished' && event.status === 'failed') void openFailedLog(event.buildId);
  }
}
