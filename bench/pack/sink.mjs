// A local sink that answers like an engine (/_ping, /version, /build) and discards every body it gets.
import { createServer } from 'node:http';

/**
 * Starts the sink. `answerBuild(request, response, headers)`, when given, answers /build instead of the
 * short log below (bench/logs answers a long one).
 */
export async function startSink({ answerBuild } = {}) {
  const received = [];
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://sink').pathname.replace(/^\/v[\d.]+/, '');
    const headers = { 'api-version': '1.41', ostype: 'linux' };
    if (path === '/_ping') {
      response.writeHead(200, headers).end(request.method === 'HEAD' ? undefined : 'OK');
      return;
    }
    if (path === '/version') {
      response.writeHead(200, { ...headers, 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ Version: 'sink', ApiVersion: '1.41', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' }),
      );
      return;
    }
    if (path === '/build' && answerBuild) {
      answerBuild(request, response, headers);
      return;
    }
    if (path === '/build') {
      let bytes = 0;
      request.on('data', (chunk) => {
        bytes += chunk.length;
      });
      request.on('end', () => {
        received.push(bytes);
        response.writeHead(200, { ...headers, 'content-type': 'application/json' });
        response.end(
          `${JSON.stringify({ stream: `sink received ${bytes} bytes\n` })}\n${JSON.stringify({ aux: { ID: 'sha256:sink' } })}\n`,
        );
      });
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    received,
    /** The HTTP server, for a bench that times the requests it answers. */
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
