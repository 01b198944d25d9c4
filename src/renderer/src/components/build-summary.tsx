import { useState } from 'react';
import type { Build, BuildTask } from '../../../shared/domain';
import { formatBytes } from '../format';
import './panel-table.css';
import './build-summary.css';

/** The command that runs a built image: by its first tag, else by its id. */
export function runCommand(task: BuildTask): string | null {
  const name = task.image?.tags[0] ?? task.tag ?? task.image?.id ?? null;
  return name ? `docker run --rm ${name}` : null;
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** What a finished build produced: per task its image id, tags and size, and how to run it. */
export function BuildSummary({ build }: { build: Build }) {
  const done = build.tasks.filter((task) => task.state.phase === 'done');
  if (done.length === 0) return null;
  return (
    <section className="panel-table build-summary" data-testid="build-summary" aria-label="What was built">
      <h2>Built</h2>
      <table>
        <thead>
          <tr>
            <th>Task</th>
            <th>Image</th>
            <th>Tags</th>
            <th className="number">Size</th>
            <th>Run it</th>
          </tr>
        </thead>
        <tbody>
          {done.map((task) => (
            <SummaryRow key={task.task.id} task={task} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function SummaryRow({ task }: { task: BuildTask }) {
  const imageId = task.image?.id ?? (task.state.phase === 'done' ? task.state.imageId : null);
  const command = runCommand(task);
  const tags = task.image?.tags ?? (task.tag ? [task.tag] : []);
  return (
    <tr data-testid={`summary-${task.task.id}`}>
      <td>{task.task.service}</td>
      <td className="mono" title={imageId ?? undefined}>
        {imageId ? shortId(imageId) : '—'}
      </td>
      <td className="mono summary-tags">{tags.length > 0 ? tags.join(', ') : '—'}</td>
      <td
        className="number numeric"
        data-testid="summary-size"
        title={task.imageError ? `${task.imageError.code}: ${task.imageError.message}` : undefined}
      >
        {task.image ? formatBytes(task.image.sizeBytes) : task.imageError ? 'unknown' : '—'}
      </td>
      <td>{command ? <CopyCommand command={command} /> : null}</td>
    </tr>
  );
}

function CopyCommand({ command }: { command: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = () => {
    navigator.clipboard.writeText(command).then(
      () => setCopied('yes'),
      () => setCopied('no'),
    );
  };
  return (
    <span className="summary-run">
      <code>{command}</code>
      <button type="button" onClick={copy} aria-label={`Copy ${command}`}>
        {copied === 'yes' ? 'Copied' : 'Copy'}
      </button>
      {copied === 'no' ? <span className="muted">select it to copy</span> : null}
    </span>
  );
}
