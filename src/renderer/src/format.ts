// How figures and errors read in the window; the words for a task's state are src/shared/task-state.ts.
export { formatBytes, formatCount, formatDuration } from '../../shared/format';

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** The message of an error a request answered with (a ContractError, see transport.ts). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The contract's code of an error a request answered with; E_INTERNAL for anything without one. */
export function errorCode(error: unknown): string {
  return (error as { code?: string })?.code ?? 'E_INTERNAL';
}
