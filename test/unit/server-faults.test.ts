import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildRecordWriter, buildDir } from '../../src/core/builds/build-store';
import { Engine } from '../../src/core/engine';
import { searchWorkersAlive } from '../../src/core/logs/search-host';
import { SpoolWriter } from '../../src/core/logs/spool';
import { type BrowserServer, MAX_EVENT_STREAMS, startBrowserServer } from '../../src/server/server';
import type { Build } from '../../src/shared/domain';
import { tempDir } from '../support/fixtures';

let data: Awaited<ReturnType<typeof tempDir>>;
let engine: Engine;
let server: BrowserServer;
const buildId = '20261201-210000-00abcd';

beforeAll(async () => {
  data = await tempDir('slipway-server-faults-');
  await writeFile(join(data.path, 'index.html'), '<!doctype html><title>Slipway</title>');
  engine = new Engine({ dataDir: data.path, mode: 'browser', version: '0.0.0-test' });
  server = await startBrowserServer(engine, { rendererDir: data.path });
  const directory = buildDir(data.path, buildId);
  const spool = await SpoolWriter.open(directory, 'main');
  await spool.write(Array.from({ length: 10 }, () => ({ text: 'a'.repeat(30_000), flags: 0 })));
  await spool.close();
  const build: Build = {
    id: buildId,
    projectPath: data.path,
    target: { name: 'default', kind: 'docker', endpoints: [{ region: 'local', url: 'tcp://127.0.0.1:1' }] },
    region: 'local',
    reason: 'the only endpoint',
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    status: 'succeeded',
    tasks: [
      {
        task: { id: 'main', service: 'main', contextPath: data.path, dockerfile: 'Dockerfile' },
        state: { phase: 'done', imageId: null, durationMs: 1 },
        tag: null,
        scan: null,
        logLines: 10,
      },
    ],
    error: null,
  };
  await new BuildRecordWriter(directory).save(build);
});

afterAll(async () => {
  await server.close();
  await engine.close();
  await data.cleanup();
});

const address = (path: string) => `http://127.0.0.1:${server.port}${path}`;
const headers = () => ({ 'x-slipway-token': server.token, 'content-type': 'application/json' });
const api = (name: string, input: unknown, signal?: AbortSignal) =>
  fetch(address(`/api/${name}`), { method: 'POST', headers: headers(), body: JSON.stringify(input), signal });

async function workersGone(): Promise<number> {
  for (let tries = 0; tries < 500 && searchWorkersAlive() > 0; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return searchWorkersAlive();
}

describe('browser mode under hostile requests', () => {
  it('answers a path that is not valid percent-encoding with 400 E_BAD_INPUT, not 500', async () => {
    const answer = await fetch(address('/%ff'), { headers: headers() });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('E_BAD_INPUT');
  });

  it('answers other requests while a regular expression backtracks, and stops it when its caller goes', async () => {
    const caller = new AbortController();
    const search = api('logs.search', { buildId, taskId: 'main', query: '(a+)+b', regex: true }, caller.signal).then(
      () => 'answered',
      () => 'aborted',
    );
    while (searchWorkersAlive() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const info = await api('app.info', {});
    expect(info.status).toBe(200);
    const window = (await (await api('logs.read', { buildId, taskId: 'main', fromLine: 0, count: 1 })).json()) as {
      result: { totalLines: number };
    };
    expect(window.result.totalLines).toBe(10);
    caller.abort();
    expect(await search).toBe('aborted');
    expect(await workersGone()).toBe(0);
  });

  it(`serves at most ${MAX_EVENT_STREAMS} event streams, then answers 503 E_BUSY until one closes`, async () => {
    const callers = Array.from({ length: MAX_EVENT_STREAMS }, () => new AbortController());
    try {
      const streams = await Promise.all(
        callers.map((caller) => fetch(address('/events'), { headers: headers(), signal: caller.signal })),
      );
      expect(streams.map((stream) => stream.status)).toEqual(callers.map(() => 200));
      const refused = await fetch(address('/events'), { headers: headers() });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('E_BUSY');
      (callers.pop() as AbortController).abort();
      let again = await fetch(address('/events'), { headers: headers() });
      // The server sees the closed stream a moment after the client closes it.
      for (let tries = 0; tries < 100 && again.status === 503; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        again = await fetch(address('/events'), { headers: headers() });
      }
      expect(again.status).toBe(200);
      await again.body?.cancel();
    } finally {
      for (const caller of callers) caller.abort();
    }
  });
});
