import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { Engine } from '../core/engine';
import { type RequestName, requestNames } from '../shared/contract';
import { SlipwayError, toErrorInfo } from '../shared/errors';
import { isTrustedSender } from './trusted-sender';

/** The IPC channel of a request: one per contract method. */
export function channelOf(name: RequestName): string {
  return `slipway:${name}`;
}

export const EVENT_CHANNEL = 'slipway:event';

/**
 * Wires every request of the contract to the engine. Each handler first checks that the sender is the
 * app's own window; the engine then validates the input against the request's schema.
 */
export function registerContractHandlers(
  ipcMain: Pick<IpcMain, 'handle'>,
  engine: Pick<Engine, 'call'>,
  currentWindow: () => { webContents: WebContents } | null,
): void {
  for (const name of requestNames) {
    ipcMain.handle(channelOf(name), async (event: IpcMainInvokeEvent, input: unknown) => {
      try {
        if (!isTrustedSender(event, currentWindow())) {
          throw new SlipwayError('E_BAD_INPUT', `Refused ${name}: IPC from an untrusted sender`);
        }
        return await engine.call(name, input);
      } catch (error) {
        // Electron carries only an error's message across IPC: the ErrorInfo travels in it as JSON.
        throw new Error(JSON.stringify(toErrorInfo(error)));
      }
    });
  }
}
