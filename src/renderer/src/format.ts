import type { TaskState } from '../../shared/domain';

export { formatBytes, formatDuration } from '../../shared/format';

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** The one place a task's state becomes words: every screen shows the same text for the same state. */
export function describeState(state: TaskState): string {
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

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** "E_INTERNAL: foo is not available in this version yet" is how unlanded requests answer. */
export function isNotAvailable(error: unknown): boolean {
  return /not available in this version yet/.test(errorMessage(error));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorCode(error: unknown): string {
  return (error as { code?: string })?.code ?? 'E_INTERNAL';
}
