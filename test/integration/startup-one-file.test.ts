import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { type FakeCaptureBuilder, startFakeCaptureBuilder } from '../support/fake-capture-builder';
import { tempDir } from '../support/fixtures';
import { describeEntries, listTar } from '../support/tar-list';

// Issue #18's one-file build: what a tiny build costs besides the upload. The FAKE capture builder
// answers like an engine and counts what it is asked, which a real engine does not tell.
describe('a one-file build', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakeCaptureBuilder;
  beforeAll(async () => {
    work = await tempDir('slipway-one-file-');
    fake = await startFakeCaptureBuilder(work.path);
    await mkdir(join(work.path, 'context'));
    await writeFile(join(work.path, 'context', 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    await writeFile(join(work.path, 'context', 'hello.txt'), 'hello\n');
  });
  afterAll(async () => {
    await fake.close();
    await work.cleanup();
  });

  it('to the only region sends one ping, no probe round, builds over the ping’s connection, and stays under 80 MB', async () => {
    const run = await runCli([
      'build',
      join(work.path, 'context'),
      '--builder',
      fake.url,
      '--data-dir',
      join(work.path, 'data'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`Region local (the only region) at ${fake.url}`);
    // The ping that asks the engine for its builder is the only request besides the build.
    expect(fake.pings).toBe(1);
    expect(fake.captures).toHaveLength(1);
    // The build went over the socket the ping opened, unless the machine was so slow that the socket sat
    // idle past undici's keep-alive (4 s, from the fake's Keep-Alive: timeout=5) in between.
    const ping = fake.requests.find((request) => request.path === '/_ping');
    const sent = fake.requests.find((request) => request.path === '/build');
    const idleMs = (sent?.atMs ?? 0) - (ping?.atMs ?? 0);
    console.log(`connections: ${fake.connections}; ${JSON.stringify(fake.requests)}`);
    if (idleMs < 3500) expect(sent?.connection).toBe(ping?.connection);
    else console.log(`Not checked: the build came ${Math.round(idleMs)} ms after the ping, past the keep-alive`);
    expect(sent?.connection).toBeGreaterThan(0);
    const tar = join(work.path, 'context.tar');
    await writeFile(tar, await readFile(fake.captures[0]?.file as string));
    expect(describeEntries(await listTar(tar))).toEqual(['file Dockerfile 39', 'file hello.txt 6']);
    // Scanned and read ahead on the CLI's thread: no worker isolates (about 9 MiB each).
    expect(run.peakRssBytes).toBeGreaterThan(0);
    expect(run.peakRssBytes).toBeLessThan(80 * 1024 * 1024);
  });

  it('loads only what a classic build of one file uses', async () => {
    const log = join(work.path, 'modules.log');
    const register = fileURLToPath(new URL('../support/module-log/register.mjs', import.meta.url));
    const run = await runCli(
      ['build', join(work.path, 'context'), '--builder', fake.url, '--data-dir', join(work.path, 'data')],
      { env: { NODE_OPTIONS: `--import ${register}`, SLIPWAY_MODULE_LOG: log } },
    );
    expect(run.code).toBe(0);
    const loaded = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    // The CLI's chunks, undici among them: bundled with the CLI (one file to read, not its hundred
    // modules resolved one by one), so nothing of it comes from node_modules.
    expect(loaded.some((url) => /\/out\/cli\/start-[\w-]+\.js$/.test(url))).toBe(true);
    expect(loaded.some((url) => /\/out\/cli\/undici-[\w-]+\.js$/.test(url))).toBe(true);
    const unused = [
      /\/node_modules\/undici\//,
      /\/node_modules\/@bufbuild\/protobuf\//, // BuildKit's trace and session only
      /\/node_modules\/(zod|yaml|tar-fs|tar-stream)\//, // browser mode's schemas, Compose files, balena
      /\/out\/cli\/(pack|search)-worker\.js$/, // a worker thread (scan, read-ahead): one file is read on this one
      /\/out\/cli\/send-[\w-]+\.js$/, // BuildKit's session
      /\/out\/cli\/(log-search|serve|history(?!-quota))-[\w-]+\.js$/, // reading logs back, browser mode, history
    ];
    expect(loaded.filter((url) => unused.some((pattern) => pattern.test(url)))).toEqual([]);
  });
});
