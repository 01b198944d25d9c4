import { useEffect, useState } from 'react';
import type { BuildTimeline } from '../../../shared/timeline';
import { errorCode, errorMessage } from '../format';
import { slipway } from '../transport';

/** How often a running build's timeline is read again. */
const RUNNING_REFRESH_MS = 1000;

export type TimelineAnswer =
  | { state: 'loading' }
  | { state: 'ready'; timeline: BuildTimeline }
  | { state: 'failed'; code: string; message: string };

/**
 * A build's timeline (build.timeline), read again every second while the build runs and once more
 * when it ends (`version` changes: the record's final figures).
 */
export function useTimeline(buildId: string, running: boolean, version: string): TimelineAnswer {
  const [answer, setAnswer] = useState<TimelineAnswer>({ state: 'loading' });
  // biome-ignore lint/correctness/useExhaustiveDependencies: version only says when to read again
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const read = () => {
      slipway['build.timeline']({ buildId }).then(
        (timeline) => {
          if (stopped) return;
          setAnswer({ state: 'ready', timeline });
          if (running) timer = setTimeout(read, RUNNING_REFRESH_MS);
        },
        (error: unknown) => {
          if (!stopped) setAnswer({ state: 'failed', code: errorCode(error), message: errorMessage(error) });
        },
      );
    };
    read();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [buildId, running, version]);
  return answer;
}
