import { ALL_TASKS, ONE_LOG } from '../store/app-state';

/**
 * The log a failed build opens: its first failed task's, unless the user is reading another single
 * log (another task's, or the builder's own), which stays; every task's logs, shown together, give way
 * to the failed one's.
 */
export function failedLogToOpen(
  tasks: readonly { task: { id: string }; state: { phase: string } }[],
  shownLog: string | null,
): string | null {
  const failed = tasks.find((task) => task.state.phase === 'failed')?.task.id ?? null;
  if (failed === null || shownLog === null || shownLog === failed) return failed;
  return shownLog === ALL_TASKS || shownLog === ONE_LOG ? failed : null;
}
