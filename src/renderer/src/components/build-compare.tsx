import { useEffect, useState } from 'react';
import type { BuildTimeline } from '../../../shared/timeline';
import { errorMessage, formatBytes, formatDuration } from '../format';
import { type ComparedRow, type ComparedSide, compareBuilds } from '../timeline/compare';
import { slipway } from '../transport';
import './panel-table.css';
import './build-compare.css';

const KIND_WORDS = { queued: 'queued', packing: 'packing', uploading: 'upload' } as const;

function side(value: ComparedSide | null): string {
  if (!value) return '—';
  if (value.cached) return 'cached';
  return value.durationMs === null ? '…' : formatDuration(value.durationMs);
}

function delta(row: ComparedRow): string {
  if (row.before?.cached !== row.after?.cached && row.before && row.after) {
    return row.after.cached ? 'now cached' : 'no longer cached';
  }
  if (row.before?.cached && row.after?.cached) return '';
  if (row.deltaMs === null) return row.before ? (row.after ? '' : 'gone') : 'new';
  if (Math.round(row.deltaMs) === 0) return 'same';
  const sign = row.deltaMs > 0 ? '+' : '−';
  return `${sign}${formatDuration(Math.abs(row.deltaMs))}`;
}

/**
 * Two builds of a project side by side, step by step: durations, cached or not, bytes sent; the step
 * whose duration changed most is named and its row marked.
 */
export function BuildCompare({ beforeId, afterId }: { beforeId: string; afterId: string }) {
  const [timelines, setTimelines] = useState<[BuildTimeline, BuildTimeline] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    setTimelines(null);
    Promise.all([
      slipway['build.timeline']({ buildId: beforeId }),
      slipway['build.timeline']({ buildId: afterId }),
    ]).then(
      (pair) => {
        if (!stopped) setTimelines(pair);
      },
      (error: unknown) => {
        if (!stopped) setFailure(errorMessage(error));
      },
    );
    return () => {
      stopped = true;
    };
  }, [beforeId, afterId]);
  if (failure) return <p className="calm-note">The builds cannot be compared: {failure}</p>;
  if (!timelines) return <p className="muted">Reading both builds…</p>;
  const comparison = compareBuilds(...timelines);
  const { biggest } = comparison;
  return (
    <section className="panel-table build-compare" data-testid="build-compare" aria-label="Two builds compared">
      <h2>
        Compared: <span className="mono">{beforeId}</span> → <span className="mono">{afterId}</span>
      </h2>
      <p className="compare-verdict" data-testid="compare-verdict">
        {biggest ? (
          <>
            <strong>{biggest.service}</strong> · <span className="mono">{biggest.name}</span> took{' '}
            <strong>{side(biggest.before)}</strong> then <strong>{side(biggest.after)}</strong> ({delta(biggest)}).
          </>
        ) : (
          'No step changed its duration beyond the usual jitter.'
        )}{' '}
        <span className="muted">
          Whole build: {comparison.totalBeforeMs === null ? '…' : formatDuration(comparison.totalBeforeMs)} →{' '}
          {comparison.totalAfterMs === null ? '…' : formatDuration(comparison.totalAfterMs)}
        </span>
      </p>
      <table>
        <thead>
          <tr>
            <th>Task</th>
            <th>Step</th>
            <th className="number">Before</th>
            <th className="number">After</th>
            <th className="number">Change</th>
          </tr>
        </thead>
        <tbody>
          {comparison.rows.map((row) => (
            <tr
              key={row.key}
              className={`${row.changed ? 'changed' : ''} ${row === biggest ? 'biggest' : ''}`}
              data-testid="compare-row"
              data-changed={row.changed}
            >
              <td>{row.service}</td>
              <td className={row.kind === 'step' ? 'mono compare-step' : 'compare-phase'}>
                {row.kind === 'step' ? row.name : KIND_WORDS[row.kind]}
                {row.beforeName ? <span className="compare-before muted">was: {row.beforeName}</span> : null}
                {row.kind === 'uploading' ? (
                  <span className="muted">
                    {' '}
                    · {bytes(row.before)} → {bytes(row.after)}
                  </span>
                ) : null}
              </td>
              <td className="number numeric">{side(row.before)}</td>
              <td className="number numeric">{side(row.after)}</td>
              <td className="number numeric compare-delta">{delta(row)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function bytes(value: ComparedSide | null): string {
  return value?.bytes == null ? '—' : formatBytes(value.bytes);
}
