import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { LogStep } from '../../../shared/domain';
import { errorCode, errorMessage, formatCount, formatDuration, isNotAvailable } from '../format';
import { parseAnsi, stripAnsi } from '../log/ansi';
import { type FoldedRange, FoldMap } from '../log/fold-map';
import { useLogWindow } from '../log/use-log-window';
import { noteLogLines, notify } from '../store/store';
import { slipway } from '../transport';
import './log-viewer.css';

/** Every row is one line high, so the row under any scroll offset is a division away. */
export const ROW_PX = 18;
/** Browsers cap an element's height (Chromium near 33.5 million px); past this, the scrollbar is scaled. */
const MAX_SCROLL_PX = 8_000_000;
const OVERSCAN_ROWS = 20;
const POLL_MS = 500;
const STEP_TEXT = /^(?:STEP|Step) \d+\/\d+\s?:/;

interface LogViewerProps {
  buildId: string;
  taskId: string;
  /** Lines known from task.log events. */
  knownLines: number;
  running: boolean;
  /** Several viewers side by side (all tasks at once): a smaller toolbar. */
  compact?: boolean;
}

interface SearchState {
  query: string;
  regex: boolean;
  matches: number[];
  truncated: boolean;
  index: number;
  failure: string | null;
  busy: boolean;
}

const noSearch: SearchState = {
  query: '',
  regex: false,
  matches: [],
  truncated: false,
  index: -1,
  failure: null,
  busy: false,
};

/**
 * One task's log, virtualized: only the rows in view exist in the page and only their lines are read
 * (logs.read). It follows the tail until the user scrolls up, and follows again at the bottom.
 */
