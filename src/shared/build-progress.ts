// How far a build has come, as one fraction: the taskbar's progress (Electron) and the tab's title
// (browser mode) say the same.
import type { Build, BuildStatus, TaskState } from './domain';

/** A task's share of its work done: the upload is its first third, its steps the rest. */
export function taskProgress(state: TaskState): number {
  switch (state.phase) {
    case 'queued':
    case 'packing':
      return 0;
    case 'uploading':
      return state.bytesTotal > 0 ? state.bytesSent / state.bytesTotal / 3 : 0;
    case 'building':
      return state.steps > 0 ? 1 / 3 + ((2 / 3) * Math.max(0, state.step - 1)) / state.steps : 1 / 3;
    case 'done':
    case 'failed':
    case 'cancelled':
      return 1;
  }
}

/** A running build's progress from 0 to 1: the mean of its tasks'. */
export function buildProgress(build: Pick<Build, 'tasks'>): number {
  if (build.tasks.length === 0) return 0;
  const total = build.tasks.reduce((sum, task) => sum + taskProgress(task.state), 0);
  return Math.min(1, total / build.tasks.length);
}

const ENDINGS: Record<Exclude<BuildStatus, 'running'>, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'was cancelled',
  interrupted: 'was interrupted',
};

/** What a notification says when a build ends: "shop succeeded", "shop failed: api: E_BUILD_FAILED". */
export function buildEndText(
  build: Pick<Build, 'projectPath' | 'tasks'>,
  status: BuildStatus,
): {
  title: string;
  body: string;
} {
  const project = build.projectPath.split(/[\\/]/).filter(Boolean).pop() ?? build.projectPath;
  const title = `${project} ${status === 'running' ? 'is building' : ENDINGS[status]}`;
  const failed = build.tasks.flatMap((task) =>
    task.state.phase === 'failed' ? [`${task.task.service}: ${task.state.error.code}`] : [],
  );
  const done = build.tasks.filter((task) => task.state.phase === 'done').length;
  const body =
    failed.length > 0
      ? failed.join(', ')
      : `${done} of ${build.tasks.length} task${build.tasks.length === 1 ? '' : 's'} built`;
  return { title, body };
}
