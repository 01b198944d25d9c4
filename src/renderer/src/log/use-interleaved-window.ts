import { useEffect, useState } from 'react';
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
 * Keeps positions [from, from + count) of the tasks' logs, interleaved, loaded through logs.interleave,
 * one request in flight at a time (the newest wish is fetched next), and the number of positions: read
 * with each window, and polled while the build runs.
 */
export function useInterleavedWindow(
  buildId: string,
  taskIds: readonly string[],
  from: number,
  count: number,
  running: boolean,
): { rows: InterleavedRows; totalPositions: number } {
  // Rows are kept with the tasks they were read for: a row's task is a number into that list.
  const [rows, setRows] = useState<InterleavedRows & { tasksKey: string }>({ ...NO_ROWS, tasksKey: '' });
  const [totalPositions, setTotal] = useState(0);
  const tasksKey = taskIds.join('\n');
  // Near the tail, new lines land inside the window: read it again when the total grows.
  const nearTail = from + count >= totalPositions;
  const logKey = `${buildId}#${tasksKey}`;

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new set of tasks starts empty, and is counted again.
  useEffect(() => {
    let alive = true;
    setRows({ ...NO_ROWS, tasksKey });
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
  }, [logKey, running]);

  useNewestRead(logKey, `${from}+${count}#${nearTail ? totalPositions : ''}`, async (stillWanted) => {
    const window = await slipway['logs.interleave']({
      buildId,
      taskIds: [...taskIds],
      fromPosition: from,
      count: Math.max(1, count),
    });
    if (!stillWanted()) return;
    setRows({ fromPosition: window.fromPosition, window, tasksKey });
    setTotal((total) => Math.max(total, window.totalPositions));
  });

  return { rows: rows.tasksKey === tasksKey ? rows : NO_ROWS, totalPositions };
}
