import type { IpcMainInvokeEvent, WebContents } from 'electron';

/** Accepts only IPC from the app's own window and its own page. */
export function isTrustedSender(
  event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
  window: { webContents: WebContents } | null,
): boolean {
  if (!window || event.sender !== window.webContents) return false;
  const frameUrl = event.senderFrame?.url ?? '';
  return frameUrl.startsWith('file://') || frameUrl.startsWith(process.env.ELECTRON_RENDERER_URL ?? '\u0000');
}
