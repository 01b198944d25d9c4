import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDir } from '../../src/core/builds/build-store';
import { Engine } from '../../src/core/engine';
import { SpoolWriter } from '../../src/core/logs/spool';
import { type BrowserServer, startBrowserServer } from '../../src/server/server';
import { tempDir } from '../support/fixtures';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  server: BrowserServer,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        // An empty value leaves the header out.
        headers: Object.fromEntries(
          Object.entries({
            host: `127.0.0.1:${server.port}`,
            'x-slipway-token': server.token,
            ...options.headers,
          }).filter(([, value]) => value !== ''),
        ),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

const api = (server: BrowserServer, name: string, input: unknown = {}) =>
  call(server, `/api/${name}`, { method: 'POST', body: input });

let data: Awaited<ReturnType<typeof tempDir>>;
let renderer: Awaited<ReturnType<typeof tempDir>>;
let engine: Engine;
let server: BrowserServer;

beforeAll(async () => {
  data = await tempDir('slipway-server-data-');
  renderer = await tempDir('slipway-server-renderer-');
  await writeFile(join(renderer.path, 'index.html'), '<!doctype html><title>Slipway</title>');
  engine = new Engine({ dataDir: data.path, mode: 'browser', version: '0.0.0-test' });
  server = await startBrowserServer(engine, { rendererDir: renderer.path });
});

afterAll(async () => {
  await server.close();
  await engine.close();
  await data.cleanup();
  await renderer.cleanup();
});

describe('browser mode', () => {
  it('listens on 127.0.0.1 only and prints a URL carrying a long random token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    expect((server.server.address() as { address: string }).address).toBe('127.0.0.1');
  });

  it('refuses requests without the token, with a wrong Host, or from another Origin', async () => {
    expect((await call(server, '/api/app.info', { method: 'POST', headers: { 'x-slipway-token': '' } })).status).toBe(
      403,
    );
    expect((await call(server, '/', { headers: { 'x-slipway-token': '' } })).status).toBe(403);
    expect((await call(server, '/events', { headers: { 'x-slipway-token': 'nope' } })).status).toBe(403);
    expect((await call(server, '/api/app.info', { method: 'POST', headers: { host: 'evil.example' } })).body).toContain(
      'wrong Host',
    );
    const foreign = await call(server, '/api/app.info', { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain('foreign Origin');
    const https = await call(server, '/api/app.info', {
      method: 'POST',
      headers: { origin: `https://127.0.0.1:${server.port}` },
    });
    expect(https.status).toBe(403);
  });

  it('sets the token as a strict, HTTP-only cookie when the page is opened with it', async () => {
    const page = await call(server, `/?token=${server.token}`, { headers: { 'x-slipway-token': '' } });
    expect(page.status).toBe(200);
    expect(String(page.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('never serves a file from outside the renderer folder', async () => {
    const answer = await call(server, '/..%2f..%2f..%2fetc%2fpasswd');
    expect(answer.body).not.toContain('root:');
    expect(answer.body).toContain('<title>Slipway</title>');
  });

  it('lists the visible sub-folders of a folder for the folder picker, with its parent', async () => {
    await mkdir(join(data.path, 'pick', 'beta'), { recursive: true });
    await mkdir(join(data.path, 'pick', 'alpha'));
    await mkdir(join(data.path, 'pick', '.hidden'));
    await writeFile(join(data.path, 'pick', 'file.txt'), 'not a folder');
    const answer = JSON.parse((await api(server, 'folders.list', { path: join(data.path, 'pick') })).body);
    expect(answer.result).toEqual({ path: join(data.path, 'pick'), parent: data.path, folders: ['alpha', 'beta'] });
  });

  it('names the path when the folder picker is asked for a folder that does not exist', async () => {
    const missing = join(data.path, 'nowhere');
    const answer = JSON.parse((await api(server, 'folders.list', { path: missing })).body);
    expect(answer.error).toMatchObject({ code: 'E_PROJECT_NOT_FOUND' });
    expect(answer.error.message).toContain(missing);
  });

  it('remembers opened projects, newest first', async () => {
    for (const name of ['one', 'two']) {
      await mkdir(join(data.path, 'projects', name), { recursive: true });
      await writeFile(join(data.path, 'projects', name, 'Dockerfile'), 'FROM scratch\n');
      expect((await api(server, 'project.open', { path: join(data.path, 'projects', name) })).status).toBe(200);
    }
    const recent = JSON.parse((await api(server, 'project.recent')).body).result as { name: string }[];
    expect(recent.map((project) => project.name)).toEqual(['two', 'one']);
  });

  it('offers a task log as a download, streamed from the spool', async () => {
    const buildId = '20261126-120000-000001';
    const spool = await SpoolWriter.open(buildDir(data.path, buildId), 'main');
    await spool.write([
      { text: 'STEP 1/1: FROM scratch', flags: 0 },
      { text: 'done', flags: 0 },
    ]);
    await spool.close();
    const saved = JSON.parse((await api(server, 'logs.save', { buildId, taskId: 'main' })).body).result;
    expect(saved.path).toBeNull();
    const download = await call(server, saved.downloadUrl);
    expect(download.status).toBe(200);
    expect(download.headers['content-disposition']).toContain(`slipway-${buildId}-main.log`);
    expect(download.body).toBe('STEP 1/1: FROM scratch\ndone\n');
  });

  it('refuses a log download whose ids would climb out of the data folder', async () => {
    const answer = await call(server, '/download/log?buildId=..&taskId=..%2F..%2Fsettings');
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('E_BAD_INPUT');
  });

  it("sends the engine's events to every open event stream", async () => {
    const received = new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/events',
          headers: { host: `127.0.0.1:${server.port}`, 'x-slipway-token': server.token },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (text.includes('history.changed')) {
              req.destroy();
              resolve(text);
            }
          });
          res.once('readable', () => engine.emit('event', { type: 'history.changed' }));
        },
      );
      req.on('error', (error) => (error.message.includes('aborted') ? undefined : reject(error)));
      req.end();
    });
    expect(await received).toContain('data: {"type":"history.changed"}');
  });
});
