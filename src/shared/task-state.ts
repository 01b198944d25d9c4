import type { TaskState } from './domain';
import { formatBytes, formatCount, formatDuration } from './format';

/**
 * The one place a task's state becomes words, for the CLI and the window alike. `title` is the phase
 * as the window shows it beside its own progress bar and figures; `line` is the state with its figures
 * on one line, as the CLI prints it (a terminal has no bar).
 */
export function describeTaskState(state: TaskState, form: 'title' | 'line' = 'title'): string {
  return form === 'title' ? titleOf(state) : lineOf(state);
}

function titleOf(state: TaskState): string {
  switch (state.phase) {
    case 'queued':
      return 'Queued';
    case 'packing':
      return state.files > 0 ? `Packing ${formatCount(state.files)} files` : 'Scanning the context';
    case 'uploading':
      return 'Uploading';
    case 'building':
      return state.steps > 0 ? `Building step ${state.step}/${state.steps}` : 'Building';
    case 'done':
      return 'Done';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
  }
}

function lineOf(state: TaskState): string {
  switch (state.phase) {
    case 'queued':
      return 'queued';
    case 'packing':
      if (state.files > 0) return `packing: ${state.files} files, ${formatBytes(state.bytes)}`;
      return state.bytesSent ? `packing: scanning, ${formatBytes(state.bytesSent)} sent so far` : 'packing: scanning';
    case 'uploading': {
      const percent = state.bytesTotal > 0 ? Math.floor((100 * state.bytesSent) / state.bytesTotal) : 0;
      return `uploading ${formatBytes(state.bytesSent)} / ${formatBytes(state.bytesTotal)} ${percent}% ${formatBytes(state.bytesPerSecond)}/s`;
    }
    case 'building':
      return state.steps > 0 ? `building step ${state.step}/${state.steps}` : 'building';
    case 'done': {
      const sent = state.bytesSent === undefined ? '' : `, ${formatBytes(state.bytesSent)} of the context sent`;
      return `done in ${formatDuration(state.durationMs)}${sent}${state.imageId ? `: ${state.imageId}` : ''}`;
    }
    case 'failed':
      return `failed: ${state.error.code}`;
    case 'cancelled':
      return 'cancelled';
  }
}

/** How far along a task is, from 0 to 1, or null when the phase has no measure. */
export function stateFraction(state: TaskState): number | null {
  switch (state.phase) {
    case 'uploading':
      return state.bytesTotal > 0 ? state.bytesSent / state.bytesTotal : 0;
    case 'building':
      // Step n is under way: n - 1 are done, and the bar stands halfway into the current one.
      return state.steps > 0 ? Math.max(0, state.step - 0.5) / state.steps : null;
    case 'done':
      return 1;
    default:
      return null;
  }
}

export function isFinished(state: TaskState): boolean {
  return state.phase === 'done' || state.phase === 'failed' || state.phase === 'cancelled';
}
