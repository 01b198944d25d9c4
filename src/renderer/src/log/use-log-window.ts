import { useEffect, useRef, useState } from 'react';
import { slipway } from '../transport';
import { useNewestRead } from './use-newest-read';

/** The lines the viewer holds: only those of the visible window (plus a little margin), never the log. */
export interface LineWindow {
  texts: Map<number, string>;
  flags: Map<number, number>;
  /** When each line was spooled, when times were asked for. */
  atMs: Map<number, number>;
}

const EMPTY: LineWindow = { texts: new Map(), flags: new Map(), atMs: new Map() };

type Run = { from: number; count: number };
const keyOf = (runs: Run[]) => runs.map((run) => `${run.from}+${run.count}`).join(',');

/**
 * Keeps the lines of the given runs loaded through logs.read. One request is in flight at a time; when
 * the wanted window moves meanwhile, only the newest wish is fetched next. `refresh` changes when lines
 * may have been appended inside the window (the tail grew). With `times`, each line's spool time too.
 */
export function useLogWindow(
  buildId: string,
  taskId: string,
  runs: Run[],
  refresh: number,
  onTotal: (totalLines: number) => void,
  times = false,
): LineWindow {
  const [window, setWindow] = useState<LineWindow>(EMPTY);
  const logKey = `${buildId}/${taskId}`;
  const key = `${keyOf(runs)}#${refresh}${times ? '@' : ''}`;
  const onTotalRef = useRef(onTotal);
  onTotalRef.current = onTotal;

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new log starts empty.
  useEffect(() => setWindow(EMPTY), [logKey]);

  useNewestRead(logKey, key, async (stillWanted) => {
    const texts = new Map<number, string>();
    const flags = new Map<number, number>();
    const atMs = new Map<number, number>();
    for (const run of runs) {
      const result = await slipway['logs.read']({
        buildId,
        taskId,
        fromLine: run.from,
        count: run.count,
        times: times || undefined,
      });
      result.lines.forEach((text, i) => {
        texts.set(result.fromLine + i, text);
        flags.set(result.fromLine + i, result.flags[i] ?? 0);
        const at = result.atMs?.[i];
        if (at !== undefined) atMs.set(result.fromLine + i, at);
      });
      if (stillWanted()) onTotalRef.current(result.totalLines);
    }
    if (stillWanted()) setWindow({ texts, flags, atMs });
  });

  return window;
}
