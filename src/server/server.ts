import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { assertPlainIds } from '../core/builds/build-ids';
import { buildDir } from '../core/builds/build-store';
import type { Engine } from '../core/engine';
import { guardUnhandledRejections } from '../core/fault-guard';
import { savedLogName } from '../core/logs/save-log';
import { logPath } from '../core/logs/spool';
import { CONTENT_SECURITY_POLICY } from '../shared/content-security-policy';
import { isRequestName, type SlipwayEvent } from '../shared/contract';
import { SlipwayError, toErrorInfo } from '../shared/errors';
import { refusal, TOKEN_COOKIE } from './security';

const MAX_REQUEST_BYTES = 64 * 1024;
/** Event streams served at once: a window needs one; past this many the server answers 503. */
export const MAX_EVENT_STREAMS = 16;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface BrowserServer {
  server: Server;
  port: number;
  token: string;
  /** The address to open, with the token. */
  url: string;
  close(): Promise<void>;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_REQUEST_BYTES) throw new SlipwayError('E_BAD_INPUT', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  if (bytes === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SlipwayError('E_BAD_INPUT', 'Request body is not JSON');
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

/** The page served when the renderer has not been built yet. */
const FALLBACK_PAGE = `<!doctype html><meta charset="utf-8"><title>Slipway</title>
<body style="font: 15px system-ui; margin: 3rem"><h1>Slipway</h1>
<p>The window has not been built. Run <code>npm run build</code>, then start Slipway again.</p></body>`;

/**
 * Browser mode: the contract over HTTP (POST /api/<request>) and server-sent events (GET /events),
 * plus the built renderer, on 127.0.0.1 only, with a random token on every request.
 */
export async function startBrowserServer(
  engine: Engine,
  options: { port?: number; rendererDir: string },
): Promise<BrowserServer> {
  const token = randomBytes(24).toString('hex');
  const clients = new Set<ServerResponse>();
  const onEvent = (event: SlipwayEvent) => {
    const frame = `data: ${JSON.stringify(event)}\n\n`;
    for (const client of clients) client.write(frame);
  };
  engine.on('event', onEvent);
  // Browser mode must outlive a fault: an unhandled rejection fails the running builds, not the server.
  const unguard = guardUnhandledRejections((error) => {
    console.error(`Slipway: error ${error.code}: ${error.message}`);
    engine.failRunning(error);
  });
  let port = 0;

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const refused = refusal(request, url, token, port);
    if (refused) {
      send(response, 403, { error: { code: 'E_BAD_INPUT', message: `Refused: ${refused}` } });
      return;
    }
    try {
      if (url.pathname.startsWith('/api/') && request.method === 'POST') {
        const name = url.pathname.slice('/api/'.length);
        if (!isRequestName(name)) throw new SlipwayError('E_BAD_INPUT', `Unknown request ${name}`);
        // A caller that goes away before its answer cancels what it asked for (a long search).
        const caller = new AbortController();
        response.once('close', () => caller.abort());
        send(response, 200, { result: await engine.call(name, await readJson(request), { signal: caller.signal }) });
        return;
      }
      if (url.pathname === '/events' && request.method === 'GET') {
        if (clients.size >= MAX_EVENT_STREAMS) {
          response.setHeader('retry-after', '5');
          send(response, 503, {
            error: {
              code: 'E_BUSY',
              message: `/events already serves ${MAX_EVENT_STREAMS} event streams, the most it serves at once`,
              hint: 'Close other Slipway tabs, or wait for them to disconnect.',
            },
          });
          return;
        }
        response.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        response.write(': connected\n\n');
        clients.add(response);
        request.on('close', () => clients.delete(response));
        return;
      }
      if (url.pathname === '/download/log' && request.method === 'GET') {
        await downloadLog(engine, url, response);
        return;
      }
      if (request.method === 'GET') {
        await serveStatic(options.rendererDir, url, response, url.searchParams.get('token') === token ? token : null);
        return;
      }
      send(response, 405, { error: { code: 'E_BAD_INPUT', message: 'Method not allowed' } });
    } catch (error) {
      const info = toErrorInfo(error);
      send(response, info.code === 'E_INTERNAL' ? 500 : 400, { error: info });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: async () => {
      engine.off('event', onEvent);
      unguard();
      for (const client of clients) client.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Streams a task's whole log as a download: what logs.save points browser mode at. */
async function downloadLog(engine: Engine, url: URL, response: ServerResponse): Promise<void> {
  const buildId = url.searchParams.get('buildId') ?? '';
  const taskId = url.searchParams.get('taskId') ?? '';
  assertPlainIds(buildId, taskId);
  const { dataDir } = await engine.call('app.info', {});
  const file = logPath(buildDir(dataDir, buildId), taskId);
  const found = await stat(file).catch(() => null);
  if (!found?.isFile()) throw new SlipwayError('E_BAD_INPUT', `No log for task ${taskId} of build ${buildId}`);
  response.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(found.size),
    'content-disposition': `attachment; filename="${savedLogName(buildId, taskId)}"`,
    'cache-control': 'no-store',
  });
  await pipeline(createReadStream(file), response).catch(() => response.destroy());
}

async function serveStatic(root: string, url: URL, response: ServerResponse, setToken: string | null): Promise<void> {
  const headers: Record<string, string> = {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
  };
  if (setToken) headers['set-cookie'] = `${TOKEN_COOKIE}=${setToken}; HttpOnly; SameSite=Strict; Path=/`;
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    throw new SlipwayError('E_BAD_INPUT', `Not a valid path: ${url.pathname}`);
  }
  const relative = normalize(decoded).replace(/^(\.\.[/\\])+/, '');
  let file = join(root, relative === '/' ? 'index.html' : relative);
  if (!file.startsWith(root)) file = join(root, 'index.html');
  const found = await stat(file).catch(() => null);
  if (!found?.isFile()) {
    const index = join(root, 'index.html');
    if (!existsSync(index)) {
      response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
      response.end(FALLBACK_PAGE);
      return;
    }
    file = index;
  }
  response.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
  await pipeline(createReadStream(file), response).catch(() => response.destroy());
}
