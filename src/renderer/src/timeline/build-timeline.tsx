import type { Build } from '../../../shared/domain';
import { openLog } from '../store/store';
import { TimelineView } from './timeline-view';
import { useTimeline } from './use-timeline';

/** The build screen's timeline: read from the engine (running or from history) and drawn. */
export function BuildTimeline({ build, nowMs }: { build: Build; nowMs: number }) {
  const running = build.status === 'running';
  const answer = useTimeline(build.id, running, `${build.status}/${build.finishedAt}`);
  if (answer.state === 'loading') return null;
  if (answer.state === 'failed') {
    return (
      <p className="calm-note" data-testid="timeline-failed">
        The timeline is not available: {answer.code}: {answer.message}
      </p>
    );
  }
  return <TimelineView timeline={answer.timeline} nowMs={nowMs} onOpenStep={(taskId) => openLog(taskId)} />;
}
