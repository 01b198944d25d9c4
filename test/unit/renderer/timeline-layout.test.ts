import { describe, expect, it } from 'vitest';
import { FOLD_STEPS_ABOVE, layoutTimeline, stageKey, tickLabel } from '../../../src/renderer/src/timeline/layout';
import type { BuildTimeline, TimelineStep, TimelineTask } from '../../../src/shared/timeline';

const T = 1_700_000_000_000;

function step(
  id: string,
  name: string,
  stage: string | null,
  startMs: number,
  endMs: number | null,
  cached = false,
): TimelineStep {
  return {
    id,
    name,
    stage,
    startMs: T + startMs,
    endMs: endMs === null ? null : T + endMs,
    cached,
    failed: false,
    line: 0,
  };
}

function task(taskId: string, steps: TimelineStep[], endMs: number | null = 10_000): TimelineTask {
  return {
    taskId,
    service: taskId,
    phase: endMs === null ? 'building' : 'done',
    phases: [
      { kind: 'queued', startMs: T, endMs: T + 100 },
      { kind: 'packing', startMs: T + 100, endMs: T + 400 },
      { kind: 'uploading', startMs: T + 400, endMs: T + 1000 },
    ],
    steps,
    startMs: T + 100,
    endMs: endMs === null ? null : T + endMs,
    tarBytes: 2048,
  };
}

function timeline(tasks: TimelineTask[], endMs: number | null = 10_000): BuildTimeline {
  return { buildId: 'b', startMs: T, endMs: endMs === null ? null : T + endMs, tasks };
}

const options = { widthPx: 1000, zoom: 1, nowMs: T + 10_000 };

describe('the timeline layout', () => {
  it('puts parallel BuildKit stages side by side in time, each stage with its steps below it', () => {
    const api = task('api', [
      step('a1', '[base 1/2] COPY busybox /bin/busybox', 'base', 1000, 1200),
      step('t1', '[tools 1/1] RUN sleep 4', 'tools', 1100, 5100),
      step('a2', '[base 2/2] RUN sleep 2', 'base', 1300, 3300),
      step('f1', '[3/3] COPY --from=tools /out /out', null, 5200, 5400),
    ]);
    const layout = layoutTimeline(timeline([api]), options);
    expect(layout.rows.map((row) => [row.kind, row.label, row.depth])).toEqual([
      ['task', 'api', 0],
      ['stage', 'base', 1],
      ['step', '[base 1/2] COPY busybox /bin/busybox', 2],
      ['step', '[base 2/2] RUN sleep 2', 2],
      ['stage', 'tools', 1],
      ['step', '[tools 1/1] RUN sleep 4', 2],
      ['stage', 'other', 1],
      ['step', '[3/3] COPY --from=tools /out /out', 2],
    ]);
    const bar = (label: string) => layout.rows.find((row) => row.label === label)?.bars[0];
    const base2 = bar('[base 2/2] RUN sleep 2');
    const tools = bar('[tools 1/1] RUN sleep 4');
    // The two stages ran at once: their bars overlap on the shared axis.
    expect(base2 && tools && base2.x < tools.x + tools.widthPx && tools.x < base2.x + base2.widthPx).toBe(true);
    // 10 s over 1000 px: 0.1 px a millisecond from the build's start.
    expect(tools?.x).toBeCloseTo(110);
    expect(tools?.widthPx).toBeCloseTo(400);
    expect(layout.rows[0]?.bars.map((phase) => phase.kind)).toEqual(['queued', 'packing', 'uploading']);
    expect(layout.slowest.map((slow) => slow.name)).toEqual([
      '[tools 1/1] RUN sleep 4',
      '[base 2/2] RUN sleep 2',
      '[base 1/2] COPY busybox /bin/busybox',
    ]);
    expect(tools?.slowest).toBe(true);
    expect(bar('[3/3] COPY --from=tools /out /out')?.slowest).toBe(false);
  });

  it('marks cached steps, never names them among the slowest, and keeps a step that took no time visible', () => {
    const web = task('web', [
      step('c1', 'STEP 1/3: FROM scratch', null, 1000, 1000, true),
      step('c2', 'STEP 2/3: COPY . /', null, 1000, 1000, true),
      step('r3', 'STEP 3/3: RUN make', null, 1000, 2000),
    ]);
    const layout = layoutTimeline(timeline([web]), options);
    // One stage only: no stage rows, the steps straight under the task.
    expect(layout.rows.map((row) => row.kind)).toEqual(['task', 'step', 'step', 'step']);
    const cached = layout.rows[1]?.bars[0];
    expect(cached?.cached).toBe(true);
    expect(cached?.widthPx).toBeGreaterThan(0);
    expect(layout.slowest.map((slow) => slow.name)).toEqual(['STEP 3/3: RUN make']);
  });

  it('folds a 300-step build into one row a stage, opens one stage on request, and zooms the axis', () => {
    const steps: TimelineStep[] = [];
    for (let index = 0; index < 300; index++) {
      const stage = `stage-${index % 6}`;
      steps.push(
        step(
          `s${index}`,
          `[${stage} ${index + 1}/300] RUN step ${index}`,
          stage,
          1000 + index * 30,
          1000 + index * 30 + 25,
          index % 4 === 0,
        ),
      );
    }
    const big = timeline([task('big', steps)]);
    const folded = layoutTimeline(big, options);
    expect(steps.length).toBeGreaterThan(FOLD_STEPS_ABOVE);
    expect(folded.rows.map((row) => row.kind)).toEqual(['task', ...Array(6).fill('stage')]);
    expect(folded.rows[1]).toMatchObject({ label: 'stage-0', steps: 50, cachedSteps: 25, expanded: false });
    const stageBar = folded.rows[1]?.bars[0];
    expect(stageBar?.kind).toBe('stage');
    expect(stageBar?.startMs).toBe(T + 1000);
    expect(stageBar?.endMs).toBe(T + 1000 + 294 * 30 + 25);
    const opened = layoutTimeline(big, { ...options, stageToggles: { [stageKey('big', 'stage-2')]: true } });
    expect(opened.rows).toHaveLength(1 + 6 + 50);
    expect(opened.rows.filter((row) => row.kind === 'step').every((row) => row.label.startsWith('[stage-2 '))).toBe(
      true,
    );
    const zoomed = layoutTimeline(big, { ...options, zoom: 4 });
    expect(zoomed.widthPx).toBe(4000);
    expect(zoomed.rows[2]?.bars[0]?.x).toBeCloseTo((folded.rows[2]?.bars[0]?.x ?? 0) * 4);
    // The axis keeps its labels apart at every zoom.
    for (const layout of [folded, zoomed]) {
      const gaps = layout.ticks.slice(1).map((tick, index) => tick.x - (layout.ticks[index]?.x ?? 0));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(90);
    }
    expect(zoomed.ticks.length).toBeGreaterThan(folded.ticks.length);
  });

  it('draws what still runs up to now', () => {
    const running = task('api', [step('r', '[1/1] RUN sleep 100', null, 1000, null)], null);
    const layout = layoutTimeline(timeline([running], null), { ...options, nowMs: T + 6000 });
    const bar = layout.rows[1]?.bars[0];
    expect(bar).toMatchObject({ running: true, durationMs: 5000 });
    expect(layout.spanMs).toBe(6000);
  });

  it('labels the axis in seconds and minutes', () => {
    expect([0, 500, 12_000, 90_000, 3_900_000].map(tickLabel)).toEqual(['0s', '0.5s', '12s', '1m 30s', '1h 5m']);
  });
});
