import { describe, expect, it } from 'vitest';
import { failedLogToOpen } from '../../../src/renderer/src/log/failed-log';
import { foldsAtEnd } from '../../../src/renderer/src/log/fold-map';
import { lineLink } from '../../../src/renderer/src/log/line-link';
import { formatClock } from '../../../src/renderer/src/log/line-time';
import { NewestOnly } from '../../../src/renderer/src/log/newest-only';
import { ALL_TASKS, ONE_LOG } from '../../../src/renderer/src/store/app-state';
import type { LogStep } from '../../../src/shared/domain';

const step = (line: number): LogStep => ({ step: line, steps: 3, line, text: `STEP ${line}/3`, durationMs: 10 });

describe('reading a log', () => {
  it('folds every finished step when a build ends and keeps the one holding the error open', () => {
    const steps = [step(0), step(10), step(20)];
    expect([...foldsAtEnd(steps, 14)]).toEqual([0, 20]);
    expect([...foldsAtEnd(steps, 25)]).toEqual([0, 10]);
    expect([...foldsAtEnd(steps, null)]).toEqual([0, 10, 20]);
  });

  it('links a line by the number its gutter shows', () => {
    expect(lineLink('20261201-120000-abc', 'web', 0)).toBe('#build/20261201-120000-abc/web/1');
    expect(lineLink('b', 'a b', 41)).toBe('#build/b/a%20b/42');
  });

  it('shows a time to the millisecond', () => {
    expect(formatClock(new Date(2026, 0, 2, 3, 4, 5, 67).getTime())).toBe('03:04:05.067');
  });

  it("opens a failed build's failed task log unless another single log is being read", () => {
    const tasks = [
      { task: { id: 'api' }, state: { phase: 'done' } },
      { task: { id: 'web' }, state: { phase: 'failed' } },
    ];
    expect(failedLogToOpen(tasks, null)).toBe('web');
    expect(failedLogToOpen(tasks, 'web')).toBe('web');
    expect(failedLogToOpen(tasks, ALL_TASKS)).toBe('web');
    expect(failedLogToOpen(tasks, ONE_LOG)).toBe('web');
    // The user reads api's log (or the builder's own): it stays.
    expect(failedLogToOpen(tasks, 'api')).toBeNull();
    expect(failedLogToOpen(tasks, 'builder-log')).toBeNull();
    expect(failedLogToOpen([{ task: { id: 'api' }, state: { phase: 'cancelled' } }], null)).toBeNull();
  });

  it("uses only the newest search's answer, however late an older one comes back", () => {
    const searches = new NewestOnly();
    const first = searches.take();
    expect(first()).toBe(true);
    const second = searches.take();
    expect([first(), second()]).toEqual([false, true]);
    // A new log: no search answered before it is shown.
    searches.drop();
    expect(second()).toBe(false);
  });
});
