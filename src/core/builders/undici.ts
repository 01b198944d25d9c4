import { createRequire } from 'node:module';
import type * as Undici from 'undici';

// The parts of undici Slipway uses (its Agent, connector and request()), loaded from undici's own
// modules rather than from its index. The index also loads fetch, WebSocket, cookies, caches and mock
// agents, none of which Slipway uses: about 0.1 s of CPU on every start of the CLI, before the first
// request. The paths are those of the undici version package.json pins; test/unit/undici.test.ts
// checks that they still give undici's own classes and functions.
const load = createRequire(import.meta.url);

export const Agent: typeof Undici.Agent = load('undici/lib/dispatcher/agent.js');
export const buildConnector: typeof Undici.buildConnector = load('undici/lib/core/connect.js');
export type { Dispatcher } from 'undici';

/** undici's request handler, called on a dispatcher: what undici's index adds to Dispatcher's prototype. */
export const requestOnDispatcher = load('undici/lib/api/api-request.js') as (
  this: Undici.Dispatcher,
  options: Undici.Dispatcher.RequestOptions,
) => Promise<Undici.Dispatcher.ResponseData>;

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Undici.Dispatcher;
  method?: Undici.Dispatcher.HttpMethod;
};

/** undici's request(url, options), always through the given dispatcher (there is no global one here). */
export function request(url: string, options: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  const target = new URL(url);
  return requestOnDispatcher.call(dispatcher, {
    ...rest,
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
