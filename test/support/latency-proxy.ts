import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/**
 * A TCP proxy on 127.0.0.1 that stands a "region" in front of a real engine: every chunk is delayed by
 * half the round trip each way, with jitter, order kept. On command it refuses connections, resets
 * them once an upload has passed a number of bytes, or stalls. Test harness, not a fake builder: the
 * engine behind it is real.
 */
export interface LatencyProxy {
  /** tcp://127.0.0.1:<port> (TLS when started with `tls`) */
  url: string;
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** When (performance.now()) each reset was sent. */
  resets: number[];
  /** When (performance.now()) each connection was stalled. */
  stalls: number[];
  /** Closes the port: new connections are refused (ECONNREFUSED); open ones are reset. */
  refuse(): Promise<void>;
  /** Resets (RST) a connection once the client has sent more than this many bytes on it. */
  resetAfterUploadBytes(bytes: number | null): void;
  /** Stops forwarding on a connection once the client has sent more than this many bytes on it. */
  stallAfterUploadBytes(bytes: number | null): void;
  /** Stops forwarding in both directions (true) or resumes (false). */
  stall(stalled: boolean): void;
  close(): Promise<void>;
}

export interface LatencyProxyOptions {
  /** Where the engine listens: unix:///path.sock or tcp://host:port. */
  upstream: string;
  /** The round trip this proxy adds, in ms. */
  roundTripMs: number;
  /** Each chunk's delay varies by up to this fraction either way (0.2 = +-20%). */
  jitter?: number;
  /** Terminates TLS, as an engine on tcp://:2376 does; with `ca`, client certificates are required. */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer };
}

function upstreamConnect(upstream: string): Socket {
  const url = new URL(upstream);
  return url.protocol === 'unix:'
    ? createConnection({ path: url.pathname })
    : createConnection({ host: url.hostname, port: Number(url.port) });
}

export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const jitter = options.jitter ?? 0;
  const oneWayMs = () => (options.roundTripMs / 2) * (1 + (Math.random() * 2 - 1) * jitter);
  const sockets = new Set<Socket>();
  let resetAfter: number | null = null;
  let stallAfter: number | null = null;
  let stalled = false;
  let server: Server;

  /**
   * Forwards from one socket to another, each chunk held back by a one-way delay. One queue and one
   * timer per direction: separate timers with equal deadlines may fire out of order and corrupt a stream.
   */
  function forward(from: Socket, to: Socket, onBytes: (total: number) => void) {
    const queue: { dueMs: number; chunk: Buffer }[] = [];
    let lastDueMs = 0;
    let total = 0;
    let queuedBytes = 0;
    let timer: NodeJS.Timeout | null = null;
    let ended = false;
    const drain = () => {
      timer = null;
      if (stalled) return;
      const now = performance.now();
      while (queue.length > 0 && (queue[0] as { dueMs: number }).dueMs <= now + 0.5) {
        const { chunk } = queue.shift() as { chunk: Buffer };
        queuedBytes -= chunk.length;
        if (!to.destroyed) to.write(chunk);
      }
      if (queuedBytes < 1 << 20 && from.isPaused()) from.resume();
      if (queue.length > 0) timer = setTimeout(drain, (queue[0] as { dueMs: number }).dueMs - now);
      else if (ended && !to.destroyed) to.end();
    };
    from.on('data', (chunk: Buffer) => {
      total += chunk.length;
      onBytes(total);
      lastDueMs = Math.max(performance.now() + oneWayMs(), lastDueMs);
      queue.push({ dueMs: lastDueMs, chunk });
      queuedBytes += chunk.length;
      if (queuedBytes > 4 << 20) from.pause();
      if (!timer) timer = setTimeout(drain, lastDueMs - performance.now());
    });
    from.on('end', () => {
      ended = true;
      if (!timer) timer = setTimeout(drain, 0);
    });
    return () => {
      if (!timer) timer = setTimeout(drain, 0);
    };
  }

  const unstalls = new Set<() => void>();
  const onConnection = (client: Socket) => {
    proxy.accepted += 1;
    const upstream = upstreamConnect(options.upstream);
    sockets.add(client);
    sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    let stalledConnection = false;
    const a = forward(client, upstream, (total) => {
      if (resetAfter !== null && total > resetAfter && !client.destroyed) {
        proxy.resets.push(performance.now());
        client.resetAndDestroy();
        upstream.destroy();
      }
      if (stallAfter !== null && total > stallAfter && !stalledConnection) {
        // Stop reading: the client's socket buffer fills and its upload stands still, connection open.
        stalledConnection = true;
        proxy.stalls.push(performance.now());
        client.pause();
        client.on('resume', () => client.pause());
      }
    });
    const b = forward(upstream, client, () => undefined);
    unstalls.add(a);
    unstalls.add(b);
  };

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const tls = options.tls;
      server = tls
        ? createTlsServer(
            { ...tls, requestCert: tls.ca !== undefined, rejectUnauthorized: tls.ca !== undefined },
            onConnection,
          )
        : createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  const closeServer = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      server.close(() => resolve());
    });

  const proxy: LatencyProxy = {
    url: `tcp://127.0.0.1:${port}`,
    port,
    accepted: 0,
    resets: [],
    stalls: [],
    refuse: closeServer,
    resetAfterUploadBytes: (bytes) => {
      resetAfter = bytes;
    },
    stallAfterUploadBytes: (bytes) => {
      stallAfter = bytes;
    },
    stall: (value) => {
      stalled = value;
      if (!value) for (const unstall of unstalls) unstall();
    },
    close: closeServer,
  };
  return proxy;
}
