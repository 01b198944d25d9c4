import { type Dispatcher, request as undiciRequest } from 'undici';

// The parts of undici Slipway uses, from its public index: its Agent, connector and request().
export { Agent, buildConnector, type Dispatcher } from 'undici';

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Dispatcher;
  method?: Dispatcher.HttpMethod;
};

/** undici's request(url, options), always through the given dispatcher (there is no global one here). */
export function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  return undiciRequest(url, { ...options, method: options.method ?? (options.body ? 'PUT' : 'GET') });
}
