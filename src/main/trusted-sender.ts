import type { IpcMainInvokeEvent, WebContents } from 'electron';

/** Accepts only IPC from the app's own window showing the app's own page (never a navigated-to one). */
export function isTrustedSender(
  event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
  window: { webContents: WebContents } | null,
): boolean {
  if (!window || event.sender !== window.webContents) return false;
  const frameUrl = event.senderFrame?.url ?? '';
  if (frameUrl.startsWith('file://')) return true;
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  return devUrl !== undefined && devUrl !== '' && frameUrl.startsWith(devUrl);
}
