import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A FAKE builder that answers like an engine and discards what it is sent: /_ping says OK, POST /build
 * drains the body and answers with one JSON-lines message saying how many bytes arrived. It exists to
 * measure Slipway's side of an upload (memory, bytes) without an engine's own cost in the way.
 */
export interface FakeSinkBuilder {
  url: string;
  /** Bytes of each /build request body, in arrival order. */
  received: number[];
  close(): Promise<void>;
}

export async function startFakeSinkBuilder(): Promise<FakeSinkBuilder> {
  const received: number[] = [];
  const server: Server = createServer((request, response) => {
    if (request.url === '/_ping') {
      response.end('OK');
      return;
    }
    if (request.method === 'POST' && request.url?.startsWith('/build')) {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      request.on('end', () => {
        received.push(bytes);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write(`${JSON.stringify({ stream: `fake sink received ${bytes} bytes\n` })}\n`);
        response.end(`${JSON.stringify({ aux: { ID: 'sha256:fake' } })}\n`);
      });
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
