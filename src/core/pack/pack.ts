import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import tarFs from 'tar-fs';
import type tarStream from 'tar-stream';
import { SlipwayError } from '../../shared/errors';
import { decodeName, fsPath } from './names';
import type { ContextPlan } from './plan';
import { TAR_END_BYTES } from './tar-size';
import { rawNamePack } from './tar-writer';
import { changed, childPath, listSent, lookAt, SYNC_SLICE_MS, unreadable } from './walk';

/** Bytes each stage of the pack pipeline (tar-stream's pack, the guard, the counter) may queue. */
export const PACK_HIGH_WATER_BYTES = 256 * 1024;
/** Entries the packer's look-ahead may have looked at before tar-fs asks for them. */
export const LOOKAHEAD_ENTRIES = 64;
/** Files at most this big are read whole, ahead of the packer... */
export const SMALL_FILE_BYTES = 256 * 1024;
/** ...within this budget of bytes read but not yet packed. */
export const READ_AHEAD_BYTES = 2 << 20;
/** Bigger files are read in chunks of this size, one chunk ahead. */
export const FILE_CHUNK_BYTES = 512 * 1024;
/** The guard joins small pieces of the tar into chunks of at least this size. */
export const COALESCE_BYTES = 256 * 1024;

/**
 * The most bytes of file content the packer holds at once, whatever the context's size: the small-file
 * read-ahead, one chunk of a big file being read (or one small file handed whole to tar-stream, at most
 * SMALL_FILE_BYTES = FILE_CHUNK_BYTES / 2) plus the one tar-stream is passing on, the guard's
 * pieces being joined (under COALESCE_BYTES plus one chunk), and the high-water marks of the three
 * stages (tar-stream's pack, TarLengthGuard and ProgressCounter, each readable + writable side, each
 * possibly over by one chunk). 6 MiB; the look-ahead's LOOKAHEAD_ENTRIES lstat results add a few KiB.
 * Not file content, and not counted here: the walk holds the names of one folder per level of depth
 * (about 60 bytes each), which grows with the widest folders, not with the number of files.
 */
export const PACK_MEMORY_BYTES =
  READ_AHEAD_BYTES + 3 * FILE_CHUNK_BYTES + COALESCE_BYTES + 5 * PACK_HIGH_WATER_BYTES + 2 * FILE_CHUNK_BYTES;

/**
 * The root tar-fs is told. Only LookaheadFs touches the disk, so tar-fs's paths need not be real, and
 * tar-fs joins and resolves the path of every entry against its root: a short one costs less per file.
 */
const TAR_FS_ROOT = '/c';

type Callback<T> = (error: Error | null, value?: T) => void;

interface Fetched {
  stats: Stats;
  /** The whole content of a small file, read ahead. */
  content: Buffer | null;
}

