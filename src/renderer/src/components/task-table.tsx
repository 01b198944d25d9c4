import type { SizedPath, Task, TaskInspection } from '../../../shared/domain';
import { formatBytes, formatCount } from '../format';
import type { Failure } from '../store/store';
import './task-table.css';

interface TaskTableProps {
  tasks: Task[];
  inspections: Record<string, TaskInspection> | null;
  failure: Failure | null;
}

/** The tasks of a project with what their contexts weigh, what they will cost, and how to trim them. */
export function TaskTable({ tasks, inspections, failure }: TaskTableProps) {
  const waiting = inspections === null && failure === null;
  return (
    <div className="task-table">
      <table>
        <thead>
          <tr>
            <th>Service</th>
            <th>Context</th>
            <th className="number">Files</th>
            <th className="number">Size</th>
            <th className="number">Upload</th>
            <th className="number">Memory estimate</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((task) => {
            const inspection = inspections?.[task.id];
            const cell = (value: (inspection: TaskInspection) => string) =>
              inspection ? value(inspection) : waiting ? '…' : '—';
            return (
              <tr key={task.id} data-testid={`task-${task.id}`}>
                <td className="task-service">{task.service}</td>
                <td className="mono task-context" title={task.contextPath}>
                  {task.contextPath}
                  {task.dockerfile !== 'Dockerfile' ? <span className="muted"> · {task.dockerfile}</span> : null}
                </td>
                <td className="number">{cell((i) => formatCount(i.scan.files))}</td>
                <td className="number">{cell((i) => formatBytes(i.scan.bytes))}</td>
                <td className="number" title="Exact length of the tar stream that will be sent">
                  {cell((i) => `${formatCount(i.scan.tarBytes)} B`)}
                </td>
                <td className="number">{cell((i) => formatBytes(i.memoryEstimateBytes))}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {failure ? (
        <p className="calm-note">
          Sizes are not known yet: {failure.code}: {failure.message}. The build measures each context as it packs it.
        </p>
      ) : null}
      {tasks.map((task) => {
        const inspection = inspections?.[task.id];
        if (!inspection) return null;
        const advice = inspection.warnings.length > 0 || inspection.suggestedIgnores.length > 0;
        return (
          <div key={task.id} className="task-advice">
            <h3>{task.service}</h3>
            {inspection.scan.skipped.length > 0 ? (
              <p className="task-warning">
                ⚠ {inspection.scan.skipped.length} entries are left out (tar cannot hold them):{' '}
                {inspection.scan.skipped
                  .slice(0, 3)
                  .map((entry) => entry.path)
                  .join(', ')}
                {inspection.scan.skipped.length > 3 ? '…' : ''}
              </p>
            ) : null}
            {!advice ? <p className="muted">Nothing to trim.</p> : null}
            {inspection.warnings.map((warning) => (
              <p key={warning} className="task-warning">
                ⚠ {warning}
              </p>
            ))}
            {inspection.suggestedIgnores.length > 0 ? (
              <>
                <p className="muted">
                  Lines for <code>.dockerignore</code> that would shrink this context:
                </p>
                <pre className="task-ignores">{inspection.suggestedIgnores.join('\n')}</pre>
              </>
            ) : null}
            {inspection.largestFiles.length + inspection.largestFolders.length > 0 ? (
              <details className="task-largest">
                <summary>Largest files and folders</summary>
                <div className="task-largest-lists">
                  <SizedList title="Folders" paths={inspection.largestFolders} />
                  <SizedList title="Files" paths={inspection.largestFiles} />
                </div>
              </details>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

function SizedList({ title, paths }: { title: string; paths: SizedPath[] }) {
  if (paths.length === 0) return null;
  return (
    <table>
      <thead>
        <tr>
          <th>{title}</th>
          <th className="number">Size</th>
        </tr>
      </thead>
      <tbody>
        {paths.map((entry) => (
          <tr key={entry.path}>
            <td className="mono">{entry.path}</td>
            <td className="number">{formatBytes(entry.bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
