import { rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';

/**
 * A FAKE engine for one fault a real Docker Engine does not produce: it refuses BuildKit sessions
 * (answers POST /session with 404, as an engine without session support does) and passes every other
 * request through to the real engine's socket, byte for byte.
 */
export async function startSessionRefusingProxy(
  engineSocket: string,
  socketPath: string,
): Promise<{ url: string; refused: () => number; stop(): Promise<void> }> {
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const upstream = connect(engineSocket);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('data', (chunk: Buffer) => {
      // Each request's head comes in one write from undici: a session request is answered here.
      if (/^POST (\/v[\d.]+)?\/session[ ?]/.test(chunk.toString('latin1', 0, 64))) {
        refused += 1;
        const body = '{"message":"page not found"}';
        client.end(
          `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    url: `unix://${socketPath}`,
    refused: () => refused,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}
