import type { Stats } from 'node:fs';
import { type FileHandle, lstat, open, readlink } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import tarFs from 'tar-fs';
import { SlipwayError } from '../../shared/errors';
import { decodeName, fsPath } from './names';
import type { ContextPlan } from './plan';
import { TAR_END_BYTES } from './tar-size';
import { rawNamePack } from './tar-writer';
import { changed, listSent, unreadable } from './walk';

/** Bytes each stage of the pack pipeline (tar-stream's pack, the guard, the counter) may queue. */
export const PACK_HIGH_WATER_BYTES = 1 << 20;
/** Entries whose lstat may run ahead of the packer, and how many at once. */
export const LOOKAHEAD_ENTRIES = 256;
export const LOOKAHEAD_CONCURRENCY = 32;
/** Files at most this big are read whole, ahead of the packer... */
export const SMALL_FILE_BYTES = 256 * 1024;
/** ...within this budget of bytes read but not yet packed. */
export const READ_AHEAD_BYTES = 8 << 20;
/** Bigger files are read in chunks of this size, one chunk ahead. */
export const FILE_CHUNK_BYTES = 1 << 20;

/**
 * The most bytes of file content the packer holds at once, whatever the context's size: the small-file
 * read-ahead, one chunk of a big file being read plus the one tar-stream is passing on, and the
 * high-water marks of the three stages (tar-stream's pack, TarLengthGuard and ProgressCounter, each
 * readable + writable side). About 16 MiB.
 */
export const PACK_MEMORY_BYTES = READ_AHEAD_BYTES + 2 * FILE_CHUNK_BYTES + 5 * PACK_HIGH_WATER_BYTES;

type Callback<T> = (error: Error | null, value?: T) => void;

interface Fetched {
  stats: Stats;
  /** The whole content of a small file, read ahead. */
  content: Buffer | null;
}