/** Reads a small file whole, exactly `bytes` of it, without blocking on a FIFO swapped in after the lstat. */
function readWhole(path: string, bytes: number): Buffer {
  let descriptor: number;
  try {
    descriptor = openSync(fsPath(path), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw changed(path, 'vanished');
    throw unreadable(path, error);
  }
  return readOpen(path, descriptor, bytes);
}

/** Reads exactly `bytes` from an open file, and closes it. */
function readOpen(path: string, descriptor: number, bytes: number): Buffer {
  try {
    const buffer = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const read = readSync(descriptor, buffer, filled, bytes - filled, filled);
      if (read === 0) throw changed(path, `shrank from ${bytes} to ${filled} bytes`);
      filled += read;
    }
    return buffer;
  } catch (error) {
    throw unreadable(path, error);
  } finally {
    closeSync(descriptor);
  }
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
    // O_NONBLOCK: a FIFO swapped in after the lstat must not hold a thread pool thread forever.
    open(fsPath(this.path), constants.O_RDONLY | constants.O_NONBLOCK).then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (error) => callback(unreadable(this.path, error)),
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

/**
 * The `fs` tar-fs packs through. tar-fs asks for one entry at a time (lstat, then open/read/close), and
 * each asynchronous call costs a thread pool round trip, so per-file latency adds up on many small
 * files. This fs also hands tar-fs its to-do list (see queueForTarFs), so it knows what tar-fs will ask
 * for next and looks ahead of it: lstat and whole reads of small files, done synchronously in slices of
 * at most SYNC_SLICE_MS between turns of the event loop, bounded by LOOKAHEAD_ENTRIES and
 * READ_AHEAD_BYTES. The list is made lazily, depth first in byte order as the docker CLI walks, from one
 * listing per level of depth; readdir answers tar-fs with nothing, so tar-fs queues no paths itself.
 */
class LookaheadFs {
  /** Folders being walked (relative paths), each with what the docker CLI sends from it. */
  private readonly stack: { folder: string; names: string[]; regular: boolean[]; next: number }[];
  /** Relative paths looked at ahead, [head, end) not yet taken by tar-fs. */
  private window: string[] = [];
  private head = 0;
  private readAheadBytes = 0;
  /** What each path in the window looked like, by the path tar-fs asks for. */
  private readonly ready = new Map<string, Fetched | Error>();
  private current: { path: string; fetched: Fetched } | null = null;
  /** The path whose content went to the pack whole (takeContent), so its read stream is INERT_STREAM. */
  private taken: string | null = null;
  private scheduled = false;

  constructor(
    private readonly root: string,
    private readonly plan: ContextPlan,
  ) {
    const regular: boolean[] = [];
    this.stack = [{ folder: '.', names: listSent(root, '.', plan.ignore, regular), regular, next: 0 }];
  }

  /**
   * tar-fs keeps its to-do list in the array `entries.slice(0)` gives it, takes from the front with
   * shift() and appends what readdir lists. The packer hands tar-fs this queue instead: it walks the
   * context as tar-fs takes from it (readdir lists nothing), so nothing grows with the context.
   */
  queueForTarFs(): string[] {
    const queue = {
      push: () => {
        throw new Error('tar-fs queued a path: readdir lists nothing');
      },
      shift: () => {
        if (this.head >= this.window.length && !this.step()) return undefined;
        const path = this.window[this.head++] as string;
        if (this.head > 1024) {
          this.window = this.window.slice(this.head);
          this.head = 0;
        }
        this.schedule();
        return path;
      },
      get length() {
        return fs.head < fs.window.length || fs.hasMore() ? 1 : 0;
      },
    };
    const fs = this;
    // tar-fs calls entries.slice(0) once, and entries.indexOf only for an ENOENT, which this fs never gives.
    return { slice: () => queue, indexOf: () => -1 } as unknown as string[];
  }

  private hasMore(): boolean {
    let top = this.stack[this.stack.length - 1];
    while (top && top.next >= top.names.length) {
      this.stack.pop();
      top = this.stack[this.stack.length - 1];
    }
    return top !== undefined;
  }

  /** Looks at the next path of the walk, and lists it when it is a folder; false when the walk is done. */
  private step(): boolean {
    if (!this.hasMore()) return false;
    const top = this.stack[this.stack.length - 1] as (typeof this.stack)[number];
    const isRegular = top.regular[top.next] === true;
    const relativePath = childPath(top.folder, top.names[top.next++] as string);
    // tar-fs asks for path.join(TAR_FS_ROOT, item); items are clean relative paths: the same string.
    const path = `${TAR_FS_ROOT}/${relativePath}`;
    let result: Fetched | Error;
    try {
      result = isRegular ? this.fetchFile(this.real(path)) : this.fetch(this.real(path));
      if (result.stats.isDirectory()) {
        const regular: boolean[] = [];
        const names = listSent(this.root, relativePath, this.plan.ignore, regular);
        this.stack.push({ folder: relativePath, names, regular, next: 0 });
      }
    } catch (error) {
      result = error as Error;
    }
    this.ready.set(path, result);
    this.window.push(relativePath);
    return true;
  }

  private schedule(): void {
    if (this.scheduled || !this.canLook()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.lookAhead();
    });
  }

  private canLook(): boolean {
    return (
      this.window.length - this.head < LOOKAHEAD_ENTRIES && this.readAheadBytes < READ_AHEAD_BYTES && this.hasMore()
    );
  }

  private lookAhead(): void {
    const endMs = performance.now() + SYNC_SLICE_MS;
    while (this.canLook() && performance.now() < endMs) this.step();
    this.schedule();
  }

  /** The path on disk of a path tar-fs asks for. */
  private real(path: string): string {
    return `${this.root}${path.slice(TAR_FS_ROOT.length)}`;
  }

  /**
   * fetch, for a path its folder listing says is a regular file: open (never following a link), then
   * fstat, which saves the lstat's path lookup. Anything unexpected goes the way of fetch, whose errors
   * name the path; a FIFO swapped in since the listing opens without blocking and is not read.
   */
  private fetchFile(path: string): Fetched {
    let descriptor: number;
    try {
      descriptor = openSync(fsPath(path), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch {
      return this.fetch(path);
    }
    let stats: Stats;
    try {
      stats = fstatSync(descriptor);
    } catch {
      closeSync(descriptor);
      return this.fetch(path);
    }
    const small = stats.isFile() && stats.size > 0 && stats.size <= SMALL_FILE_BYTES;
    if (!small || this.readAheadBytes + stats.size > READ_AHEAD_BYTES) {
      closeSync(descriptor);
      return { stats, content: null };
    }
    const content = readOpen(path, descriptor, stats.size);
    this.readAheadBytes += stats.size;
    return { stats, content };
  }

  private fetch(path: string): Fetched {
    const { stats } = lookAt(path);
    if (!stats.isFile() || stats.size === 0 || stats.size > SMALL_FILE_BYTES) return { stats, content: null };
    if (this.readAheadBytes + stats.size > READ_AHEAD_BYTES) return { stats, content: null };
    const content = readWhole(path, stats.size);
    this.readAheadBytes += stats.size;
    return { stats, content };
  }

  readonly lstat = (path: string, callback: Callback<Stats>): void => {
    const result = this.ready.get(path) ?? new Error(`The packer asked for ${path}, which is not next in its walk`);
    this.ready.delete(path);
    if (result instanceof Error) {
      queueMicrotask(() => callback(result));
      return;
    }
    this.current = { path, fetched: result };
    queueMicrotask(() => callback(null, result.stats));
  };

  /** The walk lists folders itself (see queueForTarFs). */
  readonly readdir = (_path: string, callback: Callback<string[]>): void => {
    queueMicrotask(() => callback(null, []));
  };

  readonly readlink = (path: string, callback: Callback<string>): void => {
    try {
      const target = decodeName(readlinkSync(fsPath(this.real(path)), { encoding: 'buffer' }));
      queueMicrotask(() => callback(null, target));
    } catch (error) {
      queueMicrotask(() => callback(unreadable(this.real(path), error)));
    }
  };

  /**
   * The content of the file tar-fs has just looked at, when it was read ahead whole and is `bytes` long:
   * tar-fs then asks for its read stream, and gets INERT_STREAM.
   */
  takeContent(bytes: number): Buffer | null {
    const content = this.current?.fetched.content;
    if (!content || content.length !== bytes) return null;
    this.taken = (this.current as { path: string }).path;
    this.current = null;
    this.readAheadBytes -= content.length;
    this.schedule();
    return content;
  }

  readonly createReadStream = (path: string): Readable => {
    if (this.taken === path) {
      this.taken = null;
      return INERT_STREAM;
    }
    const current = this.current?.path === path ? this.current.fetched : null;
    this.current = null;
    const bytes = current?.stats.size ?? 0;
    const content = current?.content;
    if (content) {
      const release = () => {
        this.readAheadBytes -= content.length;
        this.schedule();
      };
      let sent = false;
      return new Readable({
        read() {
          if (!sent) {
            sent = true;
            release();
            this.push(content);
          }
          this.push(null);
        },
      });
    }
    if (bytes === 0) return Readable.from([]);
    return new FileChunks(this.real(path), bytes);
  };
}

/**
 * What tar-fs pipes (with pump) from a file read ahead into that file's entry, when the content went to
 * tar-stream's pack.entry(header, buffer) instead: it never emits, so pump never acts on it. A Node
 * Readable, a streamx Sink and the pipe between them cost about a third of the packer's time per small
 * file; tar-stream's buffer path has the same backpressure (the entry ends once the pack drains).
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
 * appended entries last. Its length is what scanContext computed.
 */
export async function packContext(plan: ContextPlan): Promise<Readable> {
  const root = resolve(plan.root);
  const fs = new LookaheadFs(root, plan);
  const entries = fs.queueForTarFs();
  const pack = rawNamePack(PACK_HIGH_WATER_BYTES);
  type Entry = (header: tarStream.Header, ...rest: unknown[]) => unknown;
  const entry = pack.entry.bind(pack) as unknown as Entry;
  // tar-fs asks for an entry it then writes a file's stream into; a file read ahead is handed over whole.
  pack.entry = ((header: tarStream.Header, ...rest: unknown[]) => {
    const content = typeof rest[0] === 'function' && header.type === 'file' ? fs.takeContent(header.size ?? 0) : null;
    if (!content) return entry(header, ...rest);
    entry(header, content, rest[0]);
    return INERT_STREAM;
  }) as unknown as typeof pack.entry;
  return tarFs.pack(TAR_FS_ROOT, {
    fs: fs as never,
    entries,
    pack,
    strict: false,
    umask: 0,
    map: (header) => {
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
 * end-of-archive blocks until the count is right: a context that changed while it was packed never
 * reaches the builder as a complete archive. It also joins tar-stream's small pieces (a 512-byte
 * header, a 1 KiB file, its padding) into chunks of at least COALESCE_BYTES: every chunk costs a write
 * to the socket further down, and 100,000 small files make 300,000 pieces.
 */
export class TarLengthGuard extends Transform {
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly expectedBytes: number,
    private readonly describe: string,
  ) {
    super({ highWaterMark: PACK_HIGH_WATER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expectedBytes) {
      callback(this.changed());
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // The end-of-archive blocks (and whatever is pending with them) wait for _flush.
    const mayPass = this.bytes <= this.expectedBytes - TAR_END_BYTES;
    if (mayPass && this.pendingBytes >= COALESCE_BYTES) {
      const joined = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      callback(null, joined);
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expectedBytes) {
      callback(this.changed());
      return;
    }
    callback(null, Buffer.concat(this.pending, this.pendingBytes));
  }

  private changed(): SlipwayError {
    return new SlipwayError(
      'E_CONTEXT_CHANGED',
      `The context ${this.describe} changed while it was being packed (${this.bytes} bytes packed, ${this.expectedBytes} expected)`,
      { hint: 'Stop whatever is writing into the context, or ignore those files, and build again.' },
    );
  }
}
