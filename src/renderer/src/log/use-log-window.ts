import { useEffect, useRef, useState } from 'react';
import { slipway } from '../transport';

/** The lines the viewer holds: only those of the visible window (plus a little margin), never the log. */
export interface LineWindow {
  texts: Map<number, string>;
  flags: Map<number, number>;
}

const EMPTY: LineWindow = { texts: new Map(), flags: new Map() };

type Run = { from: number; count: number };
const keyOf = (runs: Run[]) => runs.map((run) => `${run.from}+${run.count}`).join(',');

/**
 * Keeps the lines of the given runs loaded through logs.read. One request is in flight at a time; when
 * the wanted window moves meanwhile, only the newest wish is fetched next. `refresh` changes when lines
 * may have been appended inside the window (the tail grew).
 */
export function useLogWindow(
  buildId: string,
  taskId: string,
  runs: Run[],
  refresh: number,
  onTotal: (totalLines: number) => void,
): LineWindow {
  const [window, setWindow] = useState<LineWindow>(EMPTY);
  const wanted = useRef({ runs, key: `${keyOf(runs)}#${refresh}` });
  wanted.current = { runs, key: `${keyOf(runs)}#${refresh}` };
  const state = useRef({ inFlight: false, fetchedKey: '', alive: true });
  const onTotalRef = useRef(onTotal);
  onTotalRef.current = onTotal;

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new task gets a new fetcher.
  useEffect(() => {
    const own = { inFlight: false, fetchedKey: '', alive: true };
    state.current = own;
    setWindow(EMPTY);
    return () => {
      own.alive = false;
    };
  }, [buildId, taskId]);

  const wantedKey = wanted.current.key;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key stands for the runs and refresh.
  useEffect(() => {
    const own = state.current;
    const fetchWanted = async () => {
      if (own.inFlight || !own.alive || own.fetchedKey === wanted.current.key) return;
      own.inFlight = true;
      const asked = wanted.current;
      try {
        const texts = new Map<number, string>();
        const flags = new Map<number, number>();
        for (const run of asked.runs) {
          const result = await slipway['logs.read']({ buildId, taskId, fromLine: run.from, count: run.count });
          result.lines.forEach((text, i) => {
            texts.set(result.fromLine + i, text);
            flags.set(result.fromLine + i, result.flags[i] ?? 0);
          });
          if (own.alive) onTotalRef.current(result.totalLines);
        }
        if (own.alive) setWindow({ texts, flags });
      } catch {
        // A log that has not been written yet reads as empty; the next wish tries again.
      } finally {
        own.fetchedKey = asked.key;
        own.inFlight = false;
      }
      if (own.alive && own.fetchedKey !== wanted.current.key) requestAnimationFrame(() => void fetchWanted());
    };
    const frame = requestAnimationFrame(() => void fetchWanted());
    return () => cancelAnimationFrame(frame);
  }, [buildId, taskId, wantedKey]);

  return window;
}
