import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { SlipwayEvent } from '../shared/contract';
import type { SlipwayBridge } from '../shared/request-answer';
import { preloadRequestNames } from './request-names';

// Exposes exactly the contract: one function per request, answering main's { result } or { error }
// envelope as it is (the window's transport unwraps it), and an event subscription. Nothing else.
// (The channel names repeat src/main/contract-handlers.ts: a sandboxed preload cannot import main's modules.)
const api: Record<string, unknown> = {};
for (const name of preloadRequestNames) {
  api[name] = (input: unknown) => ipcRenderer.invoke(`slipway:${name}`, input);
}
api.onEvent = (listener: (event: SlipwayEvent) => void) => {
  const handler = (_event: unknown, payload: SlipwayEvent) => listener(payload);
  ipcRenderer.on('slipway:event', handler);
  return () => ipcRenderer.off('slipway:event', handler);
};

contextBridge.exposeInMainWorld('slipway', api as SlipwayBridge);

// A dropped folder's path: File.path is gone from sandboxed pages, webUtils is the supported way.
contextBridge.exposeInMainWorld('slipwayFiles', {
  pathForFile: (file: File) => webUtils.getPathForFile(file),
});
