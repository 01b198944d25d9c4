import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { SlipwayError } from '../../shared/errors';
import type { WalkEntry } from './walk';

/**
 * The scan's spool: every entry the scan saw and the packer will send, in order, with what lstat said
 * of it (and a link's target), in a file beside the build. The packer's read-ahead reads it back while
 * the scan is still writing it, so the context is walked once: the packer opens and reads small files
 * and makes no other call to the disk, and the tar holds exactly the entries, modes and sizes the scan
 * counted. On disk, not in memory: it grows with the number of files (about 30 bytes plus the path's
 * length per entry, twice that for a path with characters past U+00FF).
 */

/**
 * What an entry of the spool (and of a read-ahead batch) is. A FIFO is sent as a FIFO entry, with no
 * content, as the docker CLI sends it; sockets and devices are left out.
 */
export const EntryKind = { file: 0, directory: 1, symlink: 2, fifo: 3 } as const;

/** One entry as the scan saw it. */
export interface SpoolEntry {
  kind: number;
  mode: number;
  size: number;
  mtimeMs: number;
  path: string;
  linkname: string | undefined;
}

/**
 * How far the spool is written, shared by the scan worker and the read-ahead worker: a version bumped
 * on every change (what Atomics.wait waits on), the bytes written, and the state.
 */
const VERSION = 0;
const WRITTEN = 1;
const STATE = 2;
const RUNNING = 0n;
const DONE = 1n;
const FAILED = 2n;

/** A spool file and its shared progress, as both workers get them. */
export interface ScanSpool {
  path: string;
  progress: SharedArrayBuffer;
  /**
   * True when the spool was written whole, on the caller's thread, before anyone reads it (a small
   * context, see startScan): its read-ahead runs on that thread too, without a worker.
   */
  complete?: boolean;
}

export function newSpoolProgress(): SharedArrayBuffer {
  return new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT);
}

/** Atomics.waitAsync (Node 16 and later), which TypeScript's ES2023 library does not declare. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: BigInt64Array, index: number, value: bigint): { value: Promise<string> | string };
  }
).waitAsync;

/** kind (1) mode (4) size (8) mtime (8) path length in UTF-16 units (4) link length (4). */
const FIXED_BYTES = 29;
/**
 * Set in the kind byte when the path and link are stored as UTF-16; otherwise every character is below
 * U+0100 and they are stored one byte each (latin1), which is half the bytes, and strings that take
 * half the memory once read back.
 */
const WIDE = 0x80;
const WIDE_CHARACTER = /[\u0100-\uffff]/;
/** Writes go to disk in blocks of about this size. */
const BLOCK_BYTES = 64 * 1024;

function spoolError(path: string, error: unknown): SlipwayError {
  const code = (error as NodeJS.ErrnoException).code;
  return new SlipwayError(
    code === 'ENOSPC' ? 'E_SPOOL_DISK_FULL' : 'E_SPOOL_WRITE',
    `Cannot write the scan's spool ${path}: ${code ?? String(error)}`,
    { hint: 'Free some space on the disk of the temporary folder (TMPDIR), or point TMPDIR elsewhere.', cause: error },
  );
}

/**
 * Writes the spool, in the scan worker. Paths are stored as latin1 or UTF-16 code units (see WIDE), so a
 * name that is not UTF-8 (escaped, see names.ts) comes back exactly.
 */
export class SpoolWriter {
  private readonly descriptor: number;
  private readonly shared: BigInt64Array;
  private block = Buffer.allocUnsafe(BLOCK_BYTES);
  private used = 0;
  private written = 0;
  /** Once finished, the descriptor is closed: another finish must not close that number again. */
  private finished = false;

  constructor(private readonly spool: ScanSpool) {
    this.shared = new BigInt64Array(spool.progress);
    try {
      this.descriptor = openSync(spool.path, 'w', 0o600);
    } catch (error) {
      throw spoolError(spool.path, error);
    }
  }

  add(entry: WalkEntry): void {
    const { stats, path, linkname } = entry;
    const kind = stats.isFile()
      ? EntryKind.file
      : stats.isDirectory()
        ? EntryKind.directory
        : stats.isSymbolicLink()
          ? EntryKind.symlink
          : stats.isFIFO()
            ? EntryKind.fifo
            : null;
    if (kind === null) return;
    const link = linkname ?? '';
    const wide = WIDE_CHARACTER.test(path) || WIDE_CHARACTER.test(link);
    const bytes = FIXED_BYTES + (wide ? 2 : 1) * (path.length + link.length);
    if (this.used + bytes > this.block.length) {
      this.write();
      if (bytes > this.block.length) this.block = Buffer.allocUnsafe(bytes);
    }
    const block = this.block;
    let at = this.used;
    block[at] = wide ? kind | WIDE : kind;
    block.writeUInt32LE(stats.mode, at + 1);
    block.writeDoubleLE(kind === EntryKind.file ? stats.size : 0, at + 5);
    block.writeDoubleLE(stats.mtimeMs, at + 13);
    block.writeUInt32LE(path.length, at + 21);
    block.writeUInt32LE(link.length, at + 25);
    at += FIXED_BYTES;
    const encoding = wide ? 'utf16le' : 'latin1';
    at += block.write(path, at, encoding);
    at += block.write(link, at, encoding);
    this.used = at;
  }

