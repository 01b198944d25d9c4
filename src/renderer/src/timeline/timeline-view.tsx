import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { BuildTimeline } from '../../../shared/timeline';
import { formatDuration } from '../format';
import { type LayoutBar, type LayoutRow, layoutTimeline } from './layout';
import './timeline-view.css';

/** The width of the labels' column, in pixels. */
const LABEL_PX = 280;
const ZOOMS = [1, 2, 4, 8, 16, 32];
/** The hover card's size, to keep it inside the view. */
const HOVER_WIDTH_PX = 420;
const HOVER_HEIGHT_PX = 130;

const PHASE_WORDS = { queued: 'Queued', packing: 'Packing', uploading: 'Upload' } as const;

/** Exact times of a bar, from the build's start: "+1.234 s → +5.678 s". */
function offset(ms: number): string {
  return `+${(ms / 1000).toFixed(3)} s`;
}

function barTitle(bar: LayoutBar): string {
  if (bar.kind === 'queued' || bar.kind === 'packing' || bar.kind === 'uploading') return PHASE_WORDS[bar.kind];
  return bar.label;
}

interface Hover {
  bar: LayoutBar;
  row: LayoutRow;
  x: number;
  y: number;
}

/**
 * A build's timeline: one lane per task (queued, packing, upload), its steps below it on a shared time
 * axis, grouped by stage; the slowest steps named; hover a bar for its exact times; zoom widens the axis.
 */
