// Generates the two contexts of bench/pack once and reuses them (a marker file says they are complete).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const MiB = 1 << 20;

async function writeBigFile(path, bytes) {
  // Random content so nothing along the way (a filesystem, a proxy) can shortcut zeros.
  const block = randomBytes(4 * MiB);
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < bytes; written += block.length)
      await handle.write(block, 0, Math.min(block.length, bytes - written));
  } finally {
    await handle.close();
  }
}

async function writeSmallFiles(root, count, sizeOf, perFolder) {
  const pool = randomBytes(64 * 1024);
  const folders = Math.ceil(count / perFolder);
  for (let folder = 0; folder < folders; folder++) {
    const dir = join(root, `pkg-${String(folder).padStart(4, '0')}`);
    await mkdir(dir, { recursive: true });
    const writes = [];
    for (let index = folder * perFolder; index < Math.min(count, (folder + 1) * perFolder); index++) {
      const size = sizeOf(index);
      writes.push(writeFile(join(dir, `file-${index}.js`), pool.subarray(index % 1024, (index % 1024) + size)));
    }
    await Promise.all(writes);
  }
}

const DOCKERFILE = 'FROM scratch\nCOPY . /ctx/\n';

/** 8 x 128 MiB plus 20,000 small files (1 to 8 KiB), and 100,000 files of 1 KiB. */
export async function ensureContexts(base) {
  const big = join(base, 'big-and-small');
  const many = join(base, 'many-small');
  if (!existsSync(join(big, '.complete'))) {
    await rm(big, { recursive: true, force: true });
    await mkdir(join(big, 'media'), { recursive: true });
    for (let index = 0; index < 8; index++) await writeBigFile(join(big, 'media', `blob-${index}.bin`), 128 * MiB);
    await writeSmallFiles(join(big, 'src'), 20_000, (index) => 1024 * (1 + (index % 8)), 200);
    await writeFile(join(big, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(big, '.complete'), '');
  }
  if (!existsSync(join(many, '.complete'))) {
    await rm(many, { recursive: true, force: true });
    await writeSmallFiles(join(many, 'node_modules'), 100_000, () => 1024, 1000);
    await writeFile(join(many, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(many, '.complete'), '');
  }
  return [
    { name: '8 x 128 MiB + 20,000 small files', path: big },
    { name: '100,000 files of 1 KiB', path: many },
  ];
}
