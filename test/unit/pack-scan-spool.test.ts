import { mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { packContext, TarLengthGuard } from '../../src/core/pack/pack';
import { planFromText } from '../../src/core/pack/plan';
import { disposePrepared, prepareContext } from '../../src/core/pack/prepare';
import { IN_THREAD_BYTES, IN_THREAD_ENTRIES, startScan } from '../../src/core/pack/scan';
import { newSpoolProgress, SpoolReader, SpoolWriter } from '../../src/core/pack/scan-spool';
import type { WalkEntry } from '../../src/core/pack/walk';
import { SlipwayError } from '../../src/shared/errors';
import { tempDir } from '../support/fixtures';
import { collector, failureOf } from '../support/streams';
import { describeEntries, listTar } from '../support/tar-list';
import { mountSmallDisk } from '../support/tmpfs';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function folder(prefix = 'slipway-spool-'): Promise<string> {
  const dir = await tempDir(prefix);
  cleanups.push(dir.cleanup);
  return dir.path;
}

/** A walk entry as lstat would describe it. */
function entry(path: string, kind: 'file' | 'directory' | 'symlink', size = 0, linkname?: string): WalkEntry {
  const stats = {
    isFile: () => kind === 'file',
    isDirectory: () => kind === 'directory',
    isSymbolicLink: () => kind === 'symlink',
    mode: kind === 'directory' ? 0o40755 : 0o100644,
    size,
    mtimeMs: 1_764_000_000_123,
  };
  return { path, stats: stats as unknown as WalkEntry['stats'], linkname };
}

/**
 * Scans a context, runs `afterScan` once the scan is done (when given), then packs from the scan's
 * spool through the length guard into a file, and lists it.
 */
async function packToList(
  root: string,
  afterScan?: () => Promise<void>,
): Promise<{ error: unknown; entries: string[]; bytes: number; tarBytes: number }> {
  const plan = planFromText(root, '');
  const run = await startScan(plan, { spool: true });
  cleanups.push(() => run.dispose());
  if (afterScan) {
    await run.result;
    await afterScan();
  }
  const out = collector();
  const error = await failureOf(
    pipeline(
      await packContext(plan, run.spool ?? undefined),
      new TarLengthGuard(
        run.result.then((scan) => scan.tarBytes),
        root,
      ),
      out.sink,
    ),
  );
  const { tarBytes } = await run.result;
  const bytes = out.bytes().length;
  if (error) return { error, entries: [], bytes, tarBytes };
  const tar = join(await folder('slipway-spool-out-'), 'out.tar');
  await writeFile(tar, out.bytes());
  return { error: null, entries: describeEntries(await listTar(tar)), bytes, tarBytes };
}

/** An empty spool in a folder of its own, with its writer and a reader, as startScan makes them. */
async function newSpool(): Promise<{ writer: SpoolWriter; reader: SpoolReader }> {
  const spool = { path: join(await folder(), 'scan.spool'), progress: newSpoolProgress() };
  await writeFile(spool.path, '');
  return { writer: new SpoolWriter(spool), reader: new SpoolReader(spool) };
}

describe("the scan's spool", () => {
  it('gives back every entry as written, names that are not UTF-8 and link targets included, while it grows', async () => {
    const { writer, reader } = await newSpool();
    expect(reader.next()).toBe('wait');
    const odd = `caf\udce9/x`;
    writer.add(entry('src', 'directory'));
    writer.add(entry(odd, 'file', 7));
    writer.publish();
    expect(reader.next()).toMatchObject({ kind: 1, path: 'src', size: 0, mode: 0o40755 });
    expect(reader.next()).toMatchObject({ kind: 0, path: odd, size: 7, mtimeMs: 1_764_000_000_123 });
    expect(reader.next()).toBe('wait');
    const waited = reader.changed();
    // Past one write block, so a record straddles two reads.
    for (let index = 0; index < 3000; index++)
      writer.add(entry(`many/${'n'.repeat(index % 40)}-${index}`, 'file', index));
    writer.add(entry('link', 'symlink', 0, '../somewhere'));
    writer.finish(false);
    await waited;
    for (let index = 0; index < 3000; index++) {
      expect(reader.next()).toMatchObject({ path: `many/${'n'.repeat(index % 40)}-${index}`, size: index });
    }
    expect(reader.next()).toMatchObject({ kind: 2, path: 'link', linkname: '../somewhere' });
    expect(reader.next()).toBeNull();
    reader.close();
  });

  it('tells the reader when the scan broke off', async () => {
    const { writer, reader } = await newSpool();
    writer.finish(true);
    expect(() => reader.next()).toThrow('The scan broke off');
    reader.close();
  });
});

describe('packing from the scan', () => {
  it('sends exactly what the scan saw: a file added afterwards is not sent, and the size still matches', async () => {
    const root = await folder();
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(root, 'kept.txt'), 'kept');
    await symlink('kept.txt', join(root, 'link'));
    const packed = await packToList(root, () => writeFile(join(root, 'late.txt'), 'too late'));
    expect(packed.error).toBeNull();
    expect(packed.bytes).toBe(packed.tarBytes);
    expect(packed.entries).toEqual(['file Dockerfile 13', 'file kept.txt 4', 'symlink link -> kept.txt']);
  });

  it('fails naming a file that shrank after the scan, and never completes the archive', async () => {
    const root = await folder();
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(root, 'shrinks.txt'), 'x'.repeat(4096));
    const { error, bytes, tarBytes } = await packToList(root, () => writeFile(join(root, 'shrinks.txt'), 'x'));
    expect(bytes).toBeLessThan(tarBytes);
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).code).toBe('E_CONTEXT_CHANGED');
    expect((error as SlipwayError).message).toContain(join(root, 'shrinks.txt'));
    expect((error as SlipwayError).message).toContain('shrank from 4096 to 1 bytes');
  });

  it('packs a context of many small files in the scanned order, with the exact scanned size', async () => {
    const root = await folder();
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    // More than one read-ahead batch of entries, and more than a batch of content.
    for (let index = 0; index < 2500; index++)
      await writeFile(join(root, `f-${String(index).padStart(4, '0')}`), 'y'.repeat(index % 700));
    const packed = await packToList(root);
    expect(packed.error).toBeNull();
    expect(packed.entries).toHaveLength(2501);
    expect(packed.entries[0]).toBe('file Dockerfile 13');
    expect(packed.entries[2500]).toBe(`file f-2499 ${2499 % 700}`);
  });

  /**
   * Runs `work` with a temporary folder of its own (TMPDIR), and answers what is left in it once the
   * clean-up that follows a stream's end has had up to two seconds.
   */
  async function leftInTmpdir(work: (own: string) => Promise<void>): Promise<string[]> {
    const own = await folder('slipway-tmpdir-');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = own;
    try {
      expect(tmpdir()).toBe(own);
      await work(own);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    for (let tries = 0; tries < 20 && (await readdir(own)).length > 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return readdir(own);
  }

  it('reports the scan of a context it cannot read, and leaves no spool behind', async () => {
    const missing = join(await folder(), 'gone');
    const left = await leftInTmpdir(async (own) => {
      const run = await startScan(planFromText(missing, ''), { spool: true });
      await expect(run.result).rejects.toMatchObject({ code: 'E_CONTEXT_UNREADABLE' });
      expect((await readdir(own)).map((name) => name.replace(/-\d+-[0-9a-f]+$/, ''))).toEqual(['slipway-scan']);
      await run.dispose();
    });
    expect(left).toEqual([]);
  });

  it('a pack without a scan of its own cleans up after itself', async () => {
    const root = await folder();
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    const left = await leftInTmpdir(async () => {
      const stream = await packContext(planFromText(root, ''));
      for await (const _chunk of stream) {
        // drain
      }
    });
    expect(left).toEqual([]);
  });

  it('holds back the end of the archive until the scan gives the size, and keeps it when the size is wrong', async () => {
    const run = async (actual: number) => {
      let settle: (bytes: number) => void = () => undefined;
      const size = new Promise<number>((resolve) => {
        settle = resolve;
      });
      const guard = new TarLengthGuard(size, 'ctx');
      const out: Buffer[] = [];
      guard.on('data', (chunk: Buffer) => out.push(chunk));
      const done = new Promise<unknown>((resolve) => {
        guard.on('end', () => resolve(null));
        guard.on('error', resolve);
      });
      const input = Buffer.alloc(3000, 7);
      for (let at = 0; at < input.length; at += 300) guard.write(input.subarray(at, at + 300));
      guard.end();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const before = Buffer.concat(out).length;
      settle(actual);
      return { before, error: await done, after: Buffer.concat(out).length };
    };
    const right = await run(3000);
    expect(right.before).toBeLessThanOrEqual(3000 - 1024);
    expect(right.error).toBeNull();
    expect(right.after).toBe(3000);
    const wrong = await run(3001);
    expect(wrong.error).toMatchObject({ code: 'E_CONTEXT_CHANGED' });
    expect(wrong.after).toBeLessThanOrEqual(3000 - 1024);
  });

  it('fails with E_SPOOL_DISK_FULL when the spool fills its disk, the spool closed once and removed', async (context) => {
    const disk = await mountSmallDisk(64 * 1024);
    if (!disk) {
      context.skip();
      return;
    }
    cleanups.push(disk.cleanup);
    const root = await folder();
    // Names long enough that their records outgrow the 64 KiB disk.
    for (let index = 0; index < 600; index++) await writeFile(join(root, `${'n'.repeat(120)}-${index}`), '');
    const before = await spoolDescriptors();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = disk.path;
    try {
      const run = await startScan(planFromText(root, ''), { spool: true });
      await expect(run.result).rejects.toMatchObject({ code: 'E_SPOOL_DISK_FULL' });
      await run.dispose();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(await readdir(disk.path)).toEqual([]);
    expect(await spoolDescriptors()).toEqual(before);
  });

  it('leaves no descriptor on the spool open when the pack is stopped early', async () => {
    const root = await folder();
    // Far more batches than the read-ahead may have out at once.
    const block = Buffer.alloc(16 * 1024, 1);
    for (let index = 0; index < 1000; index++) await writeFile(join(root, `file-${index}`), block);
    const before = await spoolDescriptors();
    const plan = planFromText(root, '');
    const run = await startScan(plan, { spool: true });
    await run.result;
    const stream = await packContext(plan, run.spool ?? undefined);
    for await (const _chunk of stream) break;
    await run.dispose();
    let open = await spoolDescriptors();
    for (let tries = 0; tries < 20 && open.length > before.length; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      open = await spoolDescriptors();
    }
    expect(open).toEqual(before);
  });
});

describe('a prepared context', () => {
  /** A context of far more batches than the read-ahead may have out at once. */
  async function project(files: number): Promise<string> {
    const root = await folder();
    await writeFile(join(root, 'Dockerfile'), 'FROM scratch\n');
    const block = Buffer.alloc(16 * 1024, 1);
    for (let index = 0; index < files; index++) await writeFile(join(root, `file-${index}`), block);
    return root;
  }
  const task = (root: string) => ({ id: 'main', service: 'main', contextPath: root, dockerfile: 'Dockerfile' });

  it('packs through the read-ahead it started, and leaves nothing behind', async () => {
    const root = await project(1000);
    const before = await spoolDescriptors();
    const prepared = await prepareContext(task(root));
    const scan = await prepared.scan.result;
    const out = collector();
    await pipeline(await packContext(prepared.plan, prepared.scan.spool ?? undefined, prepared.readAhead), out.sink);
    // One pack reads a read-ahead: a second would start where the first stopped.
    await expect(packContext(prepared.plan, prepared.scan.spool ?? undefined, prepared.readAhead)).rejects.toThrow(
      /already read by a pack/,
    );
    await prepared.readAhead.stop();
    await prepared.scan.dispose();
    expect(out.bytes().length).toBe(scan.tarBytes);
    expect(await spoolDescriptors()).toEqual(before);
  });

  it('reads ahead in the thread of its scan: one worker, not two', async () => {
    const root = await project(1000);
    const before = (await readdir('/proc/self/task')).length;
    const prepared = await prepareContext(task(root));
    await prepared.scan.result;
    // The scan has answered; its worker lives on, reading ahead as far as the packer lets it.
    expect(prepared.scan.readAhead).not.toBeNull();
    expect((await readdir('/proc/self/task')).length).toBe(before + 1);
    const out = collector();
    await pipeline(await packContext(prepared.plan, prepared.scan.spool ?? undefined, prepared.readAhead), out.sink);
    await disposePrepared([Promise.resolve(prepared)]);
    expect(out.bytes().length).toBe((await prepared.scan.result).tarBytes);
  });

  it('stops its scan and read-ahead when it is never packed', async () => {
    const root = await project(1000);
    const before = await spoolDescriptors();
    const prepared = prepareContext(task(root));
    const { scan } = await prepared;
    await disposePrepared([prepared]);
    expect(await spoolDescriptors()).toEqual(before);
    // The spool's folder is gone with it.
    await expect(readdir(join(scan.spool?.path ?? '', '..'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/** This process's descriptors that point at a scan's spool (deleted or not). */
async function spoolDescriptors(): Promise<string[]> {
  const found: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.includes('scan.spool')) found.push(target);
  }
  return found.sort();
}

describe('small contexts', () => {
  it('are scanned and read ahead on this thread, larger ones in workers, and pack alike', async () => {
    const small = await folder();
    await writeFile(join(small, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(small, 'a.txt'), 'a'.repeat(300_000));
    const smallRun = await startScan(planFromText(small, ''), { spool: true });
    cleanups.push(() => smallRun.dispose());
    expect(smallRun.spool?.complete).toBe(true);
    const smallPack = await packToList(small);
    expect(smallPack.error).toBeNull();
    expect(smallPack.bytes).toBe(smallPack.tarBytes);
    expect(smallPack.entries).toEqual(['file Dockerfile 13', 'file a.txt 300000']);

    const large = await folder();
    await writeFile(join(large, 'Dockerfile'), 'FROM scratch\n');
    await mkdir(join(large, 'many'));
    const names = Array.from({ length: IN_THREAD_ENTRIES }, (_, index) => `f${String(index).padStart(4, '0')}`);
    await Promise.all(names.map((name) => writeFile(join(large, 'many', name), name)));
    const largeRun = await startScan(planFromText(large, ''), { spool: true });
    cleanups.push(() => largeRun.dispose());
    expect(largeRun.spool?.complete).toBeUndefined();
    expect((await largeRun.result).files).toBe(IN_THREAD_ENTRIES + 1);
    const largePack = await packToList(large);
    expect(largePack.error).toBeNull();
    expect(largePack.bytes).toBe(largePack.tarBytes);
    expect(largePack.entries).toEqual([
      'directory many',
      'file Dockerfile 13',
      ...names.map((name) => `file many/${name} 5`),
    ]);
  });

  it('that have files past the in-thread bytes go to the workers', async () => {
    const root = await folder();
    for (let index = 0; index < 20; index++) await writeFile(join(root, `f${index}`), Buffer.alloc(250_000));
    const run = await startScan(planFromText(root, ''), { spool: true });
    cleanups.push(() => run.dispose());
    expect(20 * 250_000).toBeGreaterThan(IN_THREAD_BYTES);
    expect(run.spool?.complete).toBeUndefined();
    expect((await run.result).files).toBe(20);
  });
});
