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

/**
 * Makes a context once (a marker file says it is complete): `bigFiles` files of `bigBytes` under media/
 * and `smallFiles` files under `smallFolder`, sized by `smallSize`, `perFolder` to a folder.
 */
async function ensureContext(path, { bigFiles = 0, bigBytes = 0, smallFolder, smallFiles, smallSize, perFolder }) {
  if (existsSync(join(path, '.complete'))) return;
  await rm(path, { recursive: true, force: true });
  if (bigFiles > 0) await mkdir(join(path, 'media'), { recursive: true });
  for (let index = 0; index < bigFiles; index++) await writeBigFile(join(path, 'media', `blob-${index}.bin`), bigBytes);
  await writeSmallFiles(join(path, smallFolder), smallFiles, smallSize, perFolder);
  await writeFile(join(path, 'Dockerfile'), DOCKERFILE);
  await writeFile(join(path, '.complete'), '');
}

const sourceFile = (index) => 1024 * (1 + (index % 8));

/** 8 x 128 MiB plus 20,000 small files (1 to 8 KiB), 100,000 files of 1 KiB, and 4 x 64 MiB plus 10,000 small files. */
export async function ensureContexts(base) {
  const big = join(base, 'big-and-small');
  const many = join(base, 'many-small');
  const mixed = join(base, 'mixed');
  const sources = { smallFolder: 'src', smallSize: sourceFile, perFolder: 200 };
  await ensureContext(big, { bigFiles: 8, bigBytes: 128 * MiB, smallFiles: 20_000, ...sources });
  await ensureContext(many, {
    smallFolder: 'node_modules',
    smallFiles: 100_000,
    smallSize: () => 1024,
    perFolder: 1000,
  });
  await ensureContext(mixed, { bigFiles: 4, bigBytes: 64 * MiB, smallFiles: 10_000, ...sources });
  // Each with the most Slipway's time may be of tar | curl's (issue #18).
  return [
    { name: '8 x 128 MiB + 20,000 small files', work: 'pack big', path: big, goal: 1.2 },
    { name: '100,000 files of 1 KiB', work: 'pack many', path: many, goal: 1.5 },
    { name: '4 x 64 MiB + 10,000 small files', work: 'pack mixed', path: mixed, goal: 1.5 },
  ];
}
