import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import tarFs from 'tar-fs';
import type tarStream from 'tar-stream';
import { SlipwayError } from '../../shared/errors';
import { fsPath } from './names';
import type { ContextPlan } from './plan';
import { BATCH_BYTES, ENTRY_FIELDS, READ_AHEAD_BATCHES, type ReadAheadBatch, SMALL_FILE_BYTES } from './read-ahead';
import { ReadAhead } from './read-ahead-host';
import { startScan } from './scan';
import { EntryKind, type ScanSpool } from './scan-spool';
import { TAR_END_BYTES } from './tar-size';
import { tarPack } from './tar-writer';
import { changed, unreadable } from './walk';

/** Bytes each stage of the pack pipeline (tar-stream's pack, the guard, the counter) may queue. */
export const PACK_HIGH_WATER_BYTES = 256 * 1024;
/** Files bigger than SMALL_FILE_BYTES are read by the packer in chunks of this size, one chunk ahead. */
export const FILE_CHUNK_BYTES = 512 * 1024;
/**
 * The pack copies the small pieces of the tar into chunks of this size (see tarPack). At least
 * SMALL_FILE_BYTES, so that the content of every file read ahead is copied, and its batch's buffer can
 * go back to the read-ahead.
 */
export const COALESCE_BYTES = SMALL_FILE_BYTES;

/**
 * The most bytes of file content a pack holds at once, whatever the context's size:
 * - the read-ahead's batches: READ_AHEAD_BATCHES sent but not yet packed, plus the one being packed,
 *   each BATCH_BYTES (their buffers go back to the worker and are reused);
 * - one chunk of a big file being read, plus the one tar-stream is passing on;
 * - the chunk tarPack is filling (COALESCE_BYTES);
 * - the high-water marks of the three stages after it (tar-stream's pack, TarLengthGuard and
 *   ProgressCounter: each a readable and a writable side, each possibly over by one chunk).
 * About 7 MiB. Not counted here, and not file content: the scan worker holds the names of one folder
 * per level of depth (about 60 bytes each), which grows with the widest folders, not with the number
 * of files, and the workers' own heaps (a few MiB each). What the scan saw is on disk, in its spool.
 */
export const PACK_MEMORY_BYTES =
  (READ_AHEAD_BATCHES + 1) * BATCH_BYTES +
  2 * FILE_CHUNK_BYTES +
  COALESCE_BYTES +
  3 * (2 * PACK_HIGH_WATER_BYTES + FILE_CHUNK_BYTES);

/**
 * What tar-fs is told as its root and as every path it takes from its to-do list: only ReadAheadFs
 * touches the disk, and it knows which entry comes next, so tar-fs's paths need not be real (map()
 * puts the real name in each header). tar-fs joins and resolves every path it takes: a short one costs
 * less per file.
 */
const TAR_FS_ROOT = '/c';
const TAR_FS_PATH = '-';

type Callback<T> = (error: Error | null, value?: T) => void;

/**
 * The part of fs.Stats tar-fs reads, for the entry it is packing. tar-fs reads it only in the turn it
 * gets it, and tar-stream writes the header before tar-fs asks for the next entry, so one instance
 * (and one Date) serves every entry: 100,000 files make no garbage here.
 */
class EntryStats {
  kind = 0;
  mode = 0;
  size = 0;
  readonly uid = 0;
  readonly gid = 0;
  readonly mtime = new Date(0);
  set(kind: number, mode: number, size: number, mtimeMs: number): this {
    this.kind = kind;
    this.mode = mode;
    this.size = size;
    this.mtime.setTime(mtimeMs);
    return this;
  }
  isFile(): boolean {
    return this.kind === EntryKind.file;
  }
  isDirectory(): boolean {
    return this.kind === EntryKind.directory;
  }
  isSymbolicLink(): boolean {
    return this.kind === EntryKind.symlink;
  }
  isSocket(): boolean {
    return false;
  }
}

/** The entry tar-fs is packing. */
interface Entry {
  path: string;
  size: number;
  /** The whole content of a small file, read ahead. */
  content: Buffer | null;
  linkname: string | undefined;
}

/** Reads a big file in chunks, exactly `bytes` of it; a file that got shorter is an error naming it. */
class FileChunks extends Readable {
  private handle: FileHandle | null = null;
  private position = 0;

