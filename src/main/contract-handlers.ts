import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { Engine } from '../core/engine';
import { type RequestName, requestNames } from '../shared/contract';
import { SlipwayError, toErrorInfo } from '../shared/errors';
import type { RequestAnswer } from '../shared/request-answer';
import { isTrustedSender } from './trusted-sender';

/** The IPC channel of a request: one per contract method. */
export function channelOf(name: RequestName): string {
  return `slipway:${name}`;
}

export const EVENT_CHANNEL = 'slipway:event';

/**
 * Wires every request of the contract to the engine. Each handler first checks that the sender is the
 * app's own window; the engine then validates the input against the request's schema. A handler never
 * throws: it answers `{ result }` or `{ error }` (a RequestAnswer), since Electron would carry only
 * an Error's message across IPC.
 */
export function registerContractHandlers(
  ipcMain: Pick<IpcMain, 'handle'>,
  engine: Pick<Engine, 'call'>,
  currentWindow: () => { webContents: WebContents } | null,
): void {
  for (const name of requestNames) {
    ipcMain.handle(
      channelOf(name),
      async (event: IpcMainInvokeEvent, input: unknown): Promise<RequestAnswer<unknown>> => {
        try {
          if (!isTrustedSender(event, currentWindow())) {
            throw new SlipwayError('E_BAD_INPUT', `Refused ${name}: IPC from an untrusted sender`);
          }
          return { result: await engine.call(name, input) };
        } catch (error) {
          return { error: toErrorInfo(error) };
        }
      },
    );
  }
}
