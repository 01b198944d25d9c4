import type { SlipwayEvent } from '../../../shared/contract';
import type { Build, TaskState } from '../../../shared/domain';
import { isFinished } from '../../../shared/task-state';
import { type AppState, type BuildState, logKey } from './app-state';

/** What a frame of events asks for beyond the store: the caller sends these requests. */
export interface FollowUps {
  /** Re-read this build's record (it finished: the engine has its final figures). */
  reloadBuild: string | null;
  /** Re-read the history list (the history screen is open and something changed). */
  reloadHistory: boolean;
}

type EventChanges = Pick<AppState, keyof BuildState | 'probe' | 'history'>;

function withTask(build: Build, taskId: string, change: (task: Build['tasks'][number]) => Build['tasks'][number]) {
  // Only the task that changed is a new object: the rows of the others keep theirs, and do not re-render.
  return { ...build, tasks: build.tasks.map((task) => (task.task.id === taskId ? change(task) : task)) };
}

function noteStart(startedMs: Record<string, number>, taskId: string, state: TaskState, nowMs: number) {
  if (state.phase === 'queued' || startedMs[taskId] !== undefined || isFinished(state)) return startedMs;
  return { ...startedMs, [taskId]: nowMs };
}

/**
 * Folds one frame's worth of events into the store's next state, and says which requests they call
 * for; it sends none itself, so it is a plain function of the state and the events.
 */
export function reduceEvents(
  state: AppState,
  events: SlipwayEvent[],
  nowMs: number,
): { changes: EventChanges; followUps: FollowUps } {
  let { build, taskStartedMs, taskRegions, logLines, probe, history } = state;
  const followUps: FollowUps = { reloadBuild: null, reloadHistory: false };
  let historyChanged = false;
  for (const event of events) {
    switch (event.type) {
      case 'build.started':
        if (build?.id === event.build.id || (build === null && state.screen === 'build')) build = event.build;
        historyChanged = true;
        break;
      case 'task.state':
        if (build?.id === event.buildId) {
          build = withTask(build, event.taskId, (task) => ({ ...task, state: event.state }));
          taskStartedMs = noteStart(taskStartedMs, event.taskId, event.state, nowMs);
        }
        break;
      case 'task.log': {
        // Only the count changes: the build and its tasks stay the same objects.
        const key = logKey(event.buildId, event.taskId);
        if (build?.id === event.buildId && (logLines[key] ?? 0) < event.lines) {
          logLines = { ...logLines, [key]: event.lines };
        }
        break;
      }
      case 'task.region':
        if (build?.id === event.buildId) {
          taskRegions = { ...taskRegions, [event.taskId]: { region: event.region, reason: event.reason } };
          build = withTask(build, event.taskId, (task) => ({
            ...task,
            region: event.region,
            builder: event.builder ?? task.builder,
          }));
        }
        break;
      case 'regions.probed':
        probe = event.result;
        break;
      case 'history.changed':
        historyChanged = true;
        break;
      case 'build.finished':
        if (build?.id === event.buildId) {
          build = { ...build, status: event.status, error: event.error, finishedAt: new Date(nowMs).toISOString() };
          followUps.reloadBuild = event.buildId;
        }
        historyChanged = true;
        break;
    }
  }
  if (historyChanged && state.screen === 'history') followUps.reloadHistory = true;
  else if (historyChanged) history = null;
  return { changes: { build, taskStartedMs, taskRegions, logLines, probe, history }, followUps };
}
