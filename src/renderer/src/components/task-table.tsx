import type { Task, TaskInspection } from '../../../shared/domain';
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
        if (!inspection || (inspection.warnings.length === 0 && inspection.suggestedIgnores.length === 0)) return null;
        return (
          <div key={task.id} className="task-advice">
            <h3>{task.service}</h3>
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
          </div>
        );
      })}
    </div>
  );
}
