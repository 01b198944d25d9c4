import { useCallback, useEffect, useState } from 'react';
import type { InterleavedWindow } from '../../../shared/contract';
import { slipway } from '../transport';
import { useNewestRead } from './use-newest-read';

/** The rows of the interleaved log the viewer holds: only the window in view, never the logs. */
export interface InterleavedRows {
  fromPosition: number;
  window: InterleavedWindow | null;
}

const NO_ROWS: InterleavedRows = { fromPosition: 0, window: null };
const POLL_MS = 500;

/**
 * How many positions the tasks' logs have together: asked once, polled while the build runs, and
 * raised by what each window read says (`note`).
 */
export function useInterleavedTotal(
  buildId: string,
  taskIds: readonly string[],
  running: boolean,
): { totalPositions: number; note(total: number): void } {
  const [totalPositions, setTotal] = useState(0);
  const tasksKey = taskIds.join('\n');
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new set of tasks is counted again.
  useEffect(() => {
    let alive = true;
    setTotal(0);
    const poll = () =>
      slipway['logs.interleave']({ buildId, taskIds: [...taskIds], fromPosition: Number.MAX_SAFE_INTEGER, count: 1 })
        .then((window) => alive && setTotal(window.totalPositions))
        // A log not written yet has nothing to count; the next poll asks again.
        .catch(() => undefined);
    void poll();
    const timer = running ? setInterval(poll, POLL_MS) : null;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
  }, [buildId, tasksKey, running]);
  const note = useCallback((total: number) => setTotal((current) => Math.max(current, total)), []);
  return { totalPositions, note };
}

/**
 * Keeps positions [from, from + count) of the tasks' logs, interleaved, loaded through logs.interleave:
 * one request in flight at a time, the newest wish read next; near the tail it is read again as the
 * total grows.
 */
export function useInterleavedWindow(
  buildId: string,
  taskIds: readonly string[],
  from: number,
  count: number,
  totalPositions: number,
  onTotal: (total: number) => void,
): InterleavedRows {
  // Rows are kept with the tasks they were read for: a row's task is a number into that list.
  const [rows, setRows] = useState<InterleavedRows & { tasksKey: string }>({ ...NO_ROWS, tasksKey: '' });
  const tasksKey = taskIds.join('\n');
  const logKey = `${buildId}#${tasksKey}`;
  const nearTail = from + count >= totalPositions;

  useNewestRead(logKey, `${from}+${count}#${nearTail ? totalPositions : ''}`, async (stillWanted) => {
    const window = await slipway['logs.interleave']({
      buildId,
      taskIds: [...taskIds],
      fromPosition: from,
      count: Math.max(1, count),
    });
    if (!stillWanted()) return;
    setRows({ fromPosition: window.fromPosition, window, tasksKey });
    onTotal(window.totalPositions);
  });

  return rows.tasksKey === tasksKey ? rows : NO_ROWS;
}
