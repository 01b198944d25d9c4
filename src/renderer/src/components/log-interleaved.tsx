import { useCallback, useMemo, useRef, useState } from 'react';
import type { Build } from '../../../shared/domain';
import { errorCode, errorMessage, formatCount } from '../format';
import { copyTexts } from '../log/copy-lines';
import { useFollowTail } from '../log/use-follow-tail';
import { useInterleavedTotal, useInterleavedWindow } from '../log/use-interleaved-window';
import { type LogFinder, useLogSearch } from '../log/use-log-search';
import { useVirtualRows } from '../log/use-virtual-rows';
import { lineLink, notify, useLogView } from '../store/store';
import { slipway } from '../transport';
import { LogRow } from './log-row';
import { LogScroller } from './log-scroller';
import { LogSearchBar } from './log-search-bar';
import { LogViewOptions } from './log-view-options';
import './log-interleaved.css';
import './log-viewer.css';

const OVERSCAN_ROWS = 20;
/** Task colours: this many, then they repeat (log-interleaved.css). */
const TASK_COLOURS = 8;

interface InterleavedLogProps {
  build: Build;
  running: boolean;
}

/** The logs of a build shown as one (the tasks', and the builder's own on balena): by id, with a label. */
function logsOf(build: Build): { id: string; label: string }[] {
  const logs = build.tasks.map((task) => ({ id: task.task.id, label: task.task.service }));
  if (build.logId) logs.push({ id: build.logId, label: 'builder' });
  return logs;
}

/**
 * Every task's log as one, interleaved by the time each line was spooled, each line prefixed and
 * coloured by its task. Virtualized as the single log is: only the rows in view are read
 * (logs.interleave) and drawn. Tasks can be left out; search, follow and the jump to the first error
 * work across the tasks shown.
 */
export function InterleavedLog({ build, running }: InterleavedLogProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const logs = useMemo(() => logsOf(build), [build]);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const shown = useMemo(() => logs.filter((log) => !hidden.has(log.id)), [logs, hidden]);
  const taskIds = useMemo(() => shown.map((log) => log.id), [shown]);
  const showTimes = useLogView((state) => state.showTimes);
  const wrap = useLogView((state) => state.wrap);
  const [pointed, setPointed] = useState<number | null>(null);

  const { totalPositions, note } = useInterleavedTotal(build.id, taskIds, running);
  const view = useVirtualRows(scroller, totalPositions);
  const tail = useFollowTail(scroller, view, totalPositions, `${build.id}/${taskIds.join(',')}`);
  const { firstRow, visibleRows } = view;
  const from = Math.max(0, firstRow - OVERSCAN_ROWS);
  const count = visibleRows + 2 * OVERSCAN_ROWS;
  const loaded = useInterleavedWindow(build.id, taskIds, from, count, totalPositions, note);

  const { stop } = tail;
  const { scrollTo, scrollTopForRow } = view;
  const showPosition = useCallback(
    (position: number) => {
      stop();
      scrollTo(scrollTopForRow(Math.max(0, position - Math.floor(visibleRows / 3))));
    },
    [stop, scrollTo, scrollTopForRow, visibleRows],
  );
  const find = useCallback<LogFinder>(
    (query, regex, limit) => slipway['logs.interleaveSearch']({ buildId: build.id, taskIds, query, regex, limit }),
    [build.id, taskIds],
  );
  const firstInView = useCallback(() => firstRow, [firstRow]);
  const { search, highlight, run, step } = useLogSearch(
    `${build.id}/${taskIds.join(',')}`,
    find,
    firstInView,
    showPosition,
  );

  const firstError = async () => {
    try {
      const positions: number[] = [];
      for (const taskId of taskIds) {
        const { line } = await slipway['logs.firstError']({ buildId: build.id, taskId });
        if (line === null) continue;
        const at = await slipway['logs.interleavePosition']({ buildId: build.id, taskIds, at: { taskId, line } });
        positions.push(at.position);
      }
      if (positions.length === 0) notify('No line of these logs is marked as an error.', 'info');
      else {
        const position = Math.min(...positions);
        setPointed(position);
        showPosition(position);
      }
    } catch (error) {
      notify(`Cannot find the first error: ${errorCode(error)}: ${errorMessage(error)}`);
    }
  };

  const toggle = (id: string) =>
    setHidden((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else if (shown.length > 1) next.add(id);
      return next;
    });

  const window = loaded.window;
  const labelOf = (task: number) => shown[task]?.label ?? '';
  const colourOf = (task: number) => logs.findIndex((log) => log.id === taskIds[task]) % TASK_COLOURS;
  const current = search.matches[search.index];
  const rows = [];
  const texts: string[] = [];
  for (let i = 0; i < visibleRows && firstRow + i < totalPositions; i++) {
    const position = firstRow + i;
    const at = window ? position - loaded.fromPosition : -1;
    const task = window?.tasks[at];
    if (!window || task === undefined) {
      rows.push(<div key={`wait-${position}`} className="log-row pending" />);
      continue;
    }
    const line = window.lines[at] as number;
    const taskId = taskIds[task] as string;
    texts.push(window.texts[at] ?? '');
    rows.push(
      <LogRow
        key={position}
        line={line}
        text={window.texts[at]}
        flags={window.flags[at] ?? 0}
        step={null}
        folded={false}
        onToggle={() => undefined}
        highlight={highlight}
        current={position === current || position === pointed}
        href={lineLink(build.id, taskId, line)}
        atMs={showTimes ? (window.atMs[at] ?? 0) : undefined}
        task={{ label: labelOf(task), colour: colourOf(task) }}
      />,
    );
  }
  const prefixChars = Math.min(24, Math.max(4, ...logs.map((log) => log.label.length)));
  const atEnd = firstRow + visibleRows >= totalPositions;

  return (
    <section
      className={['log-viewer', 'interleaved', wrap ? 'wrap' : ''].filter(Boolean).join(' ')}
      aria-label="Every task's log as one"
      style={{ '--prefix-ch': `${prefixChars + 1}ch` } as React.CSSProperties}
    >
      <div className="log-toolbar">
        <LogSearchBar
          search={search}
          onQuery={(query, regex) => void run(query, regex)}
          onNext={() => step(1)}
          onPrevious={() => step(-1)}
          compact={false}
        />
        <fieldset className="log-task-filter" aria-label="Tasks shown">
          {logs.map((log, i) => (
            <button
              key={log.id}
              type="button"
              className={`log-task-chip task-colour-${i % TASK_COLOURS}`}
              aria-pressed={!hidden.has(log.id)}
              onClick={() => toggle(log.id)}
              title={hidden.has(log.id) ? `Show ${log.label}'s lines` : `Hide ${log.label}'s lines`}
            >
              {log.label}
            </button>
          ))}
        </fieldset>
        <span className="log-count" data-testid="log-line-count">
          {formatCount(totalPositions)} lines
        </span>
        <LogViewOptions onFirstError={() => void firstError()} takesKeys />
        <button type="button" onClick={() => void copyTexts(texts)}>
          Copy
        </button>
      </div>
      <LogScroller
        scroller={scroller}
        view={view}
        tail={tail}
        wrap={wrap}
        atEnd={atEnd}
        empty={totalPositions > 0 ? null : running ? 'Waiting for output…' : 'These logs are empty.'}
      >
        {rows}
      </LogScroller>
    </section>
  );
}
