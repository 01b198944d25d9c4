import { closeSync, constants, openSync, readSync } from 'node:fs';
import { type ErrorInfo, toErrorInfo } from '../../shared/errors';
import { fsPath } from './names';
import { EntryKind, type ScanSpool, SpoolReader } from './scan-spool';
import { changed, unreadable } from './walk';

/** Files at most this big are read whole by the read-ahead; bigger ones are read in chunks by the packer. */
export const SMALL_FILE_BYTES = 256 * 1024;
/** A batch is sent once the content read into it reaches this size... */
export const BATCH_CONTENT_BYTES = 512 * 1024;
/** ...or once it holds this many entries. */
export const BATCH_ENTRIES = 2048;
/** Batches the read-ahead may have sent that the packer has not finished with. */
export const READ_AHEAD_BATCHES = 3;
/**
 * The memory one batch can hold: its content (one small file may overshoot the target, and its read
 * asks for one byte more, see readSmallFile) and its paths.
 */
export const BATCH_BYTES = BATCH_CONTENT_BYTES + SMALL_FILE_BYTES + 1;

/** Numbers per entry in a batch's `fields`: kind, mode, size, mtime (ms), content offset (-1: not read). */
export const ENTRY_FIELDS = 5;

/**
 * Entries of the scan's spool, in the order the packer writes them, as the read-ahead worker sends
 * them: the numbers in one typed array and the content of small files in one buffer, both
 * transferred, not copied.
 */
export interface ReadAheadBatch {
  /**
   * Relative paths, '/'-separated, one per entry, joined by NUL (which no name holds): one string
   * crosses to the packer's thread much faster than thousands.
   */
  paths: string;
  entries: number;
  fields: Float64Array;
  /** The target of each symlink entry, in order. */
  linknames: string[];
  content: ArrayBuffer;
  /** What stopped the read-ahead after these entries (an unreadable or vanished file), in the last batch. */
  error: ErrorInfo | null;
  /** True on the last batch. */
  done: boolean;
}

/**
 * Reads the entries of the scan's spool in order and small files whole, into batches. Runs in the
 * read-ahead worker (see pack-worker.ts), so that the syscalls of a context of many small files run on
 * another core than the packer: open, read and close per small file, nothing for folders, links and
 * big files (the packer reads those in chunks).
 */
export class ReadAheadWalk {
  private readonly reader: SpoolReader;
  private error: ErrorInfo | null = null;
  private done = false;

  constructor(
    private readonly root: string,
    spool: ScanSpool,
  ) {
    this.reader = new SpoolReader(spool);
  }

  /**
   * The next batch, read into `buffer` (one the packer is done with) or a new one; 'wait' when the
   * scan has written nothing new yet (see waitForScan).
   */
  next(buffer?: ArrayBuffer): { batch: ReadAheadBatch; transfer: ArrayBuffer[] } | 'wait' {
    const content = buffer ?? new ArrayBuffer(BATCH_BYTES);
    const bytes = new Uint8Array(content);
    const paths: string[] = [];
    const linknames: string[] = [];
    const fields: number[] = [];
    let used = 0;
    while (!this.error && !this.done && used < BATCH_CONTENT_BYTES && paths.length < BATCH_ENTRIES) {
      try {
        const entry = this.reader.next();
        if (entry === 'wait') {
          if (paths.length === 0) return 'wait';
          break;
        }
        if (entry === null) {
          this.done = true;
          break;
        }
        let offset = -1;
        if (entry.kind === EntryKind.file && entry.size <= SMALL_FILE_BYTES) {
          readSmallFile(`${this.root}/${entry.path}`, bytes, used, entry.size);
          offset = used;
          used += entry.size;
        }
        if (entry.kind === EntryKind.symlink) linknames.push(entry.linkname ?? '');
        paths.push(entry.path);
        fields.push(entry.kind, entry.mode, entry.size, entry.mtimeMs, offset);
      } catch (error) {
        this.error = toErrorInfo(error);
      }
    }
    const done = this.done || this.error !== null;
    if (done) this.close();
    const numbers = new Float64Array(fields);
    const batch: ReadAheadBatch = {
      paths: paths.join('\0'),
      entries: paths.length,
      fields: numbers,
      linknames,
      content,
      error: this.error,
      done,
    };
    return { batch, transfer: [content, numbers.buffer as ArrayBuffer] };
  }

  /** Stops reading: closes the spool (the packer has stopped, or the walk is done). */
  close(): void {
    this.reader.close();
  }

  /** Resolves once the scan has written more of the spool, or finished. */
  waitForScan(): Promise<void> {
    return this.reader.changed();
  }
}

/**
 * Reads a small file the scan saw whole, exactly `size` bytes of it, into `target` at `offset`. The
 * open never follows a link and never blocks on a FIFO swapped in since the scan; a file that vanished,
 * shrank or became something else since is an error naming it.
 */
export function readSmallFile(path: string, target: Uint8Array, offset: number, size: number): void {
  let descriptor: number;
  try {
    descriptor = openSync(fsPath(path), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw changed(path, 'vanished');
    if (code === 'ELOOP') throw changed(path, 'became a link');
    throw unreadable(path, error);
  }
  try {
    // One byte more than the scan saw is asked for (the batch has room for it, see BATCH_BYTES): a file
    // that grew says so in the same read, and a read that stops short at the scanned size is its end.
    let filled = 0;
    for (;;) {
      const read = readSync(descriptor, target, offset + filled, size + 1 - filled, filled);
      if (read === 0 && filled < size) throw changed(path, `shrank from ${size} to ${filled} bytes`);
      filled += read;
      if (filled > size) throw changed(path, `grew past the ${size} bytes the scan saw`);
      if (filled === size) break;
    }
  } catch (error) {
    throw unreadable(path, error);
  } finally {
    closeSync(descriptor);
  }
}
