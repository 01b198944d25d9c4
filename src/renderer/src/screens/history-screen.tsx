import { useState } from 'react';
import { BuildCompare } from '../components/build-compare';
import { formatDuration, formatTime } from '../format';
import { deleteFromHistory, loadHistory, useStore } from '../store/store';
import { rerunBuild } from '../timeline/rerun';
import './history-screen.css';

export function HistoryScreen() {
  const history = useStore((state) => state.history);
  const failure = useStore((state) => state.historyFailure);
  // Two builds of one project to compare, in the order they were picked.
  const [picked, setPicked] = useState<string[]>([]);
  const pickedBuilds = (history ?? []).filter((build) => picked.includes(build.id));
  const pickedProject = pickedBuilds[0]?.projectPath ?? null;
  const toggle = (buildId: string) =>
    setPicked((ids) => (ids.includes(buildId) ? ids.filter((id) => id !== buildId) : [...ids, buildId].slice(-2)));
  // History lists the newest first: the older build is the "before".
  const [after, before] = pickedBuilds;
  return (
    <div className="history-screen">
      <header className="history-head">
        <h1>History</h1>
        <button type="button" onClick={() => void loadHistory()}>
          Refresh
        </button>
      </header>
      {failure ? (
        <p className="calm-note">
          History is not available: {failure.code}: {failure.message}. A build stays reachable from its address (the
          Build tab) while this window is open.
        </p>
      ) : null}
      {history && history.length === 0 ? <p className="muted">No builds yet.</p> : null}
      {history && history.length > 0 ? (
        <table className="history-table">
          <thead>
            <tr>
              <th aria-label="Compare" />
              <th>Started</th>
              <th>Project</th>
              <th>Status</th>
              <th>Tasks</th>
              <th className="number">Duration</th>
              <th>Region</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {history.map((build) => (
              <tr key={build.id} data-testid="history-row">
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Compare the build of ${formatTime(build.startedAt)}`}
                    checked={picked.includes(build.id)}
                    disabled={
                      build.status === 'damaged' ||
                      build.status === 'running' ||
                      (pickedProject !== null && pickedProject !== build.projectPath && !picked.includes(build.id))
                    }
                    onChange={() => toggle(build.id)}
                  />
                </td>
                <td>
                  <a href={`#/build/${encodeURIComponent(build.id)}`}>{formatTime(build.startedAt)}</a>
                </td>
                <td
                  className="mono history-project"
                  title={build.damage ? `${build.damage.code}: ${build.damage.message}` : build.projectPath}
                >
                  {build.damage ? build.damage.code : build.projectPath.split('/').pop()}
                </td>
                <td className={`status-${build.status}`}>{build.status}</td>
                <td>
                  {build.tasks.map((task) => (
                    <span key={task.id} className={`history-task phase-${task.phase}`} title={task.phase}>
                      {task.service}
                    </span>
                  ))}
                </td>
                <td className="number numeric">{build.durationMs === null ? '—' : formatDuration(build.durationMs)}</td>
                <td>{build.region}</td>
                <td className="history-actions">
                  {build.status === 'running' || build.status === 'damaged' ? null : (
                    <button type="button" onClick={() => void rerunBuild(build.id)} aria-label="Run this build again">
                      Re-run
                    </button>
                  )}
                  {build.status === 'running' ? null : (
                    <button type="button" onClick={() => void deleteFromHistory(build.id)} aria-label="Delete build">
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {before && after ? (
        <BuildCompare beforeId={before.id} afterId={after.id} />
      ) : history && history.length > 1 ? (
        <p className="muted">Tick two builds of one project to compare them step by step.</p>
      ) : null}
      {history === null && failure === null ? <p className="muted">Loading…</p> : null}
    </div>
  );
}