  /** Writes what is held and tells the reader how far the spool goes. */
  publish(): void {
    this.write();
    this.signal(RUNNING);
  }

  /** Closes the spool; `failed` tells the reader the scan broke off (the scan's own error says why). */
  finish(failed: boolean): void {
    if (this.finished) return;
    this.finished = true;
    let written = false;
    try {
      if (!failed) this.write();
      written = !failed;
    } finally {
      closeSync(this.descriptor);
      this.signal(written ? DONE : FAILED);
    }
  }

  private write(): void {
    let offset = 0;
    try {
      while (offset < this.used) offset += writeSync(this.descriptor, this.block, offset, this.used - offset);
    } catch (error) {
      throw spoolError(this.spool.path, error);
    }
    this.written += this.used;
    this.used = 0;
  }

  private signal(state: bigint): void {
    Atomics.store(this.shared, WRITTEN, BigInt(this.written));
    Atomics.store(this.shared, STATE, state);
    Atomics.add(this.shared, VERSION, 1n);
    Atomics.notify(this.shared, VERSION);
  }
}

/** Reads the spool back, in the read-ahead worker, no further than the scan has written it. */
export class SpoolReader {
  private readonly descriptor: number;
  private closed = false;
  private readonly shared: BigInt64Array;
  private block = Buffer.alloc(0);
  private at = 0;
  /** Bytes of the file read into `block` so far. */
  private read = 0;

  constructor(spool: ScanSpool) {
    this.shared = new BigInt64Array(spool.progress);
    this.descriptor = openSync(spool.path, 'r');
  }

  /**
   * The next entry; 'wait' when the scan has not written it yet (see changed()), null after the last
   * one, and an error when the scan broke off.
   */
  next(): SpoolEntry | 'wait' | null {
    if (!this.holds(FIXED_BYTES) || !this.holds(this.recordBytes())) {
      const state = Atomics.load(this.shared, STATE);
      const written = Number(Atomics.load(this.shared, WRITTEN));
      if (written > this.read) {
        this.fill(written);
        return this.next();
      }
      if (state === RUNNING) return 'wait';
      if (state === FAILED) throw new Error('The scan broke off');
      return null;
    }
    const block = this.block;
    const at = this.at;
    const wide = this.isWide();
    const kind = (block[at] as number) & ~WIDE;
    const unit = wide ? 2 : 1;
    const encoding = wide ? 'utf16le' : 'latin1';
    const pathStart = at + FIXED_BYTES;
    const linkStart = pathStart + unit * block.readUInt32LE(at + 21);
    this.at = linkStart + unit * block.readUInt32LE(at + 25);
    return {
      kind,
      mode: block.readUInt32LE(at + 1),
      size: block.readDoubleLE(at + 5),
      mtimeMs: block.readDoubleLE(at + 13),
      path: block.toString(encoding, pathStart, linkStart),
      linkname: kind === EntryKind.symlink ? block.toString(encoding, linkStart, this.at) : undefined,
    };
  }

  /** Resolves when the scan has written more, or finished, since the last look. */
  async changed(): Promise<void> {
    const version = Atomics.load(this.shared, VERSION);
    if (this.read < Number(Atomics.load(this.shared, WRITTEN)) || Atomics.load(this.shared, STATE) !== RUNNING) return;
    await waitAsync(this.shared, VERSION, version).value;
  }

  /** Closes the spool; harmless once closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.descriptor);
  }

  private holds(bytes: number): boolean {
    return this.block.length - this.at >= bytes;
  }

  /** True when the current record's path and link are stored as UTF-16 (see WIDE). */
  private isWide(): boolean {
    return ((this.block[this.at] as number) & WIDE) !== 0;
  }

  private recordBytes(): number {
    const unit = this.isWide() ? 2 : 1;
    return FIXED_BYTES + unit * (this.block.readUInt32LE(this.at + 21) + this.block.readUInt32LE(this.at + 25));
  }

  /** Reads on from the file, up to `written`, keeping what is left of the current block. */
  private fill(written: number): void {
    const rest = this.block.subarray(this.at);
    const wanted = Math.min(written - this.read, Math.max(BLOCK_BYTES, 4 * rest.length));
    const block = Buffer.allocUnsafe(rest.length + wanted);
    rest.copy(block);
    let filled = 0;
    while (filled < wanted) {
      const got = readSync(this.descriptor, block, rest.length + filled, wanted - filled, this.read + filled);
      if (got === 0) throw new Error(`The scan's spool ended at ${this.read + filled} bytes, short of ${written}`);
      filled += got;
    }
    this.read += filled;
    this.block = block;
    this.at = 0;
  }
}
