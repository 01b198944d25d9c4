import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, open, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectTask } from '../../src/core/pack/inspect';
import { packContext, TarLengthGuard } from '../../src/core/pack/pack';
import { planFromText } from '../../src/core/pack/plan';
import { scanContext, startScan } from '../../src/core/pack/scan';
import { SlipwayError } from '../../src/shared/errors';
import { tempDir } from '../support/fixtures';
import { collector, failureOf } from '../support/streams';
import { describeEntries, listTar } from '../support/tar-list';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function context(): Promise<string> {
  const dir = await tempDir('slipway-pack-');
  cleanups.push(dir.cleanup);
  await writeFile(join(dir.path, 'Dockerfile'), 'FROM scratch\n');
  return dir.path;
}

/** Packs through the length guard into a file; resolves with the error, if any, and the bytes that passed. */
async function packToFile(root: string, file: string, options: { slow?: () => Promise<void> } = {}) {
  const plan = planFromText(root, '');
  const scan = await scanContext(plan);
  let bytes = 0;
  const out = await open(file, 'w');
  const error = await failureOf(
    pipeline(
      await packContext(plan),
      new TarLengthGuard(scan.tarBytes, root),
      new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          out.write(chunk).then(async () => {
            await options.slow?.();
            callback();
          }, callback);
        },
      }),
    ),
  );
  await out.close();
  return { error, bytes, scan };
}

