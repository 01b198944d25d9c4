import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A FAKE builder endpoint that injects the faults a real engine will not produce on demand. /_ping and
 * /version answer like an engine; POST /build drains the context, sends a few good JSON-lines messages
 * (so there is something spooled to lose) and then the fault. Test harness only.
 */
export type Fault =
  /** No fault: the good lines, then a successful build's image id (for runs that cycle through faults). */
  | 'none'
  /** HTTP 500 with an HTML error page, as a proxy in front of an engine sends. */
  | 'html-500'
  /** HTTP 401 with a JSON message. */
  | 'unauthorized'
  /** 200, then lines that are not JSON, and no image. */
  | 'garbage-json'
  /** 200, then one 50 MB line without a newline (hugeLineBytes). */
  | 'huge-line'
  /** 200, then one byte a second, forever. */
  | 'drip'
  /** The connection is destroyed as soon as the first bytes of the context arrive. */
  | 'reset-upload'
  /** 200, the good lines, then a failing step's errorDetail. */
  | 'step-error'
  /** Takes every connection and never answers anything, not even /_ping. */
  | 'no-answer';

export interface FakeFaultOptions {
  /** Lines every build sends before its fault, after the good lines. */
  extraLines?: string[];
  /** The length of the huge line (default HUGE_LINE_BYTES). */
  hugeLineBytes?: number;
}

export interface FakeFaultBuilder {
  url: string;
  /** Builds asked for so far, by the fault each got. */
  builds: Map<Fault, number>;
  /** The lines every fault sends before misbehaving (the ones that must stay spooled). */
  goodLines: string[];
  /** Sockets the fake holds open right now. */
  openSockets(): number;
  close(): Promise<void>;
}

export const HUGE_LINE_BYTES = 50 * 1024 * 1024;

function writeHuge(response: ServerResponse, remaining: number): void {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let left = remaining;
  const pump = () => {
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!response.write(piece)) {
        response.once('drain', pump);
        return;
      }
    }
    response.end();
  };
  pump();
}

/**
 * Starts the FAKE builder. Given a list of faults, each build gets the next one, round and round: one
 * run of builds meets every fault.
 */
export async function startFakeFaultBuilder(
  faults: Fault | Fault[],
  options: FakeFaultOptions = {},
): Promise<FakeFaultBuilder> {
  const cycle = Array.isArray(faults) ? faults : [faults];
  let next = 0;
  const builds = new Map<Fault, number>();
  const goodLines = ['STEP 1/2: FROM scratch', 'fake: this line was spooled before the fault'];
  const lines = [...goodLines, ...(options.extraLines ?? [])];
  const sockets = new Set<import('node:net').Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    if (cycle.length === 1 && cycle[0] === 'no-answer') {
      request.resume();
      return;
    }
    if (request.url?.endsWith('/_ping')) {
      response.end('OK');
      return;
    }
    if (request.url?.endsWith('/version')) {
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          Version: '0.0.0-fake',
          ApiVersion: '1.41',
          Os: 'linux',
          Arch: 'amd64',
          Components: [{ Name: 'Engine' }],
        }),
      );
      return;
    }
    if (request.method !== 'POST' || !request.url?.includes('/build')) {
      response.writeHead(404).end();
      return;
    }
    const fault = cycle[next++ % cycle.length] as Fault;
    builds.set(fault, (builds.get(fault) ?? 0) + 1);
    if (fault === 'reset-upload') {
      request.once('data', () => request.socket.destroy());
      return;
    }
    if (fault === 'no-answer') {
      request.resume();
      return;
    }
    request.resume();
    request.on('end', () => {
      if (fault === 'html-500') {
        response.writeHead(500, { 'content-type': 'text/html' });
        response.end(
          '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>',
        );
        return;
      }
      if (fault === 'unauthorized') {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: 'authentication required' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      // Builds that cycle through faults say which one they met, so that a client can tell them apart.
      if (cycle.length > 1) response.write(`${JSON.stringify({ stream: `fake: fault ${fault}\n` })}\n`);
      for (const line of lines) response.write(`${JSON.stringify({ stream: `${line}\n` })}\n`);
      if (fault === 'none') {
        response.end(`${JSON.stringify({ aux: { ID: 'sha256:0123456789abcdef' } })}\n`);
      } else if (fault === 'step-error') {
        response.end(
          `${JSON.stringify({ errorDetail: { message: 'fake: the step failed' }, error: 'fake: the step failed' })}\n`,
        );
      } else if (fault === 'garbage-json') {
        response.end('{"stream": "cut off\n<html>not json</html>\n{{{{\n');
      } else if (fault === 'huge-line') {
        writeHuge(response, options.hugeLineBytes ?? HUGE_LINE_BYTES);
      } else {
        const timer = setInterval(() => response.write('x'), 1000);
        timers.add(timer);
        response.on('close', () => clearInterval(timer));
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    builds,
    goodLines,
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
