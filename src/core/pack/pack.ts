import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { SlipwayError } from '../../shared/errors';
import { BufferPool } from './lent-buffers';
import { fsPath } from './names';
import type { ContextPlan } from './plan';
import { BATCH_BYTES, ENTRY_FIELDS, READ_AHEAD_BATCHES, type ReadAheadBatch, SMALL_FILE_BYTES } from './read-ahead';
import { ReadAhead } from './read-ahead-host';
import { startScan } from './scan';
import { EntryKind, type ScanSpool } from './scan-spool';
import { TAR_END_BYTES } from './tar-size';
import { type TarHeader, TarWriter } from './tar-writer';
import { changed, unreadable } from './walk';

/** Bytes each stage of the pack pipeline (the archive, the guard, the counter) may queue. */
export const PACK_HIGH_WATER_BYTES = 256 * 1024;
/** Files bigger than SMALL_FILE_BYTES are read by the packer in chunks of this size, one chunk ahead. */
export const FILE_CHUNK_BYTES = 512 * 1024;
/**
 * The pack copies the small pieces of the tar into chunks of this size (see TarWriter). At least
 * SMALL_FILE_BYTES, so that the content of every file read ahead is copied, and its batch's buffer can
 * go back to the read-ahead.
 */
export const COALESCE_BYTES = SMALL_FILE_BYTES;

/**
 * The archive's chunks and big files' reads, reused once the upload's socket has written them (see
 * lent-buffers.ts). Each keeps about what a pack has in flight; a buffer past that is left to the GC.
 */
const ARCHIVE_CHUNKS = new BufferPool(COALESCE_BYTES, 16);
/** A big file's chunk, and the one byte more its last read asks for. */
const FILE_CHUNKS = new BufferPool(FILE_CHUNK_BYTES + 1, 8);
/** The most the pools keep for reuse, whatever the number of packs. */
export const POOLED_BYTES = ARCHIVE_CHUNKS.keptBytes + FILE_CHUNKS.keptBytes;

/**
 * The most bytes of file content a pack holds at once, whatever the context's size:
 * - the read-ahead's batches: READ_AHEAD_BATCHES sent but not yet packed, plus the one being packed,
 *   each BATCH_BYTES (their buffers go back to the worker and are reused);
 * - one chunk of a big file being read, plus the one being passed on;
 * - the chunk the TarWriter is filling (COALESCE_BYTES);
 * - the high-water marks of the three stages after it (the archive's readable side, TarLengthGuard and
 *   ProgressCounter: each at most a readable and a writable side, each possibly over by one chunk).
 * About 7 MiB. Not counted here, and not file content: the scan worker holds the names of one folder
 * per level of depth (about 60 bytes each), which grows with the widest folders, not with the number
 * of files, and the workers' own heaps (a few MiB each). What the scan saw is on disk, in its spool.
 * The chunks in flight come from the pools above (POOLED_BYTES, shared by every pack of the process);
 * between packs the pools keep that much, not more.
 */
export const PACK_MEMORY_BYTES =
  (READ_AHEAD_BATCHES + 1) * BATCH_BYTES +
  2 * FILE_CHUNK_BYTES +
  COALESCE_BYTES +
  3 * (2 * PACK_HIGH_WATER_BYTES + FILE_CHUNK_BYTES);