async function readWhole(path: string, bytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(fsPath(path), 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const buffer = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const { bytesRead } = await handle.read(buffer, filled, bytes - filled, filled);
      if (bytesRead === 0) throw changed(path, `shrank from ${bytes} to ${filled} bytes`);
      filled += bytesRead;
    }
    return buffer;
  } catch (error) {
    throw unreadable(path, error);
  } finally {
    await handle.close();
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
    open(fsPath(this.path), 'r').then(
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
 * The `fs` tar-fs packs through. tar-fs asks for one entry at a time (lstat, then open/read/close), so
 * per-file latency adds up on many small files; this fs knows the order tar-fs will ask in (its queue is
 * first in, first out, fed by readdir) and runs lstats and whole reads of small files ahead of it,
 * bounded by LOOKAHEAD_ENTRIES and READ_AHEAD_BYTES. readdir answers with what the docker CLI would send.
 */
class LookaheadFs {
  /** Absolute paths in the order tar-fs will lstat them; [head, end) is still to come. */
  private queue: string[] = [];
  private head = 0;
  private started = 0;
  private inFlight = 0;
  private readAheadBytes = 0;
  private readonly fetched = new Map<string, Promise<Fetched>>();
  private current: { path: string; fetched: Fetched } | null = null;

  constructor(
    private readonly root: string,
    private readonly plan: ContextPlan,
  ) {}

  expect(paths: string[]): void {
    for (const path of paths) this.queue.push(path);
    this.pump();
  }

  private pump(): void {
    while (
      this.started < this.queue.length &&
      this.started - this.head < LOOKAHEAD_ENTRIES &&
      this.inFlight < LOOKAHEAD_CONCURRENCY &&
      this.readAheadBytes < READ_AHEAD_BYTES
    ) {
      const path = this.queue[this.started++] as string;
      this.inFlight += 1;
      const fetching = this.fetch(path).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
      fetching.catch(() => undefined); // Awaited by lstat; a pack destroyed first never asks.
      this.fetched.set(path, fetching);
    }
    // tar-fs's queue only ever grows at the end; drop what it has consumed now and then.
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.started -= this.head;
      this.head = 0;
    }
  }

  private async fetch(path: string): Promise<Fetched> {
    let stats: Stats;
    try {
      stats = await lstat(fsPath(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw changed(path, 'vanished');
      throw unreadable(path, error);
    }
    if (!stats.isFile() || stats.size === 0 || stats.size > SMALL_FILE_BYTES) return { stats, content: null };
    if (this.readAheadBytes + stats.size > READ_AHEAD_BYTES) return { stats, content: null };
    this.readAheadBytes += stats.size;
    try {
      return { stats, content: await readWhole(path, stats.size) };
    } catch (error) {
      this.readAheadBytes -= stats.size;
      throw error;
    }
  }

  readonly lstat = (path: string, callback: Callback<Stats>): void => {
    let fetching = this.fetched.get(path);
    if (fetching) {
      this.fetched.delete(path);
    } else {
      fetching = this.fetch(path);
      if (this.started === this.head && this.queue[this.head] === path) this.started += 1;
    }
    if (this.queue[this.head] === path) this.head += 1;
    fetching.then(
      (fetched) => {
        this.current = { path, fetched };
        callback(null, fetched.stats);
      },
      (error: Error) => callback(error),
    );
    this.pump();
  };

  readonly readdir = (path: string, callback: Callback<string[]>): void => {
    const folder = relative(this.root, path).split('\\').join('/') || '.';
    listSent(this.root, folder, this.plan.ignore).then(
      (names) => {
        this.expect(names.map((name) => join(path, name)));
        callback(null, names);
      },
      (error: Error) => callback(error),
    );
  };

  readonly readlink = (path: string, callback: Callback<string>): void => {
    readlink(fsPath(path), { encoding: 'buffer' }).then(
      (target) => callback(null, decodeName(target)),
      (error) => callback(unreadable(path, error)),
    );
  };

  readonly createReadStream = (path: string): Readable => {
    const current = this.current?.path === path ? this.current.fetched : null;
    this.current = null;
    const bytes = current?.stats.size ?? 0;
    const content = current?.content;
    if (content) {
      const release = () => {
        this.readAheadBytes -= content.length;
        this.pump();
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
    return new FileChunks(path, bytes);
  };
}

/**
 * Packs a context with tar-fs exactly as the docker CLI sends it (see ignore.ts): the root folder not
 * sent, links stored as links, FIFOs and sockets skipped, owners 0:0, modes as on disk, and the plan's
 * appended entries last. Its length is what scanContext computed.
 */
export async function packContext(plan: ContextPlan): Promise<Readable> {
  const root = resolve(plan.root);
  const fs = new LookaheadFs(root, plan);
  const entries = await listSent(root, '.', plan.ignore);
  fs.expect(entries.map((name) => join(root, name)));
  const pack = rawNamePack(PACK_HIGH_WATER_BYTES);
  return tarFs.pack(root, {
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
 * reaches the builder as a complete archive.
 */
export class TarLengthGuard extends Transform {
  bytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;

  constructor(
    private readonly expectedBytes: number,
    private readonly describe: string,
  ) {
    super({ highWaterMark: PACK_HIGH_WATER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const before = this.bytes;
    this.bytes += chunk.length;
    if (this.bytes > this.expectedBytes) {
      callback(this.changed());
      return;
    }
    const holdFrom = this.expectedBytes - TAR_END_BYTES;
    if (this.bytes <= holdFrom) {
      callback(null, chunk);
      return;
    }
    const passBytes = Math.max(0, holdFrom - before);
    if (passBytes > 0) this.push(chunk.subarray(0, passBytes));
    const held = chunk.subarray(passBytes);
    this.tail.push(held);
    this.tailBytes += held.length;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expectedBytes) {
      callback(this.changed());
      return;
    }
    callback(null, Buffer.concat(this.tail, this.tailBytes));
  }

  private changed(): SlipwayError {
    return new SlipwayError(
      'E_CONTEXT_CHANGED',
      `The context ${this.describe} changed while it was being packed (${this.bytes} bytes packed, ${this.expectedBytes} expected)`,
      { hint: 'Stop whatever is writing into the context, or ignore those files, and build again.' },
    );
  }
}
