import { memo, useMemo } from 'react';
import { LineFlag, parseStep } from '../../../shared/log-line';
import { formatCount, formatDuration } from '../format';
import { parseAnsi, stripAnsi } from '../log/ansi';
import { formatClock } from '../log/line-time';

interface LogRowProps {
  line: number;
  text: string | undefined;
  flags: number;
  /** The step this line starts, when the engine listed it: its duration and how many lines a fold hides. */
  step: { durationMs: number | null; hidden: number } | null;
  folded: boolean;
  onToggle(line: number): void;
  highlight: RegExp | null;
  current: boolean;
  /** The address of this line (its number links to it). */
  href: string;
  /** When the line was spooled, when times are shown (0: not known, a build from before times were kept). */
  atMs?: number;
  /** The task the line comes from, in the interleaved log: its name and its colour's number. */
  task?: { label: string; colour: number };
  /** Copies a step's lines (on a step's row). */
  onCopyStep?(line: number): void;
}

/** One line of a log: its number (with a fold arrow on a step), its coloured text, marks for a search. */
export const LogRow = memo(function LogRow({
  line,
  text,
  flags,
  step,
  folded,
  onToggle,
  highlight,
  current,
  href,
  atMs,
  task,
  onCopyStep,
}: LogRowProps) {
  const spans = useMemo(() => (text === undefined ? [] : parseAnsi(text)), [text]);
  const isStep = step !== null || (text !== undefined && parseStep(stripAnsi(text)) !== null);
  const className = ['log-row', isStep ? 'step' : '', flags & LineFlag.error ? 'error' : '', current ? 'current' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={className} data-line={line} data-task={task?.label}>
      {task ? (
        <span className={`log-task-prefix task-colour-${task.colour}`} title={task.label}>
          {task.label}
        </span>
      ) : null}
      {atMs === undefined ? null : <span className="log-time">{atMs > 0 ? formatClock(atMs) : '—'}</span>}
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
        <a className="log-link" href={href} title="A link to this line">
          {line + 1}
        </a>
      </span>
      <span className="log-text">
        {spans.map((span, i) => (
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
          {onCopyStep ? (
            <button
              type="button"
              className="log-copy-step"
              aria-label="Copy this step's lines"
              onClick={() => onCopyStep(line)}
            >
              Copy
            </button>
          ) : null}
        </span>
      ) : null}
    </div>
  );
});

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
