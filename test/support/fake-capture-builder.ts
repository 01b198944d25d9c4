import { createWriteStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * A FAKE builder that answers like an engine (/_ping, /version, POST /build) and saves each uploaded
 * build context to a file, so a test can compare what Slipway sends with what the docker CLI sends to
 * the same endpoint. It builds nothing: a real engine unpacks the context and we could not see it whole.
 */
export interface FakeCaptureBuilder {
  /** tcp://127.0.0.1:<port>, for DOCKER_HOST and --builder. */
  url: string;
  /** Each /build request: the query it carried and the file holding its body. */
  captures: { query: URLSearchParams; file: string }[];
  /** GET /_ping requests answered so far. */
  pings: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Every request, in order: its path (version prefix cut), the connection it came on (counted from 1), and when. */
  requests: { path: string; connection: number; atMs: number }[];
  close(): Promise<void>;
}

/** Starts the FAKE capture endpoint; bodies are written under `directory`. */
export async function startFakeCaptureBuilder(directory: string): Promise<FakeCaptureBuilder> {
  const captures: FakeCaptureBuilder['captures'] = [];
  const fake: FakeCaptureBuilder = {
    url: '',
    captures,
    pings: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    // Clients put an API version in front (/v1.41/build); the engine answers either form.
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    fake.requests.push({ path, connection: connectionOf.get(request.socket) ?? 0, atMs: performance.now() });
    const headers = { 'api-version': '1.41', 'docker-experimental': 'false', ostype: 'linux' };
    if (path === '/_ping') {
      fake.pings += 1;
      response.writeHead(200, { ...headers, 'content-type': 'text/plain' });
      response.end(request.method === 'HEAD' ? undefined : 'OK');
      return;
    }
    if (path === '/version') {
      response.writeHead(200, { ...headers, 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          Version: '0.0.0-fake',
          ApiVersion: '1.41',
          MinAPIVersion: '1.24',
          Os: 'linux',
          Arch: 'amd64',
        }),
      );
      return;
    }
    if (request.method === 'POST' && path === '/build') {
      const file = join(directory, `context-${captures.length}.tar`);
      captures.push({ query: url.searchParams, file });
      pipeline(request, createWriteStream(file)).then(
        () => {
          response.writeHead(200, { ...headers, 'content-type': 'application/json' });
          response.write(`${JSON.stringify({ stream: 'Step 1/1 : FROM scratch\n' })}\n`);
          response.write(`${JSON.stringify({ aux: { ID: 'sha256:0123456789abcdef' } })}\n`);
          response.end(`${JSON.stringify({ stream: 'Successfully built 0123456789ab\n' })}\n`);
        },
        () => response.destroy(),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not in the fake"}');
  });
  const connectionOf = new WeakMap<object, number>();
  server.on('connection', (socket) => {
    fake.connections += 1;
    connectionOf.set(socket, fake.connections);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `tcp://127.0.0.1:${port}`;
  return fake;
}
