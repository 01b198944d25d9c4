import { BuildOptionsForm } from '../components/build-options-form';
import { RegionList } from '../components/region-list';
import { TaskTable } from '../components/task-table';
import { formatBytes } from '../format';
import { startBuild, useStore } from '../store/store';
import { ComposePanel } from './compose-panel';
import './project-screen.css';

export function ProjectScreen() {
  const project = useStore((state) => state.project);
  const inspections = useStore((state) => state.inspections);
  const inspectFailure = useStore((state) => state.inspectFailure);
  const settings = useStore((state) => state.settings);
  const running = useStore((state) => state.build?.status === 'running');
  if (!project) return null;
  const target = settings?.targets.find((candidate) => candidate.name === settings.defaultTarget);
  const totalTarBytes = inspections
    ? Object.values(inspections).reduce((sum, inspection) => sum + inspection.scan.tarBytes, 0)
    : null;
  return (
    <div className="project-screen">
      <header className="project-head">
        <div>
          <h1>{project.name}</h1>
          <p className="mono muted">{project.path}</p>
          <p className="muted">
            {project.tasks.length} {project.tasks.length === 1 ? 'task' : 'tasks'}
            {project.compose
              ? ` from ${project.compose.files.length} compose ${project.compose.files.length === 1 ? 'file' : 'files'}`
              : ' from its Dockerfile'}
            {project.external.length > 0 ? ` · ${project.external.length} pulled, not built` : ''}
            {totalTarBytes !== null ? ` · ${formatBytes(totalTarBytes)} to upload` : ''}
          </p>
        </div>
        <button type="button" className="primary project-build" onClick={() => void startBuild()} disabled={running}>
          {running ? 'Building…' : 'Build'} <span className="kbd">Ctrl+B</span>
        </button>
      </header>
      <section className="card">
        <h2>Tasks</h2>
        <TaskTable tasks={project.tasks} inspections={inspections} failure={inspectFailure} />
        {project.external.length > 0 ? (
          <p className="muted">
            Pulled by the builder:{' '}
            {project.external.map((service) => `${service.service} (${service.image})`).join(', ')}
          </p>
        ) : null}
      </section>
      <ComposePanel project={project} />
      <div className="project-columns">
        <section className="card">
          <h2>Builder</h2>
          <p data-testid="builder-target">
            {target ? (
              <>
                <strong>{target.name}</strong> · {target.kind} · {target.endpoints.length}{' '}
                {target.endpoints.length === 1 ? 'endpoint' : 'endpoints'}
              </>
            ) : (
              <>The engine's builder (set targets in Settings)</>
            )}
          </p>
          <RegionList />
        </section>
        <section className="card">
          <BuildOptionsForm />
        </section>
      </div>
    </div>
  );
}
