import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { packContext } from '../../src/core/pack/pack';
import { planFromText } from '../../src/core/pack/plan';
import { scanContext } from '../../src/core/pack/scan';
import { tempDir } from '../support/fixtures';

async function packedBytes(root: string, ignoreText: string): Promise<number> {
  let bytes = 0;
  await pipeline(
    await packContext(planFromText(root, ignoreText)),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback();
      },
    }),
  );
  return bytes;
}

describe('the scan', () => {
  it('predicts the exact tar size, long and non-ASCII names and links included', async () => {
    const dir = await tempDir();
    const root = dir.path;
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(root, 'empty'), '');
    await writeFile(join(root, 'block'), Buffer.alloc(512));
    await writeFile(join(root, 'odd'), Buffer.alloc(513));
    await writeFile(join(root, 'caf\u00e9.txt'), 'x');
    await mkdir(join(root, 'a'.repeat(60), 'b'.repeat(60)), { recursive: true });
    await writeFile(join(root, 'a'.repeat(60), 'b'.repeat(60), 'c'.repeat(90)), 'deep');
    await writeFile(join(root, 'n'.repeat(120)), 'long single name');
    await symlink('Dockerfile', join(root, 'link'));
    await symlink('t'.repeat(150), join(root, 'long-link'));
    await writeFile(join(root, 'skip.log'), 'ignored');
    const ignoreText = '*.log\n';
    const scan = await scanContext(planFromText(root, ignoreText));
    expect(scan.files).toBe(7);
    expect(scan.tarBytes).toBe(await packedBytes(root, ignoreText));
    await dir.cleanup();
  });
});
