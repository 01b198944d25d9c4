import type { BrowserWindow, Notification as ElectronNotification, NotificationConstructorOptions } from 'electron';
import { BuildWatch } from '../core/builds/build-watch';
import { buildEndText } from '../shared/build-progress';

type AttentionWindow = Pick<BrowserWindow, 'setProgressBar' | 'isFocused' | 'show' | 'focus'>;

type NotificationMaker = new (options: NotificationConstructorOptions) => Pick<ElectronNotification, 'show' | 'on'>;

/**
 * The taskbar (dock) progress of the running builds, and a notification when one ends while the
 * window is not focused; a click on it brings the window forward.
 */
export function buildAttention(
  currentWindow: () => AttentionWindow | null,
  Notification: NotificationMaker & { isSupported(): boolean },
): BuildWatch {
  return new BuildWatch({
    progress: (fraction) => currentWindow()?.setProgressBar(fraction === null ? -1 : fraction),
    finished: (build, status) => {
      const window = currentWindow();
      if (!window || window.isFocused() || !Notification.isSupported()) return;
      const notification = new Notification(buildEndText(build, status));
      notification.on('click', () => {
        window.show();
        window.focus();
      });
      notification.show();
    },
  });
}
