import { type RequestName, requestNames, type SlipwayApi, type SlipwayEvent } from '../../shared/contract';

declare global {
  interface Window {
    slipway?: SlipwayApi;
  }
}

/** The contract over HTTP and server-sent events, for browser mode. The token travels in a cookie. */
function browserApi(): SlipwayApi {
  const api: Record<string, unknown> = {};
  for (const name of requestNames) {
    api[name] = async (input: unknown) => {
      const response = await fetch(`/api/${name satisfies RequestName}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input ?? {}),
      });
      const body = (await response.json()) as { result?: unknown; error?: { code: string; message: string } };
      if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
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

/** The contract as this window reaches it: Electron's preload, or HTTP in browser mode. */
export const slipway: SlipwayApi = window.slipway ?? browserApi();
