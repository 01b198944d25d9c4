import { memo } from 'react';
import type { BuildTask } from '../../../shared/domain';
import { describeTaskState, isFinished, stateFraction } from '../../../shared/task-state';
import { formatBytes, formatCount, formatDuration } from '../format';
import { selectLogLines, selectTask, selectTaskRegion, selectTaskStartedMs } from '../store/selectors';
import { openLog, useStore } from '../store/store';
import './task-row.css';

interface TaskRowProps {
  taskId: string;
  now: number;
  selected: boolean;
}

/** The builder that ran a task, as the row names it. */
const BUILDER_LABELS: Record<NonNullable<BuildTask['builder']>, string> = {
  'docker-classic': 'classic',
  'docker-buildkit': 'BuildKit',
  balena: 'balena',
};

function progressText(task: BuildTask): string {
  const { state } = task;
  if (state.phase === 'uploading') {
    return `${formatBytes(state.bytesSent)} of ${formatBytes(state.bytesTotal)} · ${formatBytes(state.bytesPerSecond)}/s`;
  }
  if (state.phase === 'packing' && state.bytes > 0) return `${formatBytes(state.bytes)} of content`;
  if (state.phase === 'packing' && state.bytesSent) return `${formatBytes(state.bytesSent)} sent so far`;
  if (state.phase === 'done') return task.scan ? `${formatBytes(task.scan.tarBytes)} sent` : '';
  return '';
}

/**
 * One task of a build: its phase, its progress with bytes and throughput, elapsed time, region, error.
 * It reads its own task and line count from the store, so another task's progress does not re-render it.
 */
export const TaskRow = memo(function TaskRow({ taskId, now, selected }: TaskRowProps) {
  const task = useStore(selectTask(taskId));
  const logLines = useStore(selectLogLines(taskId));
  const moved = useStore(selectTaskRegion(taskId));
  const startedMs = useStore(selectTaskStartedMs(taskId));
  const buildRegion = useStore((state) => state.build?.region ?? '');
  if (!task) return null;
  const { state } = task;
  const fraction = stateFraction(state);
  // The engine's start time when the record has it (a build opened later), else when this window saw it start.
  const sinceMs = task.startedAt ? Date.parse(task.startedAt) : startedMs;
  const elapsedMs =
    'durationMs' in state
      ? state.durationMs
      : sinceMs !== undefined && !isFinished(state)
        ? Math.max(0, now - sinceMs)
        : null;
  return (
    <li
      className={`task-row phase-${state.phase}${selected ? ' selected' : ''}`}
      data-testid={`build-task-${taskId}`}
      data-phase={state.phase}
    >
      <div className="task-row-main">
        <span className="task-row-service">{task.task.service}</span>
        <span className="task-row-phase" data-testid="task-phase">
          {describeTaskState(state)}
        </span>
        <div
          className={`task-row-bar${fraction === null && !isFinished(state) && state.phase !== 'queued' ? ' busy' : ''}`}
          role="progressbar"
          aria-label={`${task.task.service} progress`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
        >
          <div style={{ width: `${Math.round((fraction ?? 0) * 100)}%` }} />
        </div>
        <span className="task-row-progress numeric muted">{progressText(task)}</span>
        <span className="task-row-elapsed numeric">{elapsedMs === null ? '' : formatDuration(elapsedMs)}</span>
        <span className="task-row-region" title={moved?.reason}>
          {moved?.region ?? task.region ?? buildRegion}
        </span>
        <span className="task-row-builder muted" data-testid="task-builder">
          {task.builder ? BUILDER_LABELS[task.builder] : ''}
        </span>
        <button type="button" onClick={() => openLog(selected ? null : taskId)} aria-pressed={selected}>
          Log <span className="muted numeric">{formatCount(logLines)}</span>
        </button>
      </div>
      {state.phase === 'failed' ? (
        <p className="task-row-error" role="alert">
          <code>{state.error.code}</code> {state.error.message}
          {state.error.hint ? <span className="muted"> — {state.error.hint}</span> : null}
        </p>
      ) : null}
    </li>
  );
});