export function LogViewer({ buildId, taskId, knownLines, running, compact = false }: LogViewerProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [viewportPx, setViewportPx] = useState(400);
  const [scrollTop, setScrollTop] = useState(0);
  const [polledLines, setPolledLines] = useState(0);
  const [following, setFollowing] = useState(true);
  const followingRef = useRef(true);
  const [steps, setSteps] = useState<LogStep[] | null>(null);
  const [stepsFailure, setStepsFailure] = useState<string | null>(null);
  const [folded, setFolded] = useState<Set<number>>(new Set());
  const [search, setSearch] = useState<SearchState>(noSearch);
  const programmaticScroll = useRef(false);

  const totalLines = Math.max(knownLines, polledLines);
  useEffect(() => {
    if (polledLines > knownLines) noteLogLines(buildId, taskId, polledLines);
  }, [buildId, taskId, polledLines, knownLines]);

  // A fresh task starts fresh.
  // biome-ignore lint/correctness/useExhaustiveDependencies: resets whenever the task changes.
  useEffect(() => {
    setPolledLines(0);
    setFollowing(true);
    followingRef.current = true;
    setFolded(new Set());
    setSearch(noSearch);
    setSteps(null);
    setStepsFailure(null);
  }, [buildId, taskId]);

  // Events say how many lines there are; a poll covers a log written by a build this window did not start.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => {
      slipway['logs.read']({ buildId, taskId, fromLine: Number.MAX_SAFE_INTEGER, count: 1 }).then(
        (result) => setPolledLines((lines) => Math.max(lines, result.totalLines)),
        () => undefined,
      );
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [buildId, taskId, running]);

  // Steps (for folding) come from the engine; while the build runs they are refreshed now and then.
  useEffect(() => {
    let alive = true;
    const load = () =>
      slipway['logs.steps']({ buildId, taskId }).then(
        (result) => {
          if (!alive) return;
          setSteps(result);
          setStepsFailure(null);
        },
        (error) => {
          if (!alive) return;
          setStepsFailure(
            isNotAvailable(error)
              ? 'Step folding needs an engine that lists steps (logs.steps); this one does not yet.'
              : `${errorCode(error)}: ${errorMessage(error)}`,
          );
        },
      );
    void load();
    const timer = running ? setInterval(load, 2000) : null;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
  }, [buildId, taskId, running]);

  const stepRanges = useMemo(() => {
    const ranges = new Map<number, { step: LogStep; from: number; to: number }>();
    (steps ?? []).forEach((step, i) => {
      const next = steps?.[i + 1];
      ranges.set(step.line, { step, from: step.line + 1, to: next ? next.line : totalLines });
    });
    return ranges;
  }, [steps, totalLines]);

  const foldMap = useMemo(() => {
    const folds: FoldedRange[] = [];
    for (const line of folded) {
      const range = stepRanges.get(line);
      if (range) folds.push({ from: range.from, to: range.to });
    }
    return new FoldMap(totalLines, folds);
  }, [folded, stepRanges, totalLines]);

  const visibleRows = Math.max(1, Math.ceil(viewportPx / ROW_PX) + 1);
  const naturalPx = foldMap.rows * ROW_PX;
  const scaled = naturalPx > MAX_SCROLL_PX;
  const contentPx = Math.max(viewportPx, Math.min(naturalPx, MAX_SCROLL_PX));
  const maxScrollPx = Math.max(0, contentPx - viewportPx);
  // At the bottom the last line sits whole at the bottom edge.
  const maxFirstRow = Math.max(0, foldMap.rows - Math.floor(viewportPx / ROW_PX));
  const firstRow = scaled
    ? Math.round((scrollTop / Math.max(1, maxScrollPx)) * maxFirstRow)
    : Math.min(Math.floor(scrollTop / ROW_PX), maxFirstRow);
  const offsetPx = scaled ? 0 : scrollTop - firstRow * ROW_PX;

  const scrollTopForRow = useCallback(
    (row: number) => (scaled ? (row / Math.max(1, maxFirstRow)) * maxScrollPx : row * ROW_PX),
    [scaled, maxFirstRow, maxScrollPx],
  );

  const runs = useMemo(() => {
    const from = Math.max(0, firstRow - OVERSCAN_ROWS);
    return foldMap.runs(from, visibleRows + 2 * OVERSCAN_ROWS);
  }, [foldMap, firstRow, visibleRows]);
  // Near the tail, new lines land inside the window: read it again when the total grows.
  const nearTail = firstRow + visibleRows + OVERSCAN_ROWS >= foldMap.rows;
  const lines = useLogWindow(buildId, taskId, runs, nearTail ? totalLines : 0, (total) =>
    setPolledLines((known) => Math.max(known, total)),
  );

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setViewportPx(element.clientHeight));
    observer.observe(element);
    setViewportPx(element.clientHeight);
    return () => observer.disconnect();
  }, []);

  // Following: keep the scrollbar at the bottom as the log grows.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs whenever the content or the viewport changes size.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || !following) return;
    const bottom = element.scrollHeight - element.clientHeight;
    if (Math.abs(element.scrollTop - bottom) > 1) {
      const before = element.scrollTop;
      element.scrollTop = bottom;
      // Only a scroll that happened fires an event to ignore.
      if (element.scrollTop !== before) programmaticScroll.current = true;
      setScrollTop(element.scrollTop);
    }
  }, [following, contentPx, viewportPx, foldMap.rows]);

  // With a scaled scrollbar the same offset names a later row as the log grows: a reader's row is kept.
  const anchorRow = useRef(0);
  const rowAt = (top: number) =>
    scaled ? Math.round((top / Math.max(1, maxScrollPx)) * maxFirstRow) : Math.floor(top / ROW_PX);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the number of rows changes.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || followingRef.current || !scaled) return;
    const wanted = scrollTopForRow(anchorRow.current);
    if (Math.abs(element.scrollTop - wanted) < 1) return;
    const before = element.scrollTop;
    element.scrollTop = wanted;
    if (element.scrollTop !== before) programmaticScroll.current = true;
    setScrollTop(element.scrollTop);
  }, [foldMap.rows]);

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    setScrollTop(element.scrollTop);
    anchorRow.current = rowAt(element.scrollTop);
    if (programmaticScroll.current) {
      programmaticScroll.current = false;
      return;
    }
    const atBottom = element.scrollTop >= element.scrollHeight - element.clientHeight - ROW_PX;
    if (atBottom !== followingRef.current) {
      followingRef.current = atBottom;
      setFollowing(atBottom);
    }
  };

  const scrollToLine = useCallback(
    (line: number) => {
      const element = scroller.current;
      if (!element) return;
      // A match inside a folded step unfolds it.
      for (const start of folded) {
        const range = stepRanges.get(start);
        if (range && line >= range.from && line < range.to) {
          setFolded((current) => {
            const next = new Set(current);
            next.delete(start);
            return next;
          });
        }
      }
      followingRef.current = false;
      setFollowing(false);
      const row = Math.max(0, foldMap.rowOf(line) - Math.floor(visibleRows / 3));
      const before = element.scrollTop;
      element.scrollTop = scrollTopForRow(row);
      if (element.scrollTop !== before) programmaticScroll.current = true;
      setScrollTop(element.scrollTop);
    },
    [folded, stepRanges, foldMap, visibleRows, scrollTopForRow],
  );

  // Scrolling up by wheel or key stops following at once, even while new lines keep the bar moving.
  const stopFollowing = () => {
    if (!followingRef.current) return;
    followingRef.current = false;
    setFollowing(false);
  };
  const onWheel = (event: React.WheelEvent) => {
    if (event.deltaY < 0) stopFollowing();
  };
  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === 'PageUp' || event.key === 'ArrowUp' || event.key === 'Home') stopFollowing();
  };

  const follow = () => {
    followingRef.current = true;
    setFollowing(true);
  };

  const toggleFold = (line: number) =>
    setFolded((current) => {
      const next = new Set(current);
      if (next.has(line)) next.delete(line);
      else next.add(line);
      return next;
    });

  // --- search ---
  const runSearch = useCallback(
    async (query: string, regex: boolean) => {
      if (!query) {
        setSearch({ ...noSearch, regex });
        return;
      }
      setSearch((current) => ({ ...current, query, regex, busy: true }));
      try {
        const result = await slipway['logs.search']({ buildId, taskId, query, regex, limit: 10_000 });
        const first = result.matches.findIndex((line) => line >= foldMap.lineAt(firstRow));
        const index = result.matches.length === 0 ? -1 : first === -1 ? 0 : first;
        setSearch({
          query,
          regex,
          matches: result.matches,
          truncated: result.truncated,
          index,
          failure: null,
          busy: false,
        });
        const line = result.matches[index];
        if (line !== undefined) scrollToLine(line);
      } catch (error) {
        setSearch({
          ...noSearch,
          query,
          regex,
          failure: isNotAvailable(error)
            ? 'Search needs an engine that searches logs (logs.search); this one does not yet.'
            : `${errorCode(error)}: ${errorMessage(error)}`,
        });
      }
    },
    [buildId, taskId, foldMap, firstRow, scrollToLine],
  );

  const step = (delta: number) => {
    if (search.matches.length === 0) return;
    const index = (search.index + delta + search.matches.length) % search.matches.length;
    setSearch((current) => ({ ...current, index }));
    scrollToLine(search.matches[index] as number);
  };

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
  const highlight = useMemo(() => highlightPattern(search), [search]);
  const rows = [];
  for (let i = 0; i < visibleRows && firstRow + i < foldMap.rows; i++) {
    const line = foldMap.lineAt(firstRow + i);
    const range = stepRanges.get(line);
    rows.push(
      <LogRow
        key={line}
        line={line}
        text={lines.texts.get(line)}
        flags={lines.flags.get(line) ?? 0}
        step={range ? { durationMs: range.step.durationMs, hidden: range.to - range.from } : null}
        folded={folded.has(line)}
        onToggle={toggleFold}
        highlight={highlight}
        current={line === currentMatch}
      />,
    );
  }

  return (
    <section className={compact ? 'log-viewer compact' : 'log-viewer'} aria-label={`Log of ${taskId}`}>
      <div className="log-toolbar">
        <LogSearch
          search={search}
          onQuery={(query, regex) => void runSearch(query, regex)}
          onNext={() => step(1)}
          onPrevious={() => step(-1)}
          compact={compact}
        />
        <span className="log-count" data-testid="log-line-count">
          {formatCount(totalLines)} lines
        </span>
        {steps && steps.length > 0 && !compact ? (
          <>
            <button type="button" onClick={() => setFolded(new Set(steps.map((s) => s.line)))}>
              Fold steps
            </button>
            <button type="button" onClick={() => setFolded(new Set())}>
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
      {stepsFailure && !compact ? <p className="log-note">{stepsFailure}</p> : null}
      {/* biome-ignore lint/a11y/noStaticElementInteractions: wheel and keys on the log decide whether it follows. */}
      <div
        className="log-scroller"
        ref={scroller}
        onScroll={onScroll}
        onWheel={onWheel}
        onKeyDown={onKeyDown}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls with the keyboard once focused.
        tabIndex={0}
        data-testid="log-scroller"
      >
        <div className="log-pane" style={{ height: viewportPx }}>
          <div className="log-rows" style={{ transform: `translateY(${-offsetPx}px)` }}>
            {totalLines === 0 ? (
              <p className="log-empty">{running ? 'Waiting for output…' : 'This log is empty.'}</p>
            ) : (
              rows
            )}
          </div>
        </div>
        <div style={{ height: contentPx - viewportPx }} />
      </div>
      {!following && contentPx > viewportPx ? (
        <button type="button" className="log-follow" onClick={follow}>
          ↓ Follow the tail
        </button>
      ) : null}
    </section>
  );
}

interface LogSearchProps {
  search: SearchState;
  compact: boolean;
  onQuery(query: string, regex: boolean): void;
  onNext(): void;
  onPrevious(): void;
}

function LogSearch({ search, compact, onQuery, onNext, onPrevious }: LogSearchProps) {
  const [text, setText] = useState(search.query);
  const [regex, setRegex] = useState(search.regex);
  useEffect(() => setText(search.query), [search.query]);
  const status = search.failure
    ? search.failure
    : search.busy
      ? 'Searching…'
      : search.query
        ? search.matches.length === 0
          ? 'No matches'
          : `${search.index + 1} of ${formatCount(search.matches.length)}${search.truncated ? '+' : ''}`
        : '';
  return (
    <form
      className="log-search"
      aria-label="Log search"
      onSubmit={(event) => {
        event.preventDefault();
        if (text !== search.query || regex !== search.regex) onQuery(text, regex);
        else onNext();
      }}
    >
      <input
        type="search"
        placeholder={compact ? 'Search' : 'Search the log (Ctrl+F)'}
        aria-label="Search the log"
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && event.shiftKey) {
            event.preventDefault();
            onPrevious();
          }
        }}
      />
      <button
        type="button"
        className={regex ? 'log-regex on' : 'log-regex'}
        aria-pressed={regex}
        title="Search with a regular expression"
        onClick={() => {
          setRegex(!regex);
          if (text) onQuery(text, !regex);
        }}
      >
        .*
      </button>
      <button type="button" aria-label="Previous match" onClick={onPrevious} disabled={search.matches.length === 0}>
        ↑
      </button>
      <button type="button" aria-label="Next match" onClick={onNext} disabled={search.matches.length === 0}>
        ↓
      </button>
      <span className={search.failure ? 'log-search-status failure' : 'log-search-status'} role="status">
        {status}
      </span>
    </form>
  );
}

