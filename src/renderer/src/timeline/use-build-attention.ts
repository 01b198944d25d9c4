import { useEffect, useRef, useState } from 'react';
import { buildEndText, buildProgress } from '../../../shared/build-progress';
import { useStore } from '../store/store';

const BASE_TITLE = 'Slipway';

/** Whether this page may show notifications (browser mode; the desktop app's main process has its own). */
export function notificationPermission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/**
 * Browser mode's end of a build: the tab's title carries the shown build's progress ("42% · shop"), and
 * a notification says when it ended while the page was not focused (once the user allowed them).
 */
export function useBuildAttention(): void {
  const build = useStore((state) => state.build);
  const mode = useStore((state) => state.info?.mode ?? null);
  const lastStatus = useRef<{ id: string; status: string } | null>(null);
  const running = build?.status === 'running';
  const percent = build && running ? Math.floor(buildProgress(build) * 100) : null;
  const project = build?.projectPath.split(/[\\/]/).filter(Boolean).pop() ?? '';
  useEffect(() => {
    if (mode !== 'browser') return;
    document.title = percent === null ? BASE_TITLE : `${percent}% · ${project} — ${BASE_TITLE}`;
  }, [mode, percent, project]);
  useEffect(() => {
    if (!build) return;
    const before = lastStatus.current;
    lastStatus.current = { id: build.id, status: build.status };
    if (mode !== 'browser' || before?.id !== build.id || before.status !== 'running' || build.status === 'running') {
      return;
    }
    if (document.hasFocus() || notificationPermission() !== 'granted') return;
    const { title, body } = buildEndText(build, build.status);
    const notification = new Notification(title, { body, tag: build.id });
    notification.onclick = () => window.focus();
  }, [build, mode]);
}

/** A button that asks the browser for leave to notify, shown only while that is undecided. */
export function useNotificationAsk(): { ask: (() => void) | null } {
  const mode = useStore((state) => state.info?.mode ?? null);
  const [permission, setPermission] = useState(notificationPermission());
  if (mode !== 'browser' || permission !== 'default') return { ask: null };
  return {
    ask: () => {
      void Notification.requestPermission().then(setPermission, () => setPermission('denied'));
    },
  };
}
