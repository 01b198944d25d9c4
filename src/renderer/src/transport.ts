import { type RequestName, requestNames, type SlipwayApi, type SlipwayEvent } from '../../shared/contract';
import type { ErrorInfo } from '../../shared/errors';
import type { RequestAnswer, SlipwayBridge } from '../../shared/request-answer';

/** What the Electron preload adds beside the contract: the path of a dropped file (webUtils.getPathForFile). */
export interface SlipwayFiles {
  pathForFile(file: File): string;
}

declare global {
  interface Window {
    slipway?: SlipwayBridge;
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
      const body = (await response.json().catch(() => ({}))) as Partial<RequestAnswer<unknown>>;
      if ('error' in body && body.error) throw contractError(body.error);
      if (!response.ok) throw new ContractError('E_INTERNAL', `The engine answered HTTP ${response.status}`);
      return 'result' in body ? body.result : undefined;
    };
  }
  api.onEvent = (listener: (event: SlipwayEvent) => void) => {
    const source = new EventSource('/events');
    source.onmessage = (message) => listener(JSON.parse(message.data as string) as SlipwayEvent);
    return () => source.close();
  };
  return api as SlipwayApi;
}

function contractError(info: ErrorInfo): ContractError {
  return new ContractError(info.code, info.message, info.hint);
}

/** The contract over Electron's preload, whose every request answers a RequestAnswer envelope. */
export function electronApi(bridge: SlipwayBridge): SlipwayApi {
  const api: Record<string, unknown> = { onEvent: bridge.onEvent };
  for (const name of requestNames) {
    api[name] = async (input: unknown) => {
      const answer = await (bridge[name] as (input: unknown) => Promise<RequestAnswer<unknown>>)(input);
      if ('error' in answer) throw contractError(answer.error);
      return answer.result;
    };
  }
  return api as SlipwayApi;
}

/** The contract as this window reaches it: Electron's preload, or HTTP in browser mode. */
export const slipway: SlipwayApi = window.slipway ? electronApi(window.slipway) : browserApi();
export const mode: 'electron' | 'browser' = window.slipway ? 'electron' : 'browser';
