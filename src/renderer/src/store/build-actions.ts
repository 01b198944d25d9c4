import { slipway } from '../transport';
import { get, logKey, set } from './app-state';
import { failure, notify, notifyFailure } from './notices';
import { parseBuildArgs } from './project-actions';

export async function startBuild(): Promise<void> {
  const { project, options } = get();
  if (!project) return;
  const buildArgs = parseBuildArgs(options.buildArgs);
  try {
    const { buildId } = await slipway['build.start']({
      projectId: project.id,
      ...(options.tag.trim() ? { tag: options.tag.trim() } : {}),
      ...(options.noCache ? { noCache: true } : {}),
      ...(Object.keys(buildArgs).length > 0 ? { buildArgs } : {}),
      ...(options.network.trim() ? { network: options.network.trim() } : {}),
      concurrency: options.concurrency,
      // No region: the engine applies the pin or its own probe, and keeps the freedom to fail over.
    });
    set({ logTask: null, taskStartedMs: {}, taskRegions: {} });
    await loadBuild(buildId);
    location.hash = `#/build/${buildId}`;
  } catch (error) {
    notifyFailure('The build did not start', error);
  }
}

export async function loadBuild(buildId: string): Promise<void> {
  try {
    const build = await slipway['build.get']({ buildId });
    const current = get().build;
    // An event may have brought a fresher copy while build.get was on its way.
    if (current?.id === buildId && current.status !== 'running' && build.status === 'running') return;
    // The record's line counts join what events and reads said: the larger count is the newer.
    const logLines = current?.id === buildId ? { ...get().logLines } : {};
    for (const task of build.tasks) {
      const key = logKey(buildId, task.task.id);
      logLines[key] = Math.max(logLines[key] ?? 0, task.logLines);
    }
    set({ build, logLines });
  } catch (error) {
    notifyFailure(`Cannot open build ${buildId}`, error);
    if (get().build === null && get().screen === 'build') location.hash = '#/history';
  }
}

export async function cancelBuild(): Promise<void> {
  const build = get().build;
  if (!build) return;
  try {
    const { cancelled } = await slipway['build.cancel']({ buildId: build.id });
    if (!cancelled) notify('That build is no longer running.', 'info');
  } catch (error) {
    notifyFailure('Cannot cancel the build', error);
  }
}

/** A log viewer read more lines than events announced (a build this window did not start): keep the count. */
export function noteLogLines(buildId: string, logId: string, lines: number): void {
  const { build, logLines } = get();
  const key = logKey(buildId, logId);
  if (build?.id !== buildId || (logLines[key] ?? 0) >= lines) return;
  set({ logLines: { ...logLines, [key]: lines } });
}

export async function loadHistory(): Promise<void> {
  try {
    set({ history: await slipway['history.list']({}), historyFailure: null });
  } catch (error) {
    set({ historyFailure: failure(error) });
  }
}

export async function deleteFromHistory(buildId: string): Promise<void> {
  try {
    await slipway['history.delete']({ buildId });
    await loadHistory();
  } catch (error) {
    notifyFailure('Cannot delete the build', error);
  }
}
