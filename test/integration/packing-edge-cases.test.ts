import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { engineUrl } from '../support/engine';
import { type FakeCaptureBuilder, startFakeCaptureBuilder } from '../support/fake-capture-builder';
import { BUSYBOX, tempDir } from '../support/fixtures';
import { listTar } from '../support/tar-list';

const url = engineUrl();
const bin = new URL('../../bin/slipway.js', import.meta.url).pathname;
const run = promisify(execFile);

describe('edge cases of a context, end to end', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakeCaptureBuilder;
  beforeAll(async () => {
    work = await tempDir('slipway-edges-');
    await chmod(work.path, 0o777);
    fake = await startFakeCaptureBuilder(work.path);
  });
  afterAll(async () => {
    await fake.close();
    await work.cleanup();
  });

  it('fails naming an unreadable file, and never reports the context as sent', async () => {
    const root = join(work.path, 'unreadable');
    await mkdir(join(root, 'secrets'), { recursive: true });
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(root, 'secrets', 'key.pem'), 'private');
    await chmod(join(root, 'secrets', 'key.pem'), 0o000);
    for (const path of [root, join(root, 'secrets')]) await chmod(path, 0o755);
    await mkdir(join(work.path, 'data'), { mode: 0o777, recursive: true });
    await chmod(join(work.path, 'data'), 0o777);
    // Root reads any file whatever its mode, so as root the CLI runs as nobody to meet a real EACCES.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const result = await run(
      process.execPath,
      [bin, 'build', root, '--builder', fake.url, '--json', '--data-dir', join(work.path, 'data')],
      { ...asNobody, env: { ...process.env, HOME: work.path } },
    ).then(
      () => null,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(result).not.toBeNull();
    expect(result?.code).toBe(2); // E_CONTEXT_UNREADABLE is bad input
    const events = (result?.stdout ?? '')
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { type: string; state?: { phase: string; bytesSent?: number; bytesTotal?: number } },
      );
    const phases = events.filter((event) => event.type === 'task.state').map((event) => event.state?.phase);
    expect(phases).not.toContain('done');
    expect(phases.at(-1)).toBe('failed');
    for (const event of events) {
      if (event.state?.phase === 'uploading')
        expect(event.state.bytesSent).toBeLessThan(event.state.bytesTotal as number);
    }
  });

  it.skipIf(!url)('round-trips a 120-byte path and a name that is not UTF-8 through the engine', async () => {
    const root = join(work.path, 'names');
    const longFolder = join(root, 'a'.repeat(50), 'b'.repeat(40));
    await mkdir(longFolder, { recursive: true });
    const longPath = `${'a'.repeat(50)}/${'b'.repeat(40)}/${'c'.repeat(28)}`; // 120 bytes
    expect(Buffer.byteLength(longPath)).toBe(120);
    await writeFile(join(root, longPath), 'long path arrived');
    const oddName = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]); // "f\xff\xfe.txt"
    await writeFile(Buffer.concat([Buffer.from(`${root}/`), oddName]), 'odd name arrived');
    await cp(BUSYBOX, join(root, 'busybox'));
    await writeFile(
      join(root, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY . /ctx/',
        `RUN ["/ctx/busybox", "sh", "-c", "/ctx/busybox cat /ctx/${longPath}; echo; for f in /ctx/f*; do /ctx/busybox cat \\"$f\\"; echo; echo $f | /ctx/busybox od -An -tx1; done"]`,
      ].join('\n'),
    );
    const cli = await runCli(['build', root, '--builder', url, '--data-dir', join(work.path, 'data-names')]);
    expect(cli.stderr).toContain('done in');
    expect(cli.stdout).toContain('long path arrived');
    expect(cli.stdout).toContain('odd name arrived');
    // "/ctx/" then the name's own bytes: 66 ff fe 2e 74 78 74.
    expect(cli.stdout.replace(/\s+/g, ' ')).toContain('2f 63 74 78 2f 66 ff fe 2e 74 78 74');
  });

  it.skipIf(!url)('builds an empty context with an inline Dockerfile', async () => {
    const root = join(work.path, 'empty-project');
    await mkdir(join(root, 'empty'), { recursive: true });
    await writeFile(
      join(root, 'compose.yaml'),
      'services:\n  bare:\n    build:\n      context: empty\n      dockerfile_inline: |\n        FROM scratch\n        LABEL org.slipway.empty="yes"\n',
    );
    const cli = await runCli(['build', root, '--builder', url, '--data-dir', join(work.path, 'data-empty')]);
    expect(cli.stderr).toContain('done in');
    expect(cli.code).toBe(0);
    // Sent: the Dockerfile under its random name and the .dockerignore that names it, nothing else.
    const sent = await runCli(['build', root, '--builder', fake.url, '--data-dir', join(work.path, 'data-empty')]);
    expect(sent.code).toBe(0);
    const names = (await listTar(fake.captures.at(-1)?.file as string)).map((entry) => entry.name.toString());
    expect(names.sort()).toEqual([expect.stringMatching(/^\.dockerfile\.[0-9a-f]{20}$/), '.dockerignore']);
    expect(await readdir(join(work.path, 'data-empty', 'builds'))).toHaveLength(2);
  });
});
