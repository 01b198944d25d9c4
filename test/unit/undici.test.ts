import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Agent, request } from '../../src/core/builders/undici';

describe("requests through undici's public API", () => {
  it('send a request with its method, path, query, headers and body through the given dispatcher', async () => {
    const seen: string[] = [];
    const server = createServer((incoming, response) => {
      let body = '';
      incoming.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      incoming.on('end', () => {
        seen.push(`${incoming.method} ${incoming.url} ${incoming.headers['x-test']} ${body}`);
        response.end('answer');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dispatcher = new Agent();
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const posted = await request(`${origin}/build?t=a%20b`, {
        dispatcher,
        method: 'POST',
        headers: { 'x-test': 'yes' },
        body: 'context',
      });
      expect(posted.statusCode).toBe(200);
      expect(await posted.body.text()).toBe('answer');
      const got = await request(`${origin}/_ping`, { dispatcher });
      await got.body.dump();
      expect(seen).toEqual(['POST /build?t=a%20b yes context', 'GET /_ping undefined ']);
    } finally {
      await dispatcher.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
