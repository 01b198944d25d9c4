import { describe, expect, it } from 'vitest';
import { buildAttention } from '../../src/main/build-attention';
import type { Build } from '../../src/shared/domain';
import { buildRecord } from '../support/records';

/** A stand-in for Electron's BrowserWindow and Notification: what the shell asked of them. */
function fakes(focused: boolean) {
  const calls = { progress: [] as number[], shown: [] as { title?: string; body?: string }[], focused: 0 };
  const window = {
    setProgressBar: (fraction: number) => calls.progress.push(fraction),
    isFocused: () => focused,
    show: () => undefined,
    focus: () => {
      calls.focused += 1;
    },
  };
  const clicks: (() => void)[] = [];
  class Notification {
    static isSupported = () => true;
    constructor(private readonly options: { title?: string; body?: string }) {}
    show() {
      calls.shown.push(this.options);
    }
    on(_name: 'click', listener: () => void) {
      clicks.push(listener);
      return this;
    }
  }
  return { calls, clicks, watch: buildAttention(() => window as never, Notification as never) };
}

const stateOf = (buildId: string, state: Build['tasks'][number]['state']) =>
  ({ type: 'task.state', buildId, taskId: 'web', state }) as const;

function started(): Build {
  const build = buildRecord('20261126-100000-aaaaaa', 'running');
  (build.tasks[0] as Build['tasks'][number]).state = { phase: 'queued' };
  return build;
}

describe('the desktop shell at the end of a build', () => {
  it('shows the build progress on the taskbar and clears it when the build ends', () => {
    const { calls, watch } = fakes(true);
    const build = started();
    watch.onEvent({ type: 'build.started', build });
    watch.onEvent(stateOf(build.id, { phase: 'uploading', bytesSent: 50, bytesTotal: 100, bytesPerSecond: 1 }));
    watch.onEvent(stateOf(build.id, { phase: 'building', step: 3, steps: 3 }));
    watch.onEvent({ type: 'build.finished', buildId: build.id, status: 'succeeded', error: null });
    expect(calls.progress).toEqual([0, 1 / 6, 1 / 3 + 4 / 9, -1]);
    // The window had the focus: no notification.
    expect(calls.shown).toEqual([]);
  });

  it('notifies when a build ends while the window is not focused, and a click brings the window back', () => {
    const { calls, clicks, watch } = fakes(false);
    const build = started();
    watch.onEvent({ type: 'build.started', build });
    const error = { code: 'E_BUILD_FAILED', message: 'web: exit 1' } as const;
    watch.onEvent(stateOf(build.id, { phase: 'failed', durationMs: 5, error }));
    watch.onEvent({ type: 'build.finished', buildId: build.id, status: 'failed', error: null });
    expect(calls.shown).toEqual([{ title: 'shop failed', body: 'web: E_BUILD_FAILED' }]);
    clicks[0]?.();
    expect(calls.focused).toBe(1);
  });
});