describe('packing bad input', () => {
  it('fails naming a file that shrinks while it is packed, and never ends the archive', async () => {
    const root = await context();
    const big = join(root, 'big.bin');
    await writeFile(big, Buffer.alloc(16 << 20, 1));
    let truncated = false;
    const result = await packToFile(root, join(root, '..', `${root.split('/').at(-1)}.tar`), {
      slow: async () => {
        if (!truncated) {
          truncated = true;
          await truncate(big, 100);
        }
      },
    });
    cleanups.push(() => rm(join(root, '..', `${root.split('/').at(-1)}.tar`), { force: true }));
    expect(result.error).toBeInstanceOf(SlipwayError);
    expect((result.error as SlipwayError).code).toBe('E_CONTEXT_CHANGED');
    expect((result.error as SlipwayError).message).toContain(big);
    expect((result.error as SlipwayError).message).toContain('shrank');
    expect(result.bytes).toBeLessThan(result.scan.tarBytes);
  });

  it('fails naming a file that grew after the scan, small (read ahead) or big (read in chunks)', async () => {
    for (const bytes of [10, 1 << 20]) {
      const root = await context();
      const growing = join(root, 'growing.log');
      await writeFile(growing, Buffer.alloc(bytes, 1));
      const plan = planFromText(root, '');
      const run = await startScan(plan, { spool: true });
      try {
        const scan = await run.result;
        await appendFile(growing, 'one more line\n');
        const error = await failureOf(
          pipeline(
            await packContext(plan, run.spool ?? undefined),
            new TarLengthGuard(scan.tarBytes, root),
            collector().sink,
          ),
        );
        expect((error as SlipwayError).code, `${bytes} bytes`).toBe('E_CONTEXT_CHANGED');
        expect((error as SlipwayError).message).toContain(growing);
        expect((error as SlipwayError).message).toContain(`grew past the ${bytes} bytes the scan saw`);
      } finally {
        await run.dispose();
      }
    }
  });

  it('fails naming a file that vanishes while the context is packed', async () => {
    const root = await context();
    // 10 MiB of files ahead of it: far more than the read-ahead holds, so the packer has listed the
    // last file but not yet read it when the first chunk of the tar comes out.
    const block = Buffer.alloc(256 * 1024, 1);
    for (let index = 0; index < 40; index++) await writeFile(join(root, `file-${index}.bin`), block);
    await writeFile(join(root, 'zz-last.txt'), 'x');
    const plan = planFromText(root, '');
    const scan = await scanContext(plan);
    let removed = false;
    const error = await failureOf(
      pipeline(
        await packContext(plan),
        new TarLengthGuard(scan.tarBytes, root),
        new Writable({
          write: (_chunk, _encoding, callback) => {
            if (removed) return callback();
            removed = true;
            rm(join(root, 'zz-last.txt')).then(() => callback(), callback);
          },
        }),
      ),
    );
    expect(removed).toBe(true);
    expect((error as SlipwayError).code).toBe('E_CONTEXT_CHANGED');
    expect((error as SlipwayError).message).toContain(join(root, 'zz-last.txt'));
    expect((error as SlipwayError).message).toContain('vanished');
  });

  it('sends a FIFO as a FIFO entry (never opened), skips a socket with a warning, and packs exactly the scanned size', async () => {
    const root = await context();
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'socket'), resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    await writeFile(join(root, 'kept.txt'), 'kept');
    const tar = join(root, '..', `${root.split('/').at(-1)}-fifo.tar`);
    cleanups.push(() => rm(tar, { force: true }));
    const result = await packToFile(root, tar);
    expect(result.error).toBeNull();
    expect(result.bytes).toBe(result.scan.tarBytes);
    expect(result.scan.skipped).toEqual([{ path: 'socket', reason: 'socket' }]);
    expect(describeEntries(await listTar(tar))).toEqual(['fifo pipe', 'file Dockerfile 13', 'file kept.txt 4']);
    const inspection = await inspectTask({ id: 'main', service: 'main', contextPath: root, dockerfile: 'Dockerfile' });
    expect(inspection.warnings.join('\n')).not.toContain('pipe');
    expect(inspection.warnings.join('\n')).toContain('socket is skipped: socket');
  });

  it('stores symlinks as links, never following them out of the context or round a loop', async () => {
    const root = await context();
    const outside = await tempDir('slipway-outside-');
    cleanups.push(outside.cleanup);
    await writeFile(join(outside.path, 'secret'), 'never sent');
    await symlink(join(outside.path, 'secret'), join(root, 'to-outside'));
    await symlink(outside.path, join(root, 'folder-outside'));
    await symlink('loop-b', join(root, 'loop-a'));
    await symlink('loop-a', join(root, 'loop-b'));
    await mkdir(join(root, 'sub'));
    await symlink('..', join(root, 'sub', 'up'));
    const tar = join(outside.path, 'out.tar');
    const result = await packToFile(root, tar);
    expect(result.error).toBeNull();
    expect(result.bytes).toBe(result.scan.tarBytes);
    expect(describeEntries(await listTar(tar))).toEqual([
      'directory sub',
      'file Dockerfile 13',
      `symlink folder-outside -> ${outside.path}`,
      'symlink loop-a -> loop-b',
      'symlink loop-b -> loop-a',
      'symlink sub/up -> ..',
      `symlink to-outside -> ${join(outside.path, 'secret')}`,
    ]);
    expect((await readFile(tar)).includes('never sent')).toBe(false);
  });

  it('packs an empty context as an empty archive', async () => {
    const dir = await tempDir('slipway-empty-');
    cleanups.push(dir.cleanup);
    const plan = planFromText(dir.path, '');
    const scan = await scanContext(plan);
    expect(scan).toMatchObject({ files: 0, bytes: 0, tarBytes: 1024 });
    const out = collector();
    await pipeline(await packContext(plan), out.sink);
    expect(out.bytes()).toEqual(Buffer.alloc(1024));
  });

  it('writes the right size header for a 9 GiB sparse file', async () => {
    const root = await context();
    const huge = join(root, 'disk.img');
    await writeFile(huge, '');
    await truncate(huge, 9 * 2 ** 30);
    const plan = planFromText(root, 'Dockerfile\n');
    const scan = await scanContext(plan);
    expect(scan.bytes).toBe(9 * 2 ** 30 + 13);
    expect(scan.tarBytes).toBe(1024 + 512 + 512 + 512 + 9 * 2 ** 30);
    const stream: Readable = await packContext(plan);
    const headers: Buffer[] = [];
    let seen = 0;
    for await (const chunk of stream) {
      headers.push(chunk as Buffer);
      seen += (chunk as Buffer).length;
      if (seen >= 2048) break;
    }
    stream.destroy();
    const start = Buffer.concat(headers);
    // Dockerfile first (byte order), then disk.img's header: past 8 GiB the size field is base-256.
    const header = start.subarray(1024, 1536);
    expect(header.subarray(0, 8).toString()).toBe('disk.img');
    expect(header[124]).toBe(0x80);
    let size = 0;
    for (let index = 125; index < 136; index++) size = size * 256 + (header[index] as number);
    expect(size).toBe(9 * 2 ** 30);
    const inspection = await inspectTask({ id: 'main', service: 'main', contextPath: root, dockerfile: 'Dockerfile' });
    expect(inspection.suggestedIgnores).toContain('**/*.img');
    expect(inspection.warnings[0]).toContain('disk.img');
  });
});
