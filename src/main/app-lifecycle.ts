import type { App } from 'electron';

type LifecycleApp = Pick<App, 'on' | 'quit' | 'isReady'>;

/**
 * How the app lives and ends, as each platform's users expect: on macOS it keeps running with no
 * window (it quits from its menu, Cmd+Q, or the dock) and a click on its dock icon opens the window
 * again; elsewhere closing the last window quits. Whichever way it quits, the engine closes first
 * (builds cancelled, logs flushed, records written).
 */
export function wireLifecycle(
  app: LifecycleApp,
  options: {
    platform: NodeJS.Platform;
    hasWindow(): boolean;
    createWindow(): void;
    closeEngine(): Promise<void>;
  },
): void {
  app.on('activate', () => {
    if (!options.hasWindow() && app.isReady()) options.createWindow();
  });
  app.on('window-all-closed', () => {
    if (options.platform !== 'darwin') app.quit();
  });
  let engineClosed = false;
  let closing = false;
  app.on('before-quit', (event) => {
    if (engineClosed) return;
    event.preventDefault();
    if (closing) return;
    closing = true;
    void options
      .closeEngine()
      .catch((error: unknown) => console.error('The engine did not close cleanly:', error))
      .finally(() => {
        engineClosed = true;
        app.quit();
      });
  });
}
