import type { Dispatcher } from 'undici';

// The parts of undici Slipway uses, from its public index: its Agent, connector, and each
// dispatcher's request().
export { Agent, buildConnector, type Dispatcher } from 'undici';

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Dispatcher;
  method?: Dispatcher.HttpMethod;
};

/**
 * A request to `url` through the given dispatcher (there is no global one here): undici's
 * Dispatcher.request, with the URL split into origin and path as it wants them.
 */
export function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  const target = new URL(url);
  return dispatcher.request({
    ...rest,
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
