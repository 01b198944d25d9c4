import type { RequestInput, RequestName, RequestResult, SlipwayEvent } from './contract';
import type { ErrorInfo } from './errors';

/**
 * What a request answers across a process boundary: its result, or its error as plain data. Both
 * transports carry it as it is (Electron IPC, which would keep only an Error's message; and browser
 * mode's HTTP body), so the code and hint of an error arrive intact.
 */
export type RequestAnswer<T> = { result: T } | { error: ErrorInfo };

/** The contract as the Electron preload exposes it (window.slipway): every request answers an envelope. */
export type SlipwayBridge = {
  [N in RequestName]: (input: RequestInput<N>) => Promise<RequestAnswer<RequestResult<N>>>;
} & {
  onEvent(listener: (event: SlipwayEvent) => void): () => void;
};
