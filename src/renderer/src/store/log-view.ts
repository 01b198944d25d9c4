import { create } from 'zustand';
import { failedLogToOpen } from '../log/failed-log';
import { lineLink } from '../log/line-link';
import { slipway } from '../transport';
import { get } from './app-state';

export { lineLink } from '../log/line-link';

// How logs are read (times, wrap: kept across reloads), and the line a link or a failure asks to show.

/** A line to bring into view once its log is shown: a link, or a failed build's first error. */
export interface LogTarget {
  buildId: string;
  taskId: string;
  /** Counted from 0, as the engine counts lines. */
  line: number;
  /** A new number for every request, so the same line asked again is shown again. */
  seq: number;
}

export interface LogViewState {
  showTimes: boolean;
  wrap: boolean;
  target: LogTarget | null;
}

const PREFS_KEY = 'slipway.logView';

function storedPrefs(): Pick<LogViewState, 'showTimes' | 'wrap'> {
  try {
    const value = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Partial<LogViewState>;
    return { showTimes: value.showTimes === true, wrap: value.wrap === true };
  } catch {
    return { showTimes: false, wrap: false };
  }
}

export const useLogView = create<LogViewState>(() => ({ ...storedPrefs(), target: null }));

export function setLogPrefs(change: Partial<Pick<LogViewState, 'showTimes' | 'wrap'>>): void {
  useLogView.setState(change);
  const { showTimes, wrap } = useLogView.getState();
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify({ showTimes, wrap }));
  } catch {
    // A browser that keeps nothing still shows the choice until the page is closed.
  }
}

let targets = 0;

/** Asks the viewer of that log to bring a line into view (it does once it is shown). */
export function targetLine(buildId: string, taskId: string, line: number): void {
  targets += 1;
  useLogView.setState({ target: { buildId, taskId, line, seq: targets } });
}

/**
 * A build that failed while shown: its failed task's log opens at its first error (its last line when
 * nothing is marked as an error); see failedLogToOpen for when it does not.
 */
export async function openFailedLog(buildId: string): Promise<void> {
  const { build, screen, logTask } = get();
  if (build?.id !== buildId || screen !== 'build') return;
  const taskId = failedLogToOpen(build.tasks, logTask);
  if (taskId === null) return;
  let line: number | null = null;
  try {
    line = (await slipway['logs.firstError']({ buildId, taskId })).line;
    if (line === null) {
      const { totalLines } = await slipway['logs.read']({
        buildId,
        taskId,
        fromLine: Number.MAX_SAFE_INTEGER,
        count: 1,
      });
      line = Math.max(0, totalLines - 1);
    }
  } catch {
    line = 0;
  }
  if (get().build?.id !== buildId) return;
  location.hash = lineLink(buildId, taskId, line);
}
