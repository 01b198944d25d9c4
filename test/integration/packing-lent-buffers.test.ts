import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { type FakeCaptureBuilder, startFakeCaptureBuilder } from '../support/fake-capture-builder';
import { tempDir } from '../support/fixtures';

const run = promisify(execFile);
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// The packer reuses its chunks once the socket has written them (src/core/pack/lent-buffers.ts): a
// buffer reused too early would send another chunk's bytes. The FAKE capture builder keeps the whole
// body, which a real engine does not show.
describe('chunks reused across the upload', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakeCaptureBuilder;
  beforeAll(async () => {
    work = await tempDir('slipway-lent-');
    fake = await startFakeCaptureBuilder(work.path);
  });
  afterAll(async () => {
    await fake.close();
    await work.cleanup();
  });

  it('send every byte of big and small files as they are on disk, build after build', async () => {
    const context = join(work.path, 'context');
    await mkdir(join(context, 'small'), { recursive: true });
    await writeFile(join(context, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    const files = new Map<string, string>();
    // Sizes around the 512 KiB read chunk and the 256 KiB archive chunk, so every path reuses buffers.
    for (const [index, size] of [3 << 20, (1 << 19) + 1, 5 << 20, (1 << 18) + 7, 7 << 20, 1 << 19].entries()) {
      const bytes = randomBytes(size);
      await writeFile(join(context, `big-${index}.bin`), bytes);
      files.set(`big-${index}.bin`, sha(bytes));
    }
    for (let index = 0; index < 600; index++) {
      const bytes = randomBytes(1 + ((index * 997) % 9000));
      await writeFile(join(context, 'small', `f-${index}`), bytes);
      files.set(`small/f-${index}`, sha(bytes));
    }
    for (let build = 0; build < 2; build++) {
      const done = await runCli(['build', context, '--builder', fake.url, '--data-dir', join(work.path, 'data')]);
      expect(done.code).toBe(0);
      const out = join(work.path, `out-${build}`);
      await mkdir(out);
      await run('tar', ['-xf', fake.captures[build]?.file as string, '-C', out]);
      for (const [name, hash] of files) expect(sha(await readFile(join(out, name))), name).toBe(hash);
    }
  });
});
