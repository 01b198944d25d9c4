import { useCallback, useMemo, useRef } from 'react';
import { errorCode, errorMessage, formatCount } from '../format';
import { stripAnsi } from '../log/ansi';
import { useFollowTail } from '../log/use-follow-tail';
import { useLogSearch } from '../log/use-log-search';
import { useLogTotal } from '../log/use-log-total';
import { useLogWindow } from '../log/use-log-window';
import { useStepFolds } from '../log/use-step-folds';
import { useVirtualRows } from '../log/use-virtual-rows';
import { noteLogLines, notify } from '../store/store';
import { slipway } from '../transport';
import { LogRow } from './log-row';
import { LogSearchBar } from './log-search-bar';
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
 * (logs.read). It follows the tail until the user scrolls up, and follows again at the bottom.
 */
export function LogViewer({ buildId, taskId, running, compact = false }: LogViewerProps) {
  const scroller = useRef<HTMLDivElement>(null);
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
  const lines = useLogWindow(buildId, taskId, runs, nearTail ? totalLines : 0, (total) =>
    noteLogLines(buildId, taskId, total),
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
  const { search, highlight, run, step } = useLogSearch(buildId, taskId, firstLineInView, showLine);

  const copyVisible = async () => {
    const text = Array.from({ length: visibleRows }, (_, i) => lines.texts.get(foldMap.lineAt(firstRow + i)))
      .filter((line): line is string => line !== undefined)
      .map(stripAnsi)
      .join('\n');
    try {
      await navigator.clipboard.writeText(text);
      notify('Copied the lines in view.', 'info');
    } catch {
      notify('The clipboard refused the copy; select the lines and copy them instead.');
    }
  };

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
        current={line === currentMatch}
      />,
    );
  }

  return (
    <section className={compact ? 'log-viewer compact' : 'log-viewer'} aria-label={`Log of ${taskId}`}>
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
        <button type="button" onClick={() => void copyVisible()}>
          Copy
        </button>
        <button type="button" onClick={() => void save()}>
          Save…
        </button>
      </div>
      {folds.failure && !compact ? <p className="log-note">{folds.failure}</p> : null}
      {/* biome-ignore lint/a11y/noStaticElementInteractions: wheel and keys on the log decide whether it follows. */}
      <div
        className="log-scroller"
        ref={scroller}
        onScroll={tail.onScroll}
        onWheel={tail.onWheel}
        onKeyDown={tail.onKeyDown}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls with the keyboard once focused.
        tabIndex={0}
        data-testid="log-scroller"
      >
        <div className="log-pane" style={{ height: view.viewportPx }}>
          <div className="log-rows" style={{ transform: `translateY(${-view.offsetPx}px)` }}>
            {totalLines === 0 ? (
              <p className="log-empty">{running ? 'Waiting for output…' : 'This log is empty.'}</p>
            ) : (
              rows
            )}
          </div>
        </div>
        <div style={{ height: view.contentPx - view.viewportPx }} />
      </div>
      {!tail.following && view.contentPx > view.viewportPx ? (
        <button type="button" className="log-follow" onClick={tail.follow}>
          ↓ Follow the tail
        </button>
      ) : null}
    </section>
  );
}
