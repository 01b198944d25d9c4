import type { ComposeReport, Project } from '../../../shared/domain';
import { reopenWithProfiles, useStore } from '../store/store';
import './compose-panel.css';

/** A path shown relative to a folder it lies under, else whole. */
function shownPath(folder: string, path: string): string {
  if (path === folder) return '.';
  return path.startsWith(`${folder}/`) ? path.slice(folder.length + 1) : path;
}

const FILES_FROM: Record<ComposeReport['filesFrom'], string> = {
  default: 'compose’s default files',
  option: 'the files chosen',
  COMPOSE_FILE: 'COMPOSE_FILE',
  'sub-folder': 'a sub-folder',
};

/** The folders a build of the project sends, with the services that send each. */
function sentFolders(project: Project): { path: string; services: string[] }[] {
  const folders = new Map<string, string[]>();
  for (const task of project.tasks) {
    const path = task.remoteContext ?? task.contextPath;
    folders.set(path, [...(folders.get(path) ?? []), task.service]);
  }
  return [...folders].map(([path, services]) => ({ path, services }));
}

/** How the compose files were read: files, profiles (toggles that re-open the project), folders sent, .env, warnings. */
export function ComposePanel({ project }: { project: Project }) {
  const opening = useStore((state) => state.opening);
  const compose = project.compose;
  if (!compose) return null;
  const active = compose.profiles.filter((profile) => profile.active).map((profile) => profile.name);
  const toggle = (name: string, on: boolean) =>
    void reopenWithProfiles(on ? [...active, name] : active.filter((other) => other !== name));
  const inactive = compose.services.filter((service) => service.state === 'inactive');
  const warnings = [...compose.warnings, ...compose.services.flatMap((service) => service.warnings)];
  return (
    <section className="card compose-panel" aria-labelledby="compose-heading">
      <h2 id="compose-heading">Compose</h2>
      <div className="compose-grid">
        <div>
          <h3>Files</h3>
          <ol className="compose-files mono" data-testid="compose-files">
            {compose.files.map((file) => (
              <li key={file}>{shownPath(project.path, file)}</li>
            ))}
          </ol>
          <p className="muted">
            From {FILES_FROM[compose.filesFrom]};{' '}
            {compose.projectDir === project.path ? (
              'paths start at the opened folder'
            ) : (
              <>
                paths start at <span className="mono">{shownPath(project.path, compose.projectDir)}</span>
              </>
            )}
          </p>
          <h3>Images</h3>
          <ul className="compose-folders" data-testid="compose-images">
            {project.tasks.map((task) => (
              <li key={task.id}>
                {task.service}:{' '}
                <span className="mono">{(task.tags ?? []).join(', ') || 'the build’s default tag'}</span>
              </li>
            ))}
          </ul>
          <h3>Folders sent</h3>
          <ul className="compose-folders" data-testid="compose-folders">
            {sentFolders(project).map((folder) => {
              const outside = !folder.path.startsWith(`${compose.projectDir}/`) && folder.path !== compose.projectDir;
              return (
                <li key={folder.path}>
                  <span className="mono">{folder.path}</span>{' '}
                  <span className="muted">({folder.services.join(', ')})</span>
                  {outside ? <span className="compose-tag">above the project directory</span> : null}
                </li>
              );
            })}
          </ul>
        </div>
        <div>
          <h3>Profiles</h3>
          {compose.profiles.length === 0 ? (
            <p className="muted">No service names a profile.</p>
          ) : (
            <ul className="compose-profiles" data-testid="compose-profiles">
              {compose.profiles.map((profile) => (
                <li key={profile.name}>
                  <label>
                    <input
                      type="checkbox"
                      checked={profile.active}
                      disabled={opening}
                      onChange={(event) => toggle(profile.name, event.currentTarget.checked)}
                    />{' '}
                    {profile.name}
                  </label>
                </li>
              ))}
            </ul>
          )}
          {inactive.length > 0 ? (
            <p className="muted" data-testid="compose-inactive">
              Not built (profile off):{' '}
              {inactive.map((service) => `${service.service} (${service.profiles.join(', ')})`).join(', ')}
            </p>
          ) : null}
          <h3>Variables from env files</h3>
          {compose.variables.length === 0 ? (
            <p className="muted">No .env file was read.</p>
          ) : (
            <table className="compose-variables" data-testid="compose-variables">
              <tbody>
                {compose.variables.map((variable) => (
                  <tr key={`${variable.file}:${variable.name}`}>
                    <td className="mono">{variable.name}</td>
                    <td className="mono">{variable.value}</td>
                    <td className="muted">
                      {shownPath(project.path, variable.file)}
                      {variable.overridden ? ' · the environment overrides it' : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      {warnings.length > 0 ? (
        <ul className="compose-warnings" data-testid="compose-warnings">
          {warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