export function TimelineView({
  timeline,
  nowMs,
  onOpenStep,
}: {
  timeline: BuildTimeline;
  nowMs: number;
  onOpenStep?: (taskId: string, line: number | null) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [widthPx, setWidthPx] = useState(800);
  const [zoom, setZoom] = useState(1);
  const [stageToggles, setStageToggles] = useState<Record<string, boolean>>({});
  const [hover, setHover] = useState<Hover | null>(null);
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setWidthPx(Math.max(200, element.clientWidth - LABEL_PX - 24));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const layout = useMemo(
    () => layoutTimeline(timeline, { widthPx, zoom, nowMs, stageToggles }),
    [timeline, widthPx, zoom, nowMs, stageToggles],
  );
  const zoomIndex = ZOOMS.indexOf(zoom);
  const toggleStage = (row: LayoutRow) => {
    const key = row.key.slice('stage:'.length);
    setStageToggles((toggles) => ({ ...toggles, [key]: !row.expanded }));
  };
  // The card sits by the pointer, or below the bar when it has the keyboard's focus.
  const showHover = (event: React.MouseEvent | React.FocusEvent, bar: LayoutBar, row: LayoutRow) => {
    const element = scroller.current;
    if (!element) return;
    const box = element.getBoundingClientRect();
    const at = 'clientX' in event ? event : (event.target as HTMLElement).getBoundingClientRect();
    const x = ('clientX' in at ? at.clientX : at.left) - box.left;
    const y = ('clientY' in at ? at.clientY : at.bottom) - box.top;
    // Kept inside the view: left of the pointer near the right edge, above it near the bottom.
    const left = Math.max(0, x + HOVER_WIDTH_PX + 20 > box.width ? x - HOVER_WIDTH_PX - 14 : x + 14);
    const top = y + HOVER_HEIGHT_PX + 20 > box.height ? Math.max(0, y - HOVER_HEIGHT_PX - 10) : y + 14;
    setHover({ bar, row, x: left + element.scrollLeft, y: top + element.scrollTop });
  };
  return (
    <section className="timeline" data-testid="timeline" aria-label="Timeline">
      <header className="timeline-head">
        <h2>Timeline</h2>
        <div className="timeline-slowest" data-testid="timeline-slowest">
          {layout.slowest.length > 0 ? (
            <>
              <span className="muted">Slowest:</span>
              {layout.slowest.map((slow) => (
                <span key={slow.barKey} className="timeline-slow" title={slow.name}>
                  <strong>{formatDuration(slow.durationMs)}</strong> {slow.service} · {shortName(slow.name)}
                </span>
              ))}
            </>
          ) : (
            <span className="muted">No step has finished yet.</span>
          )}
        </div>
        <fieldset className="timeline-zoom" aria-label="Zoom">
          <button
            type="button"
            aria-label="Zoom out"
            disabled={zoomIndex <= 0}
            onClick={() => setZoom(ZOOMS[zoomIndex - 1] ?? 1)}
          >
            −
          </button>
          <span className="numeric" data-testid="timeline-zoom">
            {zoom}×
          </span>
          <button
            type="button"
            aria-label="Zoom in"
            disabled={zoomIndex >= ZOOMS.length - 1}
            onClick={() => setZoom(ZOOMS[zoomIndex + 1] ?? zoom)}
          >
            +
          </button>
          <button type="button" disabled={zoom === 1} onClick={() => setZoom(1)}>
            Fit
          </button>
        </fieldset>
      </header>
      <div className="timeline-scroll" ref={scroller}>
        <div className="timeline-grid" style={{ gridTemplateColumns: `${LABEL_PX}px ${layout.widthPx + 16}px` }}>
          <div className="timeline-corner" />
          <div className="timeline-axis" style={{ width: layout.widthPx }}>
            {layout.ticks.map((tick) => (
              <span key={tick.x} className="timeline-tick" style={{ left: tick.x }}>
                {tick.label}
              </span>
            ))}
          </div>
          {layout.rows.map((row) => (
            <TimelineRow
              key={row.key}
              row={row}
              widthPx={layout.widthPx}
              ticks={layout.ticks}
              originMs={layout.originMs}
              onToggle={toggleStage}
              onHover={showHover}
              onLeave={() => setHover(null)}
              onOpenStep={onOpenStep}
            />
          ))}
        </div>
        {hover ? <HoverCard hover={hover} originMs={layout.originMs} /> : null}
      </div>
      <TimelineLegend />
    </section>
  );
}

/** A step's name cut for the short list of the slowest (the whole name is its title). */
function shortName(name: string): string {
  return name.length > 60 ? `${name.slice(0, 59)}…` : name;
}

function TimelineRow({
  row,
  widthPx,
  ticks,
  originMs,
  onToggle,
  onHover,
  onLeave,
  onOpenStep,
}: {
  row: LayoutRow;
  widthPx: number;
  ticks: { x: number }[];
  originMs: number;
  onToggle: (row: LayoutRow) => void;
  onHover: (event: React.MouseEvent | React.FocusEvent, bar: LayoutBar, row: LayoutRow) => void;
  onLeave: () => void;
  onOpenStep?: (taskId: string, line: number | null) => void;
}) {
  return (
    <>
      <div
        className={`timeline-label kind-${row.kind} depth-${row.depth}`}
        title={row.label}
        data-testid={`timeline-label-${row.kind}`}
      >
        {row.kind === 'stage' ? (
          <button
            type="button"
            className="timeline-fold"
            aria-expanded={row.expanded}
            onClick={() => onToggle(row)}
            data-testid="timeline-stage"
          >
            <span aria-hidden="true">{row.expanded ? '▾' : '▸'}</span> {row.label}{' '}
            <span className="muted numeric">
              {row.steps} step{row.steps === 1 ? '' : 's'}
              {row.cachedSteps ? `, ${row.cachedSteps} cached` : ''}
            </span>
          </button>
        ) : (
          row.label
        )}
      </div>
      <div className={`timeline-track kind-${row.kind}`} style={{ width: widthPx }}>
        {row.kind === 'task'
          ? ticks.map((tick) => <span key={tick.x} className="timeline-gridline" style={{ left: tick.x }} />)
          : null}
        {row.bars.map((bar) => (
          <button
            type="button"
            key={bar.key}
            className={barClass(bar)}
            style={{ left: bar.x, width: bar.widthPx }}
            data-testid="timeline-bar"
            data-kind={bar.kind}
            data-start-ms={Math.round(bar.startMs - originMs)}
            data-end-ms={Math.round(bar.endMs - originMs)}
            aria-label={`${barTitle(bar)}: ${formatDuration(bar.durationMs)}${bar.cached ? ', cached' : ''}`}
            onMouseEnter={(event) => onHover(event, bar, row)}
            onMouseMove={(event) => onHover(event, bar, row)}
            onMouseLeave={onLeave}
            onFocus={(event) => onHover(event, bar, row)}
            onBlur={onLeave}
            onClick={() =>
              bar.kind === 'step'
                ? onOpenStep?.(row.taskId, bar.line)
                : row.kind === 'stage'
                  ? onToggle(row)
                  : undefined
            }
          >
            {bar.kind === 'stage' || bar.kind === 'step' ? (
              <span className="timeline-bar-text">{bar.cached ? 'cached' : formatDuration(bar.durationMs)}</span>
            ) : null}
          </button>
        ))}
      </div>
    </>
  );
}

function barClass(bar: LayoutBar): string {
  const classes = ['timeline-bar', `bar-${bar.kind}`];
  if (bar.cached) classes.push('cached');
  if (bar.failed) classes.push('failed');
  if (bar.running) classes.push('running');
  if (bar.slowest) classes.push('slowest');
  return classes.join(' ');
}

function HoverCard({ hover, originMs }: { hover: Hover; originMs: number }) {
  const { bar } = hover;
  const state = bar.failed ? 'failed' : bar.cached ? 'cached' : bar.running ? 'running' : null;
  return (
    <div
      className="timeline-hover"
      role="tooltip"
      data-testid="timeline-hover"
      style={{ left: hover.x, top: hover.y, width: HOVER_WIDTH_PX }}
    >
      <strong>{barTitle(bar)}</strong>
      <span className="muted">{hover.row.taskId}</span>
      <span className="numeric">
        {offset(bar.startMs - originMs)} → {offset(bar.endMs - originMs)}
      </span>
      <span className="numeric">
        {formatDuration(bar.durationMs)} ({Math.round(bar.durationMs)} ms){state ? ` · ${state}` : ''}
        {bar.slowest ? ' · one of the slowest' : ''}
      </span>
      <span className="muted numeric">{new Date(bar.startMs).toLocaleTimeString('en-GB')}</span>
    </div>
  );
}

function TimelineLegend() {
  return (
    <p className="timeline-legend muted">
      <span className="legend-swatch bar-queued" /> queued <span className="legend-swatch bar-packing" /> packing{' '}
      <span className="legend-swatch bar-uploading" /> upload <span className="legend-swatch bar-step" /> step{' '}
      <span className="legend-swatch bar-step cached" /> cached <span className="legend-swatch bar-step slowest" />{' '}
      slowest <span className="legend-swatch bar-step failed" /> failed
    </p>
  );
}
