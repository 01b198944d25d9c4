import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { wireLifecycle } from '../../src/main/app-lifecycle';

/** A stand-in for Electron's app: its events, and quit() firing before-quit as Electron's does. */
function fakeApp() {
  const events = new EventEmitter();
  const app = {
    quits: 0,
    isReady: () => true,
    on: (name: string, listener: (...args: unknown[]) => void) => {
      events.on(name, listener);
      return app;
    },
    quit: () => {
      const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
      events.emit('before-quit', event);
      if (!event.defaultPrevented) app.quits += 1;
    },
    emit: (name: string) => events.emit(name),
  };
  return app;
}

function wired(platform: NodeJS.Platform) {
  const app = fakeApp();
  const state = { window: true, created: 0 };
  const closeEngine = vi.fn(async () => undefined);
  wireLifecycle(app as never, {
    platform,
    hasWindow: () => state.window,
    createWindow: () => {
      state.window = true;
      state.created += 1;
    },
    closeEngine,
  });
  return { app, state, closeEngine };
}

describe('the app’s life', () => {
  it('on macOS keeps running when its last window closes, and the dock icon opens a window again', async () => {
    const { app, state, closeEngine } = wired('darwin');
    state.window = false;
    app.emit('window-all-closed');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(app.quits).toBe(0);
    expect(closeEngine).not.toHaveBeenCalled();
    app.emit('activate');
    expect(state.created).toBe(1);
    // With a window open, a click on the dock icon opens no second one.
    app.emit('activate');
    expect(state.created).toBe(1);
  });

  it('elsewhere quits when its last window closes, once the engine has closed', async () => {
    const { app, state, closeEngine } = wired('linux');
    state.window = false;
    app.emit('window-all-closed');
    expect(app.quits).toBe(0);
    await vi.waitFor(() => expect(app.quits).toBe(1));
    expect(closeEngine).toHaveBeenCalledTimes(1);
  });

  it('closes the engine once however often quitting is asked for (Cmd+Q twice)', async () => {
    const { app, closeEngine } = wired('darwin');
    app.quit();
    app.quit();
    await vi.waitFor(() => expect(app.quits).toBe(1));
    expect(closeEngine).toHaveBeenCalledTimes(1);
  });
});
