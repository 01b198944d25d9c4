import { describeTaskState } from '../../../shared/task-state';
import { BuildSummary } from '../components/build-summary';
import { InterleavedLog } from '../components/log-interleaved';
import { LogViewer } from '../components/log-viewer';
import { MemoryStrip } from '../components/memory-strip';
import { TaskRow } from '../components/task-row';
import { formatCount, formatDuration, formatTime } from '../format';
import { selectLogLines } from '../store/selectors';
import { ALL_TASKS, cancelBuild, ONE_LOG, openLog, useStore } from '../store/store';
import { BuildTimeline } from '../timeline/build-timeline';
import { rerunBuild } from '../timeline/rerun';
import { useNotificationAsk } from '../timeline/use-build-attention';
import { useNow } from '../use-now';
import './build-screen.css';

const STATUS_TEXT = {
  running: 'Building',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted (Slipway stopped while it ran)',
} as const;

export function BuildScreen() {
  const build = useStore((state) => state.build);
  const logTask = useStore((state) => state.logTask);
  const ownLogLines = useStore(selectLogLines(build?.logId ?? ''));
  const running = build?.status === 'running';
  const now = useNow(running);
  const notifyAsk = useNotificationAsk();
  if (!build) return <p className="muted">Loading the build…</p>;
  const durationMs = (build.finishedAt ? Date.parse(build.finishedAt) : now) - Date.parse(build.startedAt);
  const shownTask = build.tasks.find((task) => task.task.id === logTask) ?? null;
  // balena: the builder's own output ([Info]/[Success]/[Error]) is a log of its own beside the services'.
  const ownLog = build.logId ? { id: build.logId, lines: ownLogLines } : null;
  const showsOwnLog = ownLog !== null && logTask === ownLog.id;
  // A task's own failure is shown on its row; the build's error is shown only when it is something else.
  const taskShowsError = build.tasks.some(
    (task) => task.state.phase === 'failed' && task.state.error.message === build.error?.message,
  );
  return (
    <div className="build-screen">
      <header className="build-head">
        <div>
          <h1>
            <span className={`build-status status-${build.status}`} data-testid="build-status">
              {STATUS_TEXT[build.status]}
            </span>{' '}
            <span className="muted build-project">{build.projectPath.split('/').pop()}</span>
          </h1>
          <p className="muted">
            Started {formatTime(build.startedAt)} · {formatDuration(Math.max(0, durationMs))} · region{' '}
            <strong data-testid="build-region">{build.region}</strong> ({build.reason}) ·{' '}
            <span className="mono">{build.id}</span>
          </p>
        </div>
        {running ? (
          <span className="build-actions">
            {notifyAsk.ask ? (
              <button type="button" onClick={notifyAsk.ask}>
                Notify me when it ends
              </button>
            ) : null}
            <button type="button" className="danger" onClick={() => void cancelBuild()}>
              Cancel build
            </button>
          </span>
        ) : (
          <button type="button" onClick={() => void rerunBuild(build.id)}>
            Re-run
          </button>
        )}
      </header>
      {build.error && build.status !== 'cancelled' && !taskShowsError ? (
        <p className="build-error" role="alert">
          <code>{build.error.code}</code> {build.error.message}
        </p>
      ) : null}
      <ul className="build-tasks">
        {build.tasks.map((task) => (
          <TaskRow key={task.task.id} taskId={task.task.id} now={now} selected={task.task.id === logTask} />
        ))}
      </ul>
      {/* The overview (what was built, where the time went) gives its room to a log while one is open. */}
      {running || logTask !== null ? null : <BuildSummary build={build} />}
      {logTask === null ? <BuildTimeline build={build} nowMs={now} /> : null}
      {ownLog ? (
        <p className="build-own-log">
          <button
            type="button"
            aria-pressed={showsOwnLog}
            data-testid="build-own-log"
            onClick={() => openLog(showsOwnLog ? null : ownLog.id)}
          >
            Builder's log
          </button>{' '}
          <span className="muted numeric">
            {formatCount(ownLog.lines)} lines · the builder's own [Info], [Success] and [Error] output
          </span>
        </p>
      ) : null}
      <MemoryStrip active={running} />
      {logTask === ONE_LOG ? (
        <div className="build-log">
          <LogHeading title="Every task's log as one" other={{ label: 'Side by side', log: ALL_TASKS }} />
          <InterleavedLog build={build} running={running} />
        </div>
      ) : logTask === ALL_TASKS ? (
        <div className="build-log">
          <LogHeading title="Every task's log" other={{ label: 'As one log', log: ONE_LOG }} />
          <div className="build-log-grid">
            {build.tasks.map((task) => (
              <div key={task.task.id} className="build-log-cell">
                <h3>
                  {task.task.service} <span className="muted">· {describeTaskState(task.state)}</span>
                </h3>
                <LogViewer buildId={build.id} taskId={task.task.id} running={running} compact />
              </div>
            ))}
            {ownLog ? (
              <div className="build-log-cell">
                <h3>Builder's log</h3>
                <LogViewer buildId={build.id} taskId={ownLog.id} running={running} compact />
              </div>
            ) : null}
          </div>
        </div>
      ) : showsOwnLog && ownLog ? (
        <div className="build-log">
          <LogHeading title="Builder's log" />
          <LogViewer buildId={build.id} taskId={ownLog.id} running={running} />
        </div>
      ) : shownTask ? (
        <div className="build-log">
          <LogHeading title={`Log of ${shownTask.task.service}`} />
          <LogViewer buildId={build.id} taskId={shownTask.task.id} running={running} />
        </div>
      ) : (
        <p className="muted build-hint">
          Open a task's log to read it as it is written, or{' '}
          <button type="button" onClick={() => openLog(ALL_TASKS)}>
            watch every task's log
          </button>{' '}
          or{' '}
          <button type="button" onClick={() => openLog(ONE_LOG)}>
            read them as one log
          </button>
        </p>
      )}
    </div>
  );
}

/**
 * The heading of the logs shown: their title, a switch to the other way of showing every task's log
 * (`other`, when every task's log is shown), and Close.
 */
function LogHeading({ title, other }: { title: string; other?: { label: string; log: string } }) {
  return (
    <h2>
      {title}{' '}
      {other ? (
        <>
          <button type="button" onClick={() => openLog(other.log)}>
            {other.label}
          </button>{' '}
        </>
      ) : null}
      <button type="button" onClick={() => openLog(null)} aria-label={other ? 'Close the logs' : 'Close the log'}>
        Close
      </button>
    </h2>
  );
}
