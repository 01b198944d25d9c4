import { contextBridge, ipcRenderer } from 'electron';
import { requestNames, type SlipwayApi, type SlipwayEvent } from '../shared/contract';

// Exposes exactly the contract: one function per request, and an event subscription. Nothing else.
const api: Record<string, unknown> = {};
for (const name of requestNames) {
  api[name] = (input: unknown) => ipcRenderer.invoke(`slipway:${name}`, input);
}
api.onEvent = (listener: (event: SlipwayEvent) => void) => {
  const handler = (_event: unknown, payload: SlipwayEvent) => listener(payload);
  ipcRenderer.on('slipway:event', handler);
  return () => ipcRenderer.off('slipway:event', handler);
};

contextBridge.exposeInMainWorld('slipway', api as SlipwayApi);
