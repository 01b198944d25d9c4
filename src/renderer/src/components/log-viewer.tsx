import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { errorCode, errorMessage, formatCount } from '../format';
import { copyLogLines, copyTexts } from '../log/copy-lines';
import { useFollowTail } from '../log/use-follow-tail';
import { type LogFinder, useLogSearch } from '../log/use-log-search';
import { useLogTotal } from '../log/use-log-total';
import { useLogWindow } from '../log/use-log-window';
import { useStepFolds } from '../log/use-step-folds';
import { useVirtualRows } from '../log/use-virtual-rows';
import { lineLink, noteLogLines, notify, useLogView } from '../store/store';
import { slipway } from '../transport';
import { LogRow } from './log-row';
import { LogScroller } from './log-scroller';
import { LogSearchBar } from './log-search-bar';
import { LogViewOptions } from './log-view-options';
import './log-viewer.css';

const OVERSCAN_ROWS = 20;

interface LogViewerProps {
  buildId: string;
  taskId: string;
  running: boolean;
  /** Several viewers side by side (all tasks at once): a smaller toolbar. */
  compact?: boolean;
}

/**
 * One task's log, virtualized: only the rows in view exist in the page and only their lines are read
 * (logs.read). It follows the tail until the user scrolls up, and follows again at the bottom. A line
 * asked for by a link (or a failed build) is brought into view once the log has it.
 */
