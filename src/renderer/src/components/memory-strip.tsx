import { useEffect, useState } from 'react';
import { formatBytes } from '../format';
import { useStore } from '../store/store';
import { slipway } from '../transport';
import './memory-strip.css';

const POLL_MS = 1000;

/**
 * The engine's live memory beside what its builds were estimated to add to it (the tasks that run at
 * once, by the build's concurrency): the peak should stay within it of the idle engine.
 */
export function MemoryStrip({ active }: { active: boolean }) {
  const [memory, setMemory] = useState<{ rssBytes: number; heapUsedBytes: number } | null>(null);
  const [peakRssBytes, setPeakRssBytes] = useState(0);
  const inspections = useStore((state) => state.inspections);
  const taskIds = useStore((state) => state.build?.tasks.map((task) => task.task.id).join(',') ?? '');
  const concurrency = useStore((state) => state.options.concurrency);
  useEffect(() => {
    let alive = true;
    const poll = () =>
      slipway['app.memory']({}).then(
        (result) => {
          if (!alive) return;
          setMemory(result);
          setPeakRssBytes((peak) => Math.max(peak, result.rssBytes));
        },
        () => undefined,
      );
    void poll();
    const timer = active ? setInterval(poll, POLL_MS) : null;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
  }, [active]);
  const estimates = taskIds
    .split(',')
    .map((id) => inspections?.[id]?.memoryEstimateBytes)
    .filter((bytes): bytes is number => bytes !== undefined);
  // The tasks that can run at once: the largest estimates, as many as the build runs at a time.
  const atOnce = estimates.sort((a, b) => b - a).slice(0, Math.max(1, concurrency));
  const estimateBytes = atOnce.length > 0 ? atOnce.reduce((sum, bytes) => sum + bytes, 0) : null;
  return (
    <div className="memory-strip" data-testid="memory-strip">
      <span className="memory-strip-label">Engine memory</span>
      <span>
        RSS <strong className="numeric">{memory ? formatBytes(memory.rssBytes) : '…'}</strong>
      </span>
      <span>
        heap <strong className="numeric">{memory ? formatBytes(memory.heapUsedBytes) : '…'}</strong>
      </span>
      <span className="muted">peak RSS {formatBytes(peakRssBytes)}</span>
      <span className="memory-strip-estimate">
        {estimateBytes === null
          ? 'Estimate: not measured for this build'
          : `Builds estimated to add at most ${formatBytes(estimateBytes)} (${atOnce.length} at a time), whatever the context size`}
      </span>
    </div>
  );
}
