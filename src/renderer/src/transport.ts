import { type RequestName, requestNames, type SlipwayApi, type SlipwayEvent } from '../../shared/contract';

/** What the Electron preload adds beside the contract: the path of a dropped file (webUtils.getPathForFile). */
export interface SlipwayFiles {
  pathForFile(file: File): string;
}

declare global {
  interface Window {
    slipway?: SlipwayApi;
    slipwayFiles?: SlipwayFiles;
  }
}

/** An error that crossed a transport, with its contract code kept. */
export class ContractError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ContractError';
  }
}

/** The contract over HTTP and server-sent events, for browser mode. The token travels in a cookie. */
function browserApi(): SlipwayApi {
  const api: Record<string, unknown> = {};
  for (const name of requestNames) {
    api[name] = async (input: unknown) => {
      let response: Response;
      try {
        response = await fetch(`/api/${name satisfies RequestName}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        });
      } catch (error) {
        throw new ContractError('E_INTERNAL', `The engine cannot be reached: ${(error as Error).message}`);
      }
      const body = (await response.json().catch(() => ({}))) as {
        result?: unknown;
        error?: { code: string; message: string; hint?: string };
      };
      if (body.error) throw new ContractError(body.error.code, body.error.message, body.error.hint);
      if (!response.ok) throw new ContractError('E_INTERNAL', `The engine answered HTTP ${response.status}`);
      return body.result;
    };
  }
  api.onEvent = (listener: (event: SlipwayEvent) => void) => {
    const source = new EventSource('/events');
    source.onmessage = (message) => listener(JSON.parse(message.data as string) as SlipwayEvent);
    return () => source.close();
  };
  return api as SlipwayApi;
}

/** Electron passes only an error's message across IPC; main puts the ErrorInfo in it as JSON. */
function electronApi(bridge: SlipwayApi): SlipwayApi {
  const api: Record<string, unknown> = { onEvent: bridge.onEvent };
  for (const name of requestNames) {
    api[name] = async (input: unknown) => {
      try {
        return await (bridge[name] as (input: unknown) => Promise<unknown>)(input);
      } catch (error) {
        const match = /(\{.*\})\s*$/.exec((error as Error).message ?? '');
        if (match) {
          const info = JSON.parse(match[1] as string) as { code: string; message: string; hint?: string };
          throw new ContractError(info.code, info.message, info.hint);
        }
        throw error;
      }
    };
  }
  return api as SlipwayApi;
}

/** The contract as this window reaches it: Electron's preload, or HTTP in browser mode. */
export const slipway: SlipwayApi = window.slipway ? electronApi(window.slipway) : browserApi();
export const mode: 'electron' | 'browser' = window.slipway ? 'electron' : 'browser';
