import { useEffect } from 'react';
import { selectLogLines } from '../store/selectors';
import { noteLogLines, useStore } from '../store/store';
import { slipway } from '../transport';

const POLL_MS = 500;

/**
 * How many lines a log has: the store's one count (events, the build record), kept up by a poll while
 * the build runs, which covers a log written by a build this window did not start.
 */
export function useLogTotal(buildId: string, taskId: string, running: boolean): number {
  const total = useStore(selectLogLines(taskId));
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => {
      slipway['logs.read']({ buildId, taskId, fromLine: Number.MAX_SAFE_INTEGER, count: 1 }).then(
        (result) => noteLogLines(buildId, taskId, result.totalLines),
        // A log not written yet has no lines to count; the next poll asks again.
        () => undefined,
      );
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [buildId, taskId, running]);
  return total;
}
