import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../../src/core/builders/endpoint';
import { BufferPool, loanOf, written } from '../../src/core/pack/lent-buffers';

let servers: Server[] = [];
afterEach(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  servers = [];
});

describe('buffers lent to the upload', () => {
  it('come back to their pool only once written, exactly as lent', () => {
    const pool = new BufferPool(1024, 4);
    const buffer = pool.take();
    expect(buffer.byteLength).toBe(1024);
    const chunk = pool.lend(buffer.subarray(0, 600));
    // A cut of the chunk, or another view of the same memory, is not the loan.
    expect(loanOf(chunk.subarray(0, 100))).toBeNull();
    expect(loanOf(buffer)).toBeNull();
    expect(loanOf(Buffer.alloc(600))).toBeNull();
    const loan = loanOf(chunk);
    expect(loan).not.toBeNull();
    // Not written yet: the pool gives a new buffer.
    expect(pool.take().buffer).not.toBe(buffer.buffer);
    written(loan as object);
    // Written twice (it never is): it comes back once.
    written(loan as object);
    expect(pool.take().buffer).toBe(buffer.buffer);
    expect(pool.take().buffer).not.toBe(buffer.buffer);
  });

  it('keep at most the pool size, and only buffers of its size', () => {
    const pool = new BufferPool(64, 1);
    const first = pool.take();
    const second = pool.take();
    pool.giveBack(first);
    pool.giveBack(second);
    pool.giveBack(Buffer.allocUnsafeSlow(32));
    expect(pool.take()).toBe(first);
    expect(pool.take()).not.toBe(second);
  });

  it('is given back by a connection of builders/endpoint.ts once its socket has written it', async () => {
    const received: Buffer[] = [];
    const server = createServer((socket: Socket) => socket.on('data', (data) => received.push(data)));
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address() as { port: number };
    const connection = connect({ region: 'local', url: `tcp://127.0.0.1:${address.port}` });
    const pool = new BufferPool(256 * 1024, 4);
    const buffer = pool.take().fill(7);
    const chunk = pool.lend(buffer.subarray(0, 200 * 1024));
    const request = connection.dispatcher
      .request({ origin: connection.origin, path: '/build', method: 'POST', body: chunk, headersTimeout: 500 })
      .catch(() => undefined);
    // Until the socket has written it, the buffer is the upload's.
    expect(pool.take().buffer).not.toBe(buffer.buffer);
    await vi.waitFor(() => expect(Buffer.concat(received).length).toBeGreaterThan(200 * 1024));
    await vi.waitFor(() => expect(pool.take().buffer).toBe(buffer.buffer));
    await connection.dispatcher.destroy();
    await request;
  });
});
