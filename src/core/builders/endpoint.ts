import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { buildConnector as Connector } from 'undici';
import type { Endpoint } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { isLoopbackHost } from '../../shared/loopback';
import { loanOf, written } from '../pack/lent-buffers';
import { redactUrl } from './endpoint-url';
import { Agent, buildConnector, type Dispatcher } from './undici';

/** An endpoint made ready for requests: an origin for URLs and the dispatcher that reaches it. */
export interface Connection {
  endpoint: Endpoint;
  /** The URL as it may be shown and logged: credentials hidden. */
  label: string;
  origin: string;
  dispatcher: Dispatcher;
  /** True for unix sockets and loopback addresses (no compression needed). */
  loopback: boolean;
}

export interface ConnectOptions {
  /** Most sockets the pool opens to this endpoint at once (default: unlimited). */
  connections?: number;
  /** Fails the TCP (and TLS) connect after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Called with the time each new socket took to connect (TCP, and TLS when used). */
  onConnected?: (handshakeMs: number) => void;
}

/**
 * Tells the packer when a chunk it lent (see pack/lent-buffers.ts) has been written by this socket:
 * Node calls a write's callback once its bytes are in the kernel, and only then may the buffer be
 * reused. Other writes pass as they are.
 */
function reportLentWrites(socket: Socket): void {
  const write = socket.write;
  socket.write = function writeReportingLent(this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    const loan = loanOf(chunk);
    if (!loan) return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    const callback = typeof rest.at(-1) === 'function' ? (rest.pop() as (error?: Error | null) => void) : undefined;
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest, (error?: Error | null) => {
      if (!error) written(loan);
      callback?.(error);
    });
  } as Socket['write'];
}

/**
 * undici's own connector, its sockets reporting the packer's lent chunks (see reportLentWrites), and
 * timed when someone asks how long handshakes take.
 */
function connector(options: Connector.BuildOptions, onConnected?: (handshakeMs: number) => void) {
  const base = buildConnector(options);
  const reporting: Connector.connector = (connectOptions, callback) => {
    const startMs = performance.now();
    base(connectOptions, (...result) => {
      if (result[0] === null) {
        onConnected?.(performance.now() - startMs);
        reportLentWrites(result[1]);
      }
      callback(...result);
    });
  };
  return reporting;
}

function readTlsFile(path: string, what: string, url: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new SlipwayError(
      'E_BAD_INPUT',
      `Cannot read the TLS ${what} ${path} for ${redactUrl(url)}: ${(error as NodeJS.ErrnoException).code}`,
      { hint: 'Point the endpoint (or DOCKER_CERT_PATH) at a folder with ca.pem, cert.pem and key.pem.' },
    );
  }
}

/**
 * TLS as the docker CLI applies it: ca/cert/key files; verification on unless explicitly off. The key
 * is read into memory for the socket only and never put in an error message.
 */
function tlsOptions(endpoint: Endpoint) {
  const tls = endpoint.tls ?? {};
  return {
    ca: tls.ca ? readTlsFile(tls.ca, 'CA certificate', endpoint.url) : undefined,
    cert: tls.cert ? readTlsFile(tls.cert, 'client certificate', endpoint.url) : undefined,
    key: tls.key ? readTlsFile(tls.key, 'client key', endpoint.url) : undefined,
    rejectUnauthorized: tls.verify !== false,
  };
}

/** True when the endpoint speaks TLS: https://, or tcp:// with TLS material. */
export function usesTls(endpoint: Endpoint): boolean {
  if (endpoint.url.startsWith('https://')) return true;
  return endpoint.url.startsWith('tcp://') && endpoint.tls !== undefined;
}

/** Opens a connection pool to an endpoint URL: unix://, tcp:// (plain or TLS) or http(s)://. */
export function connect(endpoint: Endpoint, options: ConnectOptions = {}): Connection {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    throw new SlipwayError('E_BAD_INPUT', `Not a builder URL: ${redactUrl(endpoint.url)}`, {
      hint: 'Use unix:///path/to/engine.sock, tcp://host:port or http(s)://host:port.',
    });
  }
  // Builds may stay silent for many minutes, and an engine may read the whole context before it
  // answers: no idle timeouts here; the session watches for silence and cancels through AbortSignal.
  const pool = {
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: 4_000,
    connections: options.connections ?? null,
  };
  const timeout = options.connectTimeoutMs ?? 10_000;
  switch (url.protocol) {
    case 'unix:':
      return {
        endpoint,
        label: redactUrl(endpoint.url),
        origin: 'http://localhost',
        dispatcher: new Agent({
          ...pool,
          connect: connector({ socketPath: url.pathname, timeout }, options.onConnected),
        }),
        loopback: true,
      };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = usesTls(endpoint);
      const headers = url.username ? { authorization: basicAuth(url) } : undefined;
      const agent = new Agent({
        ...pool,
        connect: connector(tls ? { ...tlsOptions(endpoint), timeout } : { timeout }, options.onConnected),
      });
      // Credentials in the URL go in a header on every request, so no caller has to handle them.
      const dispatcher = headers
        ? agent.compose(
            (dispatch) => (request, handler) =>
              dispatch(
                { ...request, headers: { ...(request.headers as Record<string, string>), ...headers } },
                handler,
              ),
          )
        : agent;
      return {
        endpoint,
        label: redactUrl(endpoint.url),
        origin: `${tls ? 'https' : 'http'}://${url.host}`,
        dispatcher,
        loopback: isLoopbackHost(url.hostname),
      };
    }
    default:
      throw new SlipwayError(
        'E_BAD_INPUT',
        `Unsupported builder URL scheme ${url.protocol} in ${redactUrl(endpoint.url)}`,
        { hint: 'Use unix://, tcp://, http:// or https://.' },
      );
  }
}

function basicAuth(url: URL): string {
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