interface LogRowProps {
  line: number;
  text: string | undefined;
  flags: number;
  step: { durationMs: number | null; hidden: number } | null;
  folded: boolean;
  onToggle(line: number): void;
  highlight: RegExp | null;
  current: boolean;
}

const ERROR_FLAG = 4;

const LogRow = memo(function LogRow({ line, text, flags, step, folded, onToggle, highlight, current }: LogRowProps) {
  const spans = useMemo(() => (text === undefined ? [] : parseAnsi(text)), [text]);
  const isStep = step !== null || (text !== undefined && STEP_TEXT.test(stripAnsi(text)));
  const className = ['log-row', isStep ? 'step' : '', flags & ERROR_FLAG ? 'error' : '', current ? 'current' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={className} data-line={line}>
      <span className="log-gutter">
        {step ? (
          <button
            type="button"
            className="log-fold"
            aria-label={folded ? 'Unfold step' : 'Fold step'}
            onClick={() => onToggle(line)}
          >
            {folded ? '▸' : '▾'}
          </button>
        ) : null}
        {line + 1}
      </span>
      <span className="log-text">
        {text === undefined
          ? null
          : spans.map((span, i) => (
              <span
                // biome-ignore lint/suspicious/noArrayIndexKey: spans of one line never reorder.
                key={i}
                style={{
                  color: span.fg ?? undefined,
                  background: span.bg ?? undefined,
                  fontWeight: span.bold ? 600 : undefined,
                  opacity: span.dim ? 0.7 : undefined,
                  fontStyle: span.italic ? 'italic' : undefined,
                  textDecoration: span.underline ? 'underline' : undefined,
                }}
              >
                <Highlighted text={span.text} query={highlight} />
              </span>
            ))}
      </span>
      {step ? (
        <span className="log-step-meta">
          {folded ? `${formatCount(step.hidden)} lines folded · ` : ''}
          {step.durationMs === null ? '' : formatDuration(step.durationMs)}
        </span>
      ) : null}
    </div>
  );
});

/** What to mark in the rows in view, matching the engine's search: case-sensitive, literal or a regex. */
function highlightPattern(search: SearchState): RegExp | null {
  if (!search.query || search.failure) return null;
  try {
    return new RegExp(search.regex ? search.query : search.query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
  } catch {
    return null;
  }
}

function Highlighted({ text, query }: { text: string; query: RegExp | null }) {
  if (!query) return text;
  const parts: (string | React.ReactElement)[] = [];
  let at = 0;
  for (const match of text.matchAll(query)) {
    if (match[0].length === 0) continue;
    const index = match.index ?? 0;
    parts.push(text.slice(at, index));
    parts.push(<mark key={index}>{match[0]}</mark>);
    at = index + match[0].length;
  }
  if (parts.length === 0) return text;
  parts.push(text.slice(at));
  return <>{parts}</>;
}
