import { createRequire } from 'node:module';
import type * as Undici from 'undici';

// The parts of undici Slipway uses: its Agent (with the Pool and Client under it), its connector, and
// the request and upgrade methods its index puts on every dispatcher. The index also loads fetch,
// WebSocket, cookies, caches, mocks and proxies, none of which Slipway uses: about 0.15 s of CPU on
// every start, most of a small build's time. So the modules are loaded by their paths in the undici
// that package.json pins exactly; test/unit/undici.test.ts checks that they are the index's very
// classes and functions, so an upgrade that moves them fails there, and should a path be missing at
// run time all the same, the index is loaded instead: slower, never broken.
const load = createRequire(import.meta.url);

interface UndiciParts {
  Agent: typeof Undici.Agent;
  buildConnector: typeof Undici.buildConnector;
  /** Where they came from: their own modules, or the index when a path went missing. */
  loadedFrom: 'modules' | 'index';
}

function loadParts(): UndiciParts {
  try {
    const dispatcher: typeof Undici.Dispatcher = load('undici/lib/dispatcher/dispatcher.js');
    // What undici's index does to Dispatcher's prototype: request(), upgrade(), stream() and the rest.
    Object.assign(dispatcher.prototype, load('undici/lib/api/index.js'));
    return {
      Agent: load('undici/lib/dispatcher/agent.js'),
      buildConnector: load('undici/lib/core/connect.js'),
      loadedFrom: 'modules',
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    const index: typeof Undici = load('undici');
    return { Agent: index.Agent, buildConnector: index.buildConnector, loadedFrom: 'index' };
  }
}

export const { Agent, buildConnector, loadedFrom: undiciLoadedFrom } = loadParts();
export type { Dispatcher } from 'undici';

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Undici.Dispatcher;
  method?: Undici.Dispatcher.HttpMethod;
};

/**
 * A request to `url` through the given dispatcher (there is no global one here): undici's
 * Dispatcher.request, with the URL split into origin and path as it wants them.
 */
export function request(url: string, options: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  const target = new URL(url);
  return dispatcher.request({
    ...rest,
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
