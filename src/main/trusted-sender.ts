import type { IpcMainInvokeEvent, WebContents } from 'electron';

/** Accepts only IPC from the app's own window showing the app's own page (never a navigated-to one). */
export function isTrustedSender(
  event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
  window: { webContents: WebContents } | null,
): boolean {
  if (!window || event.sender !== window.webContents) return false;
  const frameUrl = event.senderFrame?.url ?? '';
  // The app's own page, not just any local file the window could have been led to.
  if (frameUrl.startsWith('file://')) return new URL(frameUrl).pathname.endsWith('/renderer/index.html');
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  return devUrl !== undefined && devUrl !== '' && frameUrl.startsWith(devUrl);
}
