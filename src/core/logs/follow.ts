import { type FSWatcher, watch } from 'node:fs';
import { type LineWindow, readLines } from './reader';

/** Without a file-system event a follower looks again after this long (watching can miss events). */
const FOLLOW_POLL_MS = 500;
/** A follower hands out at most this many lines at a time. */
const FOLLOW_BATCH_LINES = 1000;

export interface FollowOptions {
  fromLine?: number;
  /** True once no more lines will come (the task ended or its build is no longer running). */
  isFinished: () => Promise<boolean>;
  signal?: AbortSignal;
  batchLines?: number;
}

/**
 * Follows a task's log like `tail -f`: yields the lines from `fromLine` on in windows, waking when the
 * spool's files change (or every FOLLOW_POLL_MS), and returns once the task has finished and every
 * line was handed out. Memory stays one window whatever the log's length.
 */
export async function* followLines(
  buildDir: string,
  taskId: string,
  options: FollowOptions,
): AsyncGenerator<LineWindow> {
  const batch = options.batchLines ?? FOLLOW_BATCH_LINES;
  let next = options.fromLine ?? 0;
  let wake: (() => void) | null = null;
  let changed = false;
  const notify = () => {
    changed = true;
    wake?.();
  };
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(buildDir, notify);
    // A watcher that fails (the folder went away, too many watches) leaves the poll to do its work.
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = null;
  }
  options.signal?.addEventListener('abort', notify);
  try {
    while (!options.signal?.aborted) {
      changed = false;
      const finished = await options.isFinished();
      const window = await readLines(buildDir, taskId, next, batch);
      if (window.lines.length > 0) {
        next = window.fromLine + window.lines.length;
        yield window;
        continue;
      }
      if (finished) return;
      if (changed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FOLLOW_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    watcher?.close();
    options.signal?.removeEventListener('abort', notify);
  }
}
