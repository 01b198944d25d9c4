import { describe, expect, it } from 'vitest';
import { compareBuilds } from '../../../src/renderer/src/timeline/compare';
import type { BuildTimeline, TimelineStep } from '../../../src/shared/timeline';

const T = 1_700_000_000_000;

function build(id: string, steps: [string, number, boolean][], tarBytes: number): BuildTimeline {
  let at = T + 1000;
  const timelineSteps: TimelineStep[] = steps.map(([name, durationMs, cached], index) => {
    const step = {
      id: `${id}-${index}`,
      name,
      stage: null,
      startMs: at,
      endMs: at + durationMs,
      cached,
      failed: false,
      line: index,
    };
    at += durationMs;
    return step;
  });
  return {
    buildId: id,
    startMs: T,
    endMs: at,
    tasks: [
      {
        taskId: 'api',
        service: 'api',
        phase: 'done',
        phases: [
          { kind: 'queued', startMs: T, endMs: T + 10 },
          { kind: 'uploading', startMs: T + 10, endMs: T + 1000 },
        ],
        steps: timelineSteps,
        startMs: T + 10,
        endMs: at,
        tarBytes,
      },
    ],
  };
}

describe('comparing two builds', () => {
  it('names the step whose duration changed, before one that was cached only once, beside the bytes sent', () => {
    const before = build(
      'a',
      [
        ['[1/3] COPY . /', 2500, false],
        ['[2/3] RUN sleep $SLOW', 1000, false],
        ['[3/3] RUN make', 2000, false],
      ],
      4096,
    );
    const after = build(
      'b',
      [
        ['[1/3] COPY . /', 0, true],
        ['[2/3] RUN sleep $SLOW', 3000, false],
        ['[3/3] RUN make', 2100, false],
      ],
      8192,
    );
    const comparison = compareBuilds(before, after);
    expect(comparison.biggest?.name).toBe('[2/3] RUN sleep $SLOW');
    expect(comparison.biggest?.deltaMs).toBe(2000);
    const byName = Object.fromEntries(comparison.rows.map((row) => [row.name, row]));
    // 100 ms more on 2 s is jitter; a step cached in one build only is a change.
    expect(byName['[3/3] RUN make']?.changed).toBe(false);
    expect(byName['[1/3] COPY . /']).toMatchObject({
      changed: true,
      before: { cached: false },
      after: { cached: true },
    });
    expect(byName.uploading).toMatchObject({ before: { bytes: 4096 }, after: { bytes: 8192 } });
    expect(comparison.rows.filter((row) => row.changed).map((row) => row.name)).toEqual([
      '[1/3] COPY . /',
      '[2/3] RUN sleep $SLOW',
    ]);
  });

  it('matches a BuildKit step whose name carries a build arg by its place in the Dockerfile', () => {
    const before = build('a', [['[base 2/2] RUN sh -c "sleep 0"', 1300, false]], 1);
    const after = build('b', [['[base 2/2] RUN sh -c "sleep 4"', 5600, false]], 1);
    const comparison = compareBuilds(before, after);
    expect(comparison.biggest).toMatchObject({
      name: '[base 2/2] RUN sh -c "sleep 4"',
      beforeName: '[base 2/2] RUN sh -c "sleep 0"',
      deltaMs: 4300,
    });
  });

  it('lists a step only one build had, and names none when nothing moved', () => {
    const before = build(
      'a',
      [
        ['STEP 1/2: FROM scratch', 100, false],
        ['STEP 2/2: RUN make', 1000, false],
      ],
      1,
    );
    const after = build(
      'b',
      [
        ['STEP 1/2: FROM scratch', 120, false],
        ['STEP 2/2: RUN make', 1100, false],
        ['STEP 3/3: RUN test', 500, false],
      ],
      1,
    );
    const comparison = compareBuilds(before, after);
    expect(comparison.biggest).toBeNull();
    expect(comparison.rows.find((row) => row.name === 'STEP 3/3: RUN test')).toMatchObject({
      before: null,
      changed: false,
    });
  });
});
