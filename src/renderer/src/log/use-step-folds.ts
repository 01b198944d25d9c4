import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { LogStep } from '../../../shared/domain';
import { errorCode, errorMessage } from '../format';
import { slipway } from '../transport';
import { type FoldedRange, FoldMap, foldsAtEnd } from './fold-map';

const STEPS_REFRESH_MS = 2000;

export interface StepRange {
  step: LogStep;
  /** The lines a fold hides: from the line after the step's own to the next step's. */
  from: number;
  to: number;
}

export interface StepFolds {
  steps: LogStep[] | null;
  failure: string | null;
  /** Each step's range, by the line the step starts on. */
  ranges: Map<number, StepRange>;
  folded: Set<number>;
  foldMap: FoldMap;
  toggle(line: number): void;
  foldAll(): void;
  unfoldAll(): void;
  /** Unfolds whatever step hides `line`. */
  reveal(line: number): void;
}

/**
 * The steps of a log (logs.steps, refreshed while the build runs) and which of them are folded. When
 * the build ends while the log is shown, finished steps fold and the failed one stays open.
 */
export function useStepFolds(buildId: string, taskId: string, running: boolean, totalLines: number): StepFolds {
  const [steps, setSteps] = useState<LogStep[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [folded, setFolded] = useState<Set<number>>(new Set());
  const seen = useRef({ log: '', running });

  useEffect(() => {
    let alive = true;
    const log = `${buildId}/${taskId}`;
    const ended = seen.current.log === log && seen.current.running && !running;
    seen.current = { log, running };
    if (!ended) {
      setSteps(null);
      setFolded(new Set());
    }
    setFailure(null);
    const load = () =>
      slipway['logs.steps']({ buildId, taskId }).then(
        async (result) => {
          if (!alive) return;
          setSteps(result);
          setFailure(null);
          if (!ended) return;
          const { line } = await slipway['logs.firstError']({ buildId, taskId }).catch(() => ({ line: null }));
          if (alive) setFolded(foldsAtEnd(result, line));
        },
        (error) => {
          if (alive) setFailure(`Steps cannot be folded: ${errorCode(error)}: ${errorMessage(error)}`);
        },
      );
    void load();
    const timer = running ? setInterval(load, STEPS_REFRESH_MS) : null;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
  }, [buildId, taskId, running]);

  const ranges = useMemo(() => {
    const byLine = new Map<number, StepRange>();
    (steps ?? []).forEach((step, i) => {
      const next = steps?.[i + 1];
      byLine.set(step.line, { step, from: step.line + 1, to: next ? next.line : totalLines });
    });
    return byLine;
  }, [steps, totalLines]);

  const foldMap = useMemo(() => {
    const folds: FoldedRange[] = [];
    for (const line of folded) {
      const range = ranges.get(line);
      if (range) folds.push({ from: range.from, to: range.to });
    }
    return new FoldMap(totalLines, folds);
  }, [folded, ranges, totalLines]);

  const reveal = useCallback(
    (line: number) => {
      for (const start of folded) {
        const range = ranges.get(start);
        if (!range || line < range.from || line >= range.to) continue;
        setFolded((current) => {
          const next = new Set(current);
          next.delete(start);
          return next;
        });
      }
    },
    [folded, ranges],
  );

  return {
    steps,
    failure,
    ranges,
    folded,
    foldMap,
    toggle: (line) =>
      setFolded((current) => {
        const next = new Set(current);
        if (next.has(line)) next.delete(line);
        else next.add(line);
        return next;
      }),
    foldAll: () => setFolded(new Set((steps ?? []).map((step) => step.line))),
    unfoldAll: () => setFolded(new Set()),
    reveal,
  };
}