  constructor(
    private readonly path: string,
    private readonly bytes: number,
  ) {
    super({ highWaterMark: FILE_CHUNK_BYTES });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    // O_NONBLOCK: a FIFO swapped in after the scan must not hold a thread pool thread forever; and
    // O_NOFOLLOW: a link swapped in is never followed out of the context.
    open(fsPath(this.path), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW).then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (error) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') callback(changed(this.path, 'vanished'));
        else if (code === 'ELOOP') callback(changed(this.path, 'became a link'));
        else callback(unreadable(this.path, error));
      },
    );
  }

  override _read(): void {
    const want = Math.min(FILE_CHUNK_BYTES, this.bytes - this.position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(want);
    (this.handle as FileHandle).read(buffer, 0, want, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.destroy(changed(this.path, `shrank from ${this.bytes} to ${this.position} bytes`));
          return;
        }
        this.position += bytesRead;
        this.push(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
      },
      (error) => this.destroy(unreadable(this.path, error)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = null;
    if (!handle) {
      callback(error);
      return;
    }
    handle.close().then(
      () => callback(error),
      (closeError) => callback(error ?? closeError),
    );
  }
}

/** tar-fs's end of its to-do list: an lstat that fails with ENOENT for a path not in `entries`. */
function endOfWalk(): NodeJS.ErrnoException {
  return Object.assign(new Error('The walk is done'), { code: 'ENOENT' });
}

/**
 * The `fs` tar-fs packs through. tar-fs asks for one entry at a time (lstat, then open/read/close), and
 * on a context of many small files those calls are most of the work. This fs has a worker thread
 * (pack-worker.ts) read the scan's spool, entry by entry in the order the docker CLI walks, and read
 * small files whole, on another core; it answers tar-fs from the batches the worker sends, so tar-fs's
 * own calls cost no syscall and no thread pool round trip. Only big files are read here, in chunks.
 * readdir answers tar-fs with nothing, so tar-fs queues no paths itself, and its to-do list (see
 * queueForTarFs) says "one more" until the worker's last batch is used up.
 */
class ReadAheadFs {
  private batch: ReadAheadBatch | null = null;
  private content: Buffer = Buffer.alloc(0);
  private paths: string[] = [];
  private index = 0;
  private link = 0;
  private waiting: Callback<EntryStats> | null = null;
  private current: Entry | null = null;
  private readonly stats = new EntryStats();
  /** True once the content of the current entry went to the pack whole (takeContent). */
  private taken = false;

  constructor(
    private readonly root: string,
    private readonly readAhead: ReadAhead,
  ) {
    readAhead.listen(() => this.answer());
  }

  /** Stops the read-ahead early (the pack ended or was destroyed); harmless once it has stopped. */
  stop(): void {
    void this.readAhead.stop();
  }

  /**
   * tar-fs keeps its to-do list in the array `entries.slice(0)` gives it, takes from the front with
   * shift() and appends what readdir lists. This queue always has one more path (TAR_FS_PATH: the next
   * entry of the walk, whatever it is) until lstat tells tar-fs the walk is done.
   */
  queueForTarFs(): string[] {
    const queue = {
      push: () => {
        throw new Error('tar-fs queued a path: readdir lists nothing');
      },
      shift: () => TAR_FS_PATH,
      length: 1,
    };
    // tar-fs calls entries.slice(0) once, and entries.indexOf for an ENOENT: -1 lets endOfWalk end the pack.
    return { slice: () => queue, indexOf: () => -1 } as unknown as string[];
  }

  readonly lstat = (_path: string, callback: Callback<EntryStats>): void => {
    this.waiting = callback;
    this.answer();
  };

  /** Answers tar-fs's lstat with the next entry of the walk, once a batch holds it. */
  private answer(): void {
    const callback = this.waiting;
    if (!callback) return;
    while (!this.batch || this.index >= this.batch.entries) {
      if (this.batch?.done) {
        this.waiting = null;
        const error = this.batch.error;
        queueMicrotask(() =>
          callback(error ? new SlipwayError(error.code, error.message, { hint: error.hint }) : endOfWalk()),
        );
        return;
      }
      const next = this.readAhead.take();
      if (!next) {
        const failure = this.readAhead.error;
        if (failure) {
          this.waiting = null;
          queueMicrotask(() => callback(failure));
        }
        return;
      }
      // tar-fs asks for the next entry once tar-stream has taken the last one, and tar-stream copies
      // pieces the size of a small file (see tarPack): nothing refers to the old batch's buffer now.
      if (this.batch) this.readAhead.recycle(this.batch.content);
      this.batch = next;
      this.content = Buffer.from(next.content);
      this.paths = next.entries > 0 ? next.paths.split('\0') : [];
      this.index = 0;
      this.link = 0;
    }
    this.waiting = null;
    const { fields } = this.batch;
    const at = this.index * ENTRY_FIELDS;
    const kind = fields[at] as number;
    const size = fields[at + 2] as number;
    const stats = this.stats.set(kind, fields[at + 1] as number, size, fields[at + 3] as number);
    const offset = fields[at + 4] as number;
    this.current = {
      path: this.paths[this.index] as string,
      size,
      content: offset >= 0 ? this.content.subarray(offset, offset + size) : null,
      linkname: kind === EntryKind.symlink ? this.batch.linknames[this.link++] : undefined,
    };
    this.index += 1;
    this.taken = false;
    queueMicrotask(() => callback(null, stats));
  }

  /** The name of the entry tar-fs is packing (its own path for it is TAR_FS_PATH). */
  currentName(): string {
    return (this.current as Entry).path;
  }

  /** The walk lists folders itself (see queueForTarFs). */
  readonly readdir = (_path: string, callback: Callback<string[]>): void => {
    queueMicrotask(() => callback(null, []));
  };

  readonly readlink = (_path: string, callback: Callback<string>): void => {
    const linkname = this.current?.linkname ?? '';
    queueMicrotask(() => callback(null, linkname));
  };

  /**
   * The content of the file tar-fs has just looked at, when it was read ahead whole and is `bytes` long:
   * tar-fs then asks for its read stream, and gets INERT_STREAM.
   */
  takeContent(bytes: number): Buffer | null {
    const content = this.current?.content;
    if (!content || content.length !== bytes) return null;
    this.taken = true;
    return content;
  }

  readonly createReadStream = (): Readable => {
    if (this.taken) return INERT_STREAM;
    const current = this.current as Entry;
    if (current.content) return Readable.from([current.content]);
    if (current.size === 0) return Readable.from([]);
    return new FileChunks(`${this.root}/${current.path}`, current.size);
  };
}

/**
 * What tar-fs pipes (with pump) from a file read ahead into that file's entry, when the content went to
 * the pack's entry(header, buffer) instead, which writes it whole (see tarPack): it never emits, so
 * pump never acts on it. A Node Readable, a streamx Sink and the pipe between them cost about a third
 * of the packer's time per small file; the buffer path has the same backpressure (the entry ends once
 * the pack has room).
 */
const INERT_STREAM = {
  on: () => INERT_STREAM,
  once: () => INERT_STREAM,
  removeListener: () => INERT_STREAM,
  pipe: <T>(destination: T) => destination,
  destroy: () => undefined,
} as unknown as Readable;

/**
 * Packs a context with tar-fs exactly as the docker CLI sends it (see ignore.ts): the root folder not
 * sent, links stored as links, FIFOs and sockets skipped, owners 0:0, modes as on disk, and the plan's
 * appended entries last. Its length is what scanContext computed. `readAhead`, when given, reads
 * `spool` and has not been used yet (see prepareContext): the pack takes it over.
 */
export async function packContext(plan: ContextPlan, spool?: ScanSpool, readAhead?: ReadAhead): Promise<Readable> {
  if (readAhead && !spool) throw new Error('A read-ahead is packed with the spool it reads');
  // Without a scan's spool, the pack runs a scan of its own for one, and removes it at the end.
  const own = spool ? null : await startScan(plan, { spool: true });
  let fs: ReadAheadFs;
  try {
    const root = resolve(plan.root);
    fs = new ReadAheadFs(root, readAhead ?? new ReadAhead(root, spool ?? (own?.spool as ScanSpool)));
  } catch (error) {
    await own?.dispose();
    throw error;
  }
  const entries = fs.queueForTarFs();
  const pack = tarPack(COALESCE_BYTES);
  type Entry = (header: tarStream.Header, ...rest: unknown[]) => unknown;
  const entry = pack.entry.bind(pack) as unknown as Entry;
  // tar-fs asks for an entry it then writes a file's stream into; a file read ahead is handed over whole.
  pack.entry = ((header: tarStream.Header, ...rest: unknown[]) => {
    const content = typeof rest[0] === 'function' && header.type === 'file' ? fs.takeContent(header.size ?? 0) : null;
    if (!content) return entry(header, ...rest);
    entry(header, content, rest[0]);
    return INERT_STREAM;
  }) as unknown as typeof pack.entry;
  // A scan of its own that fails explains the failure better than the read-ahead, which only sees it end.
  own?.result.catch((error: unknown) => pack.destroy(error as Error));
  (pack as unknown as Readable).once('close', () => {
    fs.stop();
    own?.dispose().catch(() => undefined);
  });
  return tarFs.pack(TAR_FS_ROOT, {
    fs: fs as never,
    entries,
    pack,
    strict: false,
    umask: 0,
    map: (header) => {
      header.name = fs.currentName();
      header.uid = 0;
      header.gid = 0;
      return header;
    },
    finalize: false,
    finish: () => {
      const append = (index: number) => {
        const entry = plan.appended[index];
        if (!entry) {
          pack.finalize();
          return;
        }
        pack.entry(
          { name: entry.name, size: entry.content.length, mode: entry.mode, mtime: entry.mtime, type: 'file' },
          entry.content,
          (error) => (error ? pack.destroy(error) : append(index + 1)),
        );
      };
      append(0);
    },
  } as tarFs.PackOptions) as unknown as Readable;
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