const O_READ_SAFE = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** Opens a big file of the context to read it; errors name it, as the docker CLI's would. */
export async function openContextFile(path: string): Promise<FileHandle> {
  try {
    // O_NONBLOCK: a FIFO swapped in after the scan must not hold a thread pool thread forever; and
    // O_NOFOLLOW: a link swapped in is never followed out of the context.
    return await open(fsPath(path), O_READ_SAFE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw changed(path, 'vanished');
    if (code === 'ELOOP') throw changed(path, 'became a link');
    throw unreadable(path, error);
  }
}

/**
 * The archive of a context, as a stream: the entries of the scan's spool in the order the docker CLI
 * walks them, read by a read-ahead worker (pack-worker.ts) that reads small files whole on another
 * core and sends them in batches, so that this thread does no syscall per small file. Big files are
 * read here, in chunks, one chunk ahead. Headers and content go through a TarWriter into chunks;
 * the loop writes while the reader wants more and waits (for room, a batch or a read) otherwise.
 */
class ContextArchive extends Readable {
  private readonly writer = new TarWriter(COALESCE_BYTES, (chunk) => this.push(chunk), ARCHIVE_CHUNKS);
  private started = false;
  private wake: (() => void) | null = null;
  private batch: ReadAheadBatch | null = null;
  private content: Buffer = Buffer.alloc(0);
  /** The batch's paths, NUL-separated, and where the next one starts: sliced one at a time, never split. */
  private paths = '';
  private pathAt = 0;
  /** The current entry's path. */
  private path = '';
  private index = 0;
  private link = 0;
  /** One Date for every entry's header: the writer has written it before the next entry is read. */
  private readonly mtime = new Date(0);

  constructor(
    private readonly root: string,
    private readonly readAhead: ReadAhead,
    private readonly appended: ContextPlan['appended'],
  ) {
    super({ highWaterMark: PACK_HIGH_WATER_BYTES });
    readAhead.listen(() => this.wakeUp());
  }

  override _read(): void {
    this.writer.setFlowing();
    if (this.started) {
      this.wakeUp();
      return;
    }
    this.started = true;
    this.run().catch((error: unknown) => this.destroy(error as Error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.wakeUp();
    callback(error);
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Waits for the reader to want more; false once the archive was destroyed meanwhile. */
  private async room(): Promise<boolean> {
    while (!this.writer.flowing && !this.destroyed) await new Promise<void>((resolve) => (this.wake = resolve));
    return !this.destroyed;
  }

  private async run(): Promise<void> {
    const header: TarHeader = { name: '', type: 'file', size: 0, mode: 0, mtime: this.mtime, uid: 0, gid: 0 };
    while (await this.room()) {
      const at = await this.nextEntry();
      if (at === null) break;
      if (at < 0) return;
      const { fields } = this.batch as ReadAheadBatch;
      const kind = fields[at] as number;
      const size = fields[at + 2] as number;
      const offset = fields[at + 4] as number;
      header.name = this.path;
      header.mode = fields[at + 1] as number;
      this.mtime.setTime(fields[at + 3] as number);
      header.linkname = undefined;
      if (kind === EntryKind.directory) {
        header.type = 'directory';
        header.size = 0;
        this.writer.entry(header, null);
      } else if (kind === EntryKind.symlink) {
        header.type = 'symlink';
        header.size = 0;
        header.linkname = (this.batch as ReadAheadBatch).linknames[this.link++];
        this.writer.entry(header, null);
      } else if (kind === EntryKind.file) {
        header.type = 'file';
        header.size = size;
        if (offset >= 0) this.writer.entry(header, this.content.subarray(offset, offset + size));
        else if (size === 0) this.writer.entry(header, null);
        else if (!(await this.writeBigFile(header))) return;
      } else if (kind === EntryKind.fifo) {
        // As the docker CLI sends it: a FIFO entry, never opened.
        header.type = 'fifo';
        header.size = 0;
        this.writer.entry(header, null);
      }
    }
    for (const entry of this.appended) {
      if (!(await this.room())) return;
      const { name, content, mode, mtime } = entry;
      this.writer.entry(
        { name, type: 'file', size: content.length, mode: mode || 0o644, mtime, uid: 0, gid: 0 },
        content,
      );
    }
    this.writer.end();
    this.push(null);
  }

  /**
   * Moves to the next entry of the walk and answers where its fields start in the batch; null at the
   * end of the walk, -1 when the archive was destroyed meanwhile. A batch's buffer goes back to the
   * read-ahead once its entries are written: the writer copied every small file's content.
   */
  private async nextEntry(): Promise<number | null> {
    while (!this.batch || this.index >= this.batch.entries) {
      if (this.batch?.done) {
        const { error } = this.batch;
        if (error) throw new SlipwayError(error.code, error.message, { hint: error.hint });
        return null;
      }
      const next = this.readAhead.take();
      if (!next) {
        if (this.readAhead.error) throw this.readAhead.error;
        await new Promise<void>((resolve) => (this.wake = resolve));
        if (this.destroyed) return -1;
        continue;
      }
      if (this.batch) this.readAhead.recycle(this.batch.content);
      this.batch = next;
      this.content = Buffer.from(next.content);
      this.paths = next.paths;
      this.pathAt = 0;
      this.index = 0;
      this.link = 0;
    }
    this.index += 1;
    const end = this.paths.indexOf('\0', this.pathAt);
    this.path = this.paths.slice(this.pathAt, end === -1 ? this.paths.length : end);
    this.pathAt = end === -1 ? this.paths.length : end + 1;
    return (this.index - 1) * ENTRY_FIELDS;
  }

  /**
   * Writes a file too big to be read ahead: its header, exactly `size` bytes read in chunks (the next
   * chunk is read while the last is passed on), its padding. A file that got shorter or longer is an
   * error naming it. False when the archive was destroyed meanwhile.
   */
  private async writeBigFile(header: TarHeader): Promise<boolean> {
    const { name, size } = header;
    const path = `${this.root}/${name}`;
    const handle = await openContextFile(path);
    this.writer.header(header);
    // The last chunk asks for one byte more than the scan saw: a file that grew says so in that read.
    const read = (position: number) => {
      const want = Math.min(FILE_CHUNK_BYTES, size - position);
      const buffer = FILE_CHUNKS.take();
      return handle.read(buffer, 0, position + want === size ? want + 1 : want, position).then(
        ({ bytesRead }) => {
          if (bytesRead > want) throw changed(path, `grew past the ${size} bytes the scan saw`);
          return { buffer, chunk: buffer.subarray(0, bytesRead) };
        },
        (error: unknown) => Promise.reject(unreadable(path, error)),
      );
    };
    let pending: ReturnType<typeof read> | null = read(0);
    try {
      let position = 0;
      while (pending) {
        const { buffer, chunk } = await pending;
        pending = null;
        if (this.destroyed) return false;
        if (chunk.length === 0) throw changed(path, `shrank from ${size} to ${position} bytes`);
        position += chunk.length;
        if (position < size) pending = read(position);
        // A chunk bigger than the writer's passes on as it is, lent to the upload; a smaller one (a
        // file's end) is copied, and its buffer is free again at once.
        if (chunk.length > COALESCE_BYTES) this.writer.write(FILE_CHUNKS.lend(chunk));
        else {
          this.writer.write(chunk);
          FILE_CHUNKS.giveBack(buffer);
        }
        if (!(await this.room())) return false;
      }
      this.writer.pad(size);
      return true;
    } finally {
      // A read still under way must end before its file closes; its failure no longer matters.
      await pending?.catch(() => undefined);
      await handle.close();
    }
  }
}

/**
 * Packs a context exactly as the docker CLI sends it (see ignore.ts): the root folder not sent, links
 * stored as links, FIFOs as FIFO entries, sockets skipped, owners 0:0, modes as on disk, and the plan's appended
 * entries last. Its length is what scanContext computed. `readAhead`, when given, reads `spool` and
 * has not been used yet (see prepareContext): the pack takes it over.
 */
export async function packContext(plan: ContextPlan, spool?: ScanSpool, readAhead?: ReadAhead): Promise<Readable> {
  if (readAhead && !spool) throw new Error('A read-ahead is packed with the spool it reads');
  // Without a scan's spool, the pack runs a scan of its own for one, and removes it at the end.
  const own = spool ? null : await startScan(plan, { spool: true, readAhead: true });
  let reading: ReadAhead;
  let archive: ContextArchive;
  try {
    const root = resolve(plan.root);
    reading = readAhead ?? new ReadAhead(root, spool ?? (own?.spool as ScanSpool), own?.readAhead ?? undefined);
    archive = new ContextArchive(root, reading, plan.appended);
  } catch (error) {
    own?.readAhead?.port.close();
    await own?.dispose();
    throw error;
  }
  // A scan of its own that fails explains the failure better than the read-ahead, which only sees it end.
  own?.result.catch((error: unknown) => archive.destroy(error as Error));
  // Stops the read-ahead early (the pack ended or was destroyed); harmless once it has stopped.
  archive.once('close', () => {
    void reading.stop();
    own?.dispose().catch(() => undefined);
  });
  return archive;
}

/**
 * Counts the bytes of a tar stream against the exact size the scan computed, and holds back the
 * end-of-archive blocks (the chunks that hold the last TAR_END_BYTES) until the count is right: a
 * context that changed while it was packed never reaches the builder as a complete archive. The size may come later than
 * the stream (a scan running beside the pack, see startScan): the guard checks it as soon as
 * it knows it, and at the end waits for it.
 */
export class TarLengthGuard extends Transform {
  bytes = 0;
  private expectedBytes: number | null = null;
  private readonly expected: Promise<number>;
  /** The last chunks seen, as few as hold at least TAR_END_BYTES: passed on whole, never split or copied. */
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    expectedBytes: number | Promise<number>,
    private readonly describe: string,
  ) {
    super({ highWaterMark: PACK_HIGH_WATER_BYTES });
    this.expected = Promise.resolve(expectedBytes);
    // A scan that fails is reported by whoever awaits it; here it only leaves the size unknown.
    this.expected.then(
      (bytes) => {
        this.expectedBytes = bytes;
      },
      () => undefined,
    );
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedBytes !== null && this.bytes > this.expectedBytes) {
      callback(this.changed(this.expectedBytes));
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    while (this.heldBytes - (this.held[0] as Buffer).length >= TAR_END_BYTES) {
      const passed = this.held.shift() as Buffer;
      this.heldBytes -= passed.length;
      this.push(passed);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.expected.then(
      (expectedBytes) => {
        if (this.bytes !== expectedBytes) {
          callback(this.changed(expectedBytes));
          return;
        }
        for (const chunk of this.held) this.push(chunk);
        callback();
      },
      (error: unknown) => callback(error as Error),
    );
  }

  private changed(expectedBytes: number): SlipwayError {
    return new SlipwayError(
      'E_CONTEXT_CHANGED',
      `The context ${this.describe} changed while it was being packed (${this.bytes} bytes packed, ${expectedBytes} expected)`,
      { hint: 'Stop whatever is writing into the context, or ignore those files, and build again.' },
    );
  }
}
