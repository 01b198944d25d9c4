import type { BuildTask } from '../../../shared/domain';
import { type AppState, logKey } from './app-state';

// What a component reads of the store, one value each: a component re-renders only when what its
// selector answers changes (Object.is), so one task's events re-render only that task's row.

export const selectTask =
  (taskId: string) =>
  (state: AppState): BuildTask | undefined =>
    state.build?.tasks.find((task) => task.task.id === taskId);

/** The line count of one log of the shown build (a task's, or the builder's own). */
export const selectLogLines =
  (logId: string) =>
  (state: AppState): number =>
    state.build ? (state.logLines[logKey(state.build.id, logId)] ?? 0) : 0;

export const selectTaskRegion =
  (taskId: string) =>
  (state: AppState): { region: string; reason: string } | null =>
    state.taskRegions[taskId] ?? null;

export const selectTaskStartedMs =
  (taskId: string) =>
  (state: AppState): number | undefined =>
    state.taskStartedMs[taskId];

/** The ids of the shown build's tasks, joined: a string stays equal while the tasks stay the same. */
export const selectTaskIds = (state: AppState): string =>
  (state.build?.tasks ?? []).map((task) => task.task.id).join('\0');