export function LogViewer({ buildId, taskId, running, compact = false }: LogViewerProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const showTimes = useLogView((state) => state.showTimes);
  const wrap = useLogView((state) => state.wrap);
  const target = useLogView((state) => state.target);
  const [pointed, setPointed] = useState<number | null>(null);
  const totalLines = useLogTotal(buildId, taskId, running);
  const folds = useStepFolds(buildId, taskId, running, totalLines);
  const { foldMap } = folds;
  const view = useVirtualRows(scroller, foldMap.rows);
  const tail = useFollowTail(scroller, view, foldMap.rows, `${buildId}/${taskId}`);
  const { firstRow, visibleRows } = view;

  const runs = useMemo(() => {
    const from = Math.max(0, firstRow - OVERSCAN_ROWS);
    return foldMap.runs(from, visibleRows + 2 * OVERSCAN_ROWS);
  }, [foldMap, firstRow, visibleRows]);
  // Near the tail, new lines land inside the window: read it again when the total grows.
  const nearTail = firstRow + visibleRows + OVERSCAN_ROWS >= foldMap.rows;
  const lines = useLogWindow(
    buildId,
    taskId,
    runs,
    nearTail ? totalLines : 0,
    (total) => noteLogLines(buildId, taskId, total),
    showTimes,
  );

  const { reveal } = folds;
  const { stop } = tail;
  const { scrollTo, scrollTopForRow } = view;
  const showLine = useCallback(
    (line: number) => {
      // A match inside a folded step unfolds it.
      reveal(line);
      stop();
      scrollTo(scrollTopForRow(Math.max(0, foldMap.rowOf(line) - Math.floor(visibleRows / 3))));
    },
    [reveal, stop, scrollTo, scrollTopForRow, foldMap, visibleRows],
  );
  const firstLineInView = useCallback(() => foldMap.lineAt(firstRow), [foldMap, firstRow]);
  const find = useCallback<LogFinder>(
    (query, regex, limit) => slipway['logs.search']({ buildId, taskId, query, regex, limit }),
    [buildId, taskId],
  );
  const { search, highlight, run, step } = useLogSearch(`${buildId}/${taskId}`, find, firstLineInView, showLine);

  // A link's line (or a failed build's error): shown once the log holds it, then marked.
  const shownTarget = useRef(0);
  useEffect(() => {
    if (!target || target.buildId !== buildId || target.taskId !== taskId || shownTarget.current === target.seq) return;
    if (target.line >= totalLines) return;
    shownTarget.current = target.seq;
    setPointed(target.line);
    showLine(target.line);
  }, [target, buildId, taskId, totalLines, showLine]);

  const firstError = async () => {
    try {
      const { line } = await slipway['logs.firstError']({ buildId, taskId });
      if (line === null) notify('This log has no line marked as an error.', 'info');
      else {
        setPointed(line);
        showLine(line);
      }
    } catch (error) {
      notify(`Cannot find the first error: ${errorCode(error)}: ${errorMessage(error)}`);
    }
  };

  const copyVisible = () =>
    copyTexts(
      Array.from({ length: visibleRows }, (_, i) => lines.texts.get(foldMap.lineAt(firstRow + i))).filter(
        (line): line is string => line !== undefined,
      ),
    );
  const { ranges } = folds;
  const copyStep = useCallback(
    (line: number) => {
      const range = ranges.get(line);
      if (range) void copyLogLines(buildId, taskId, line, range.to);
    },
    [ranges, buildId, taskId],
  );

  const save = async () => {
    try {
      const result = await slipway['logs.save']({ buildId, taskId });
      if (result.downloadUrl) {
        const link = document.createElement('a');
        link.href = result.downloadUrl;
        link.download = '';
        link.click();
      } else if (result.path) notify(`Saved to ${result.path}`, 'info');
    } catch (error) {
      notify(`Cannot save the log: ${errorCode(error)}: ${errorMessage(error)}`);
    }
  };

  const currentMatch = search.matches[search.index];
  // Wrapped rows are taller than a row's share of the scrollbar: at the end they sit on the bottom edge.
  const atEnd = firstRow + visibleRows >= foldMap.rows;
  const rows = [];
  for (let i = 0; i < visibleRows && firstRow + i < foldMap.rows; i++) {
    const line = foldMap.lineAt(firstRow + i);
    const range = folds.ranges.get(line);
    rows.push(
      <LogRow
        key={line}
        line={line}
        text={lines.texts.get(line)}
        flags={lines.flags.get(line) ?? 0}
        step={range ? { durationMs: range.step.durationMs, hidden: range.to - range.from } : null}
        folded={folds.folded.has(line)}
        onToggle={folds.toggle}
        highlight={highlight}
        current={line === currentMatch || line === pointed}
        href={lineLink(buildId, taskId, line)}
        atMs={showTimes ? (lines.atMs.get(line) ?? 0) : undefined}
        onCopyStep={compact ? undefined : copyStep}
      />,
    );
  }

  return (
    <section
      className={['log-viewer', compact ? 'compact' : '', wrap ? 'wrap' : ''].filter(Boolean).join(' ')}
      aria-label={`Log of ${taskId}`}
    >
      <div className="log-toolbar">
        <LogSearchBar
          search={search}
          onQuery={(query, regex) => void run(query, regex)}
          onNext={() => step(1)}
          onPrevious={() => step(-1)}
          compact={compact}
        />
        <span className="log-count" data-testid="log-line-count">
          {formatCount(totalLines)} lines
        </span>
        {folds.steps && folds.steps.length > 0 && !compact ? (
          <>
            <button type="button" onClick={folds.foldAll}>
              Fold steps
            </button>
            <button type="button" onClick={folds.unfoldAll}>
              Unfold
            </button>
          </>
        ) : null}
        {compact ? null : <LogViewOptions onFirstError={() => void firstError()} takesKeys />}
        <button type="button" onClick={() => void copyVisible()}>
          Copy
        </button>
        <button type="button" onClick={() => void save()}>
          Save…
        </button>
      </div>
      {folds.failure && !compact ? <p className="log-note">{folds.failure}</p> : null}
      <LogScroller
        scroller={scroller}
        view={view}
        tail={tail}
        wrap={wrap}
        atEnd={atEnd}
        empty={totalLines > 0 ? null : running ? 'Waiting for output…' : 'This log is empty.'}
      >
        {rows}
      </LogScroller>
    </section>
  );
}
