import { DropZone } from '../components/drop-zone';
import { formatTime } from '../format';
import { openProject, useStore } from '../store/store';
import './start-screen.css';

export function StartScreen() {
  const recent = useStore((state) => state.recent);
  const info = useStore((state) => state.info);
  return (
    <div className="start-screen">
      <DropZone />
      <section className="start-recent" aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent projects</h2>
        {recent.length === 0 ? (
          <p className="muted">Projects you open appear here.</p>
        ) : (
          <ul>
            {recent.map((project) => (
              <li key={project.path}>
                <button type="button" onClick={() => void openProject(project.path)}>
                  <span className="start-recent-name">{project.name}</span>
                  <span className="start-recent-path mono">{project.path}</span>
                  <span className="muted">{formatTime(project.openedAt)}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      {info ? (
        <p className="start-footer muted" role="status">
          Slipway {info.version} · {info.mode} mode · data in <span className="mono">{info.dataDir}</span>
        </p>
      ) : null}
    </div>
  );
}
