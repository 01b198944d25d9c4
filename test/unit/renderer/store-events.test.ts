import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SlipwayEvent } from '../../../src/shared/contract';
import type { Build, BuildTask } from '../../../src/shared/domain';

// The store reaches the engine through transport.ts, which looks for Electron's bridge on `window`;
// without one it speaks HTTP, and every request it sends goes through fetch, watched here.
type Store = typeof import('../../../src/renderer/src/store/store');
type Selectors = typeof import('../../../src/renderer/src/store/selectors');
type Events = typeof import('../../../src/renderer/src/store/events');
let store: Store;
let selectors: Selectors;
let events: Events;
const fetchSpy = vi.fn(async () => new Response(JSON.stringify({ result: null })));

beforeAll(async () => {
  vi.stubGlobal('window', {});
  vi.stubGlobal('fetch', fetchSpy);
  store = await import('../../../src/renderer/src/store/store');
  selectors = await import('../../../src/renderer/src/store/selectors');
  events = await import('../../../src/renderer/src/store/events');
});

afterEach(() => fetchSpy.mockClear());

function task(id: string): BuildTask {
  return {
    task: { id, service: id, contextPath: `/p/${id}`, dockerfile: 'Dockerfile' },
    state: { phase: 'building', step: 1, steps: 3 },
    tag: null,
    scan: null,
    logLines: 0,
  };
}

function runningBuild(): Build {
  return {
    id: 'b1',
    projectPath: '/p',
    target: { name: 'default', kind: 'docker', endpoints: [{ region: 'local', url: 'unix:///x.sock' }] },
    region: 'local',
    reason: 'only region',
    startedAt: new Date(0).toISOString(),
    finishedAt: null,
    status: 'running',
    tasks: [task('api'), task('web')],
    error: null,
  };
}

/** Counts how often a selector's answer changes: what makes a component that uses it re-render. */
function countChanges<T>(select: (state: ReturnType<Store['useStore']['getState']>) => T): { changes: number } {
  const counter = { changes: 0 };
  let last = select(store.useStore.getState());
  store.useStore.subscribe((state) => {
    const next = select(state);
    if (!Object.is(next, last)) counter.changes += 1;
    last = next;
  });
  return counter;
}

describe('the window’s store', () => {
  it('re-renders only the row of the task whose log grows, not the other rows nor the build screen', () => {
    store.useStore.setState({ build: runningBuild(), logLines: {}, screen: 'build' });
    const webRow = [
      countChanges(selectors.selectTask('web')),
      countChanges(selectors.selectLogLines('web')),
      countChanges(selectors.selectTaskRegion('web')),
      countChanges(selectors.selectTaskStartedMs('web')),
    ];
    const buildScreen = countChanges((state) => state.build);
    const apiLines = countChanges(selectors.selectLogLines('api'));
    for (let lines = 1; lines <= 50; lines++) {
      store.applyEvents([{ type: 'task.log', buildId: 'b1', taskId: 'api', lines: lines * 100 }]);
    }
    expect(apiLines.changes).toBe(50);
    expect(store.useStore.getState().logLines['b1/api']).toBe(5000);
    expect(webRow.map((counter) => counter.changes)).toEqual([0, 0, 0, 0]);
    expect(buildScreen.changes).toBe(0);

    // Progress of one task: the build screen re-reads the build, the other task's row keeps its task.
    const webTask = countChanges(selectors.selectTask('web'));
    store.applyEvents([
      { type: 'task.state', buildId: 'b1', taskId: 'api', state: { phase: 'building', step: 2, steps: 3 } },
    ]);
    expect(buildScreen.changes).toBe(1);
    expect(webTask.changes).toBe(0);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('keeps one line count per log, which a smaller or stale count never lowers', () => {
    store.useStore.setState({ build: runningBuild(), logLines: { 'b1/api': 10 } });
    store.noteLogLines('b1', 'api', 7);
    store.applyEvents([{ type: 'task.log', buildId: 'b1', taskId: 'api', lines: 3 }]);
    expect(store.useStore.getState().logLines['b1/api']).toBe(10);
    store.noteLogLines('b1', 'api', 12);
    expect(store.useStore.getState().logLines['b1/api']).toBe(12);
    // Another build's counts are not kept for the one shown.
    store.noteLogLines('other', 'api', 99);
    expect(store.useStore.getState().logLines['other/api']).toBeUndefined();
  });

  it('reduces events without sending a request, and says which requests they call for', () => {
    const state = { ...store.useStore.getState(), build: runningBuild(), screen: 'history' as const };
    const finished: SlipwayEvent[] = [
      { type: 'build.finished', buildId: 'b1', status: 'succeeded', error: null },
      { type: 'history.changed' },
    ];
    const { changes, followUps } = events.reduceEvents(state, finished, Date.parse('2026-01-01T00:00:00Z'));
    expect(changes.build?.status).toBe('succeeded');
    expect(changes.build?.finishedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(followUps).toEqual({ reloadBuild: 'b1', reloadHistory: true });
    expect(fetchSpy).not.toHaveBeenCalled();
    // Applied, the same events send exactly those requests.
    store.useStore.setState(state);
    store.applyEvents(finished);
    expect(fetchSpy.mock.calls.map((call) => String((call as unknown[])[0]))).toEqual([
      '/api/build.get',
      '/api/history.list',
    ]);
  });
});
