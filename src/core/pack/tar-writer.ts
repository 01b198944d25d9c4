import { Writable } from 'node:stream';
import tarStream from 'tar-stream';
import { encodeName, hasEscapedBytes } from './names';
import { BLOCK_BYTES, paxRecordBytes } from './tar-size';

interface EntryHeader {
  name: string;
  linkname?: string | null;
  size?: number;
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  pax?: unknown;
}

/** tar-stream's Pack with the internal steps and state this module uses (pinned version 3.2.x). */
interface PackInternals {
  /** The entry being written, and those waiting for it: an entry written whole needs both empty. */
  _stream: unknown;
  _pending: unknown[];
  _finalized: boolean;
  destroying: boolean;
  /** What the pack calls when it has room again (a full pack holds the entry's callback here). */
  _drain: () => void;
  /** Ends the entry that holds the pack: the next one waiting starts, or a finalize() that waited. */
  _done(entry: unknown): void;
  entry(header: EntryHeader, ...rest: unknown[]): unknown;
  _encode(header: EntryHeader): void;
  _encodePax(header: EntryHeader): void;
  _read(callback: () => void): void;
  push(chunk: Buffer | null): boolean;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const length = paxRecordBytes(key, value.length);
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

const ZEROS = Buffer.alloc(BLOCK_BYTES);

/** The typeflag byte of each entry type the packer writes; anything else goes to tar-stream's encoder. */
const TYPEFLAGS: Record<string, number> = { file: 0x30, symlink: 0x32, directory: 0x35 };
/** Octal fields the fast path writes whole: they hold values below 8^digits. */
const MODE_MASK = 0o7777;
const SIZE_DIGITS = 11;
const MAX_OCTAL_SIZE = 8 ** SIZE_DIGITS;

/**
 * The parts of a ustar header that are the same in every entry tar-stream writes for the packer: the
 * magic and version, devmajor and devminor of 0. uid and gid are 0 in every entry (see packContext).
 */
const TEMPLATE = (() => {
  const block = Buffer.alloc(BLOCK_BYTES);
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  for (const offset of [108, 116, 329, 337]) block.write('000000 ', offset, 'latin1');
  return block;
})();

/** The sum of the template's bytes, with the checksum field counted as eight spaces. */
const TEMPLATE_SUM = (() => {
  let sum = 8 * 0x20;
  for (let index = 0; index < BLOCK_BYTES; index++) if (index < 148 || index >= 156) sum += TEMPLATE[index] as number;
  return sum;
})();

/**
 * Writes `value` as `digits` zero-padded octal digits and a space, as tar-stream's encodeOct does, over
 * a field that holds zeros in the template; answers what the field adds to the header's checksum.
 * Integer arithmetic once the value fits in 31 bits (every mode and mtime, most sizes): a float
 * division per digit made this the packer's costliest step per file.
 */
function writeOctal(block: Buffer, offset: number, value: number, digits: number): number {
  let sum = 0x20 + 0x30 * digits;
  let at = offset + digits - 1;
  let rest = value;
  while (rest > 0x7fffffff) {
    const digit = rest % 8;
    block[at--] = 0x30 + digit;
    sum += digit;
    rest = (rest - digit) / 8;
  }
  while (at >= offset) {
    const digit = rest & 7;
    block[at--] = 0x30 + digit;
    sum += digit;
    rest >>>= 3;
  }
  block[offset + digits] = 0x20;
  return sum;
}

/**
 * Writes a string of printable ASCII; answers the sum of its bytes, or -1 as soon as it meets any
 * other character (what is written by then is left for the caller to overwrite).
 */
function writeAscii(block: Buffer, offset: number, text: string): number {
  let sum = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code > 0x7e) return -1;
    block[offset + index] = code;
    sum += code;
  }
  return sum;
}

/**
 * Writes a ustar header at `offset` exactly as tar-stream's headers.encode would, for the entries that
 * most contexts are made of: an ASCII name of at most 100 bytes (no prefix field), a file, folder or
 * link with uid and gid 0 and a size below 8 GiB. False for anything else, which tar-stream encodes.
 */
export function encodeUstar(block: Buffer, offset: number, header: EntryHeader): boolean {
  const typeflag = TYPEFLAGS[header.type ?? ''];
  const { name, linkname } = header;
  const size = header.size ?? 0;
  // tar-stream's own arithmetic, which wraps past 2038: the fast path takes only what it writes plainly.
  const mtimeSeconds = ((header.mtime as Date).getTime() / 1000) | 0;
  if (
    typeflag === undefined ||
    header.pax ||
    header.uid ||
    header.gid ||
    name.length > 100 ||
    size >= MAX_OCTAL_SIZE ||
    mtimeSeconds < 0 ||
    (linkname && linkname.length > 100)
  ) {
    return false;
  }
  block.set(TEMPLATE, offset);
  const nameSum = writeAscii(block, offset, name);
  const linkSum = linkname ? writeAscii(block, offset + 157, linkname) : 0;
  if (nameSum < 0 || linkSum < 0) return false;
  let sum = TEMPLATE_SUM + typeflag + nameSum + linkSum;
  sum += writeOctal(block, offset + 100, (header.mode ?? 0) & MODE_MASK, 6);
  sum += writeOctal(block, offset + 124, size, SIZE_DIGITS);
  sum += writeOctal(block, offset + 136, mtimeSeconds, SIZE_DIGITS);
  block[offset + 156] = typeflag;
  writeOctal(block, offset + 148, sum, 6);
  return true;
}

/**
 * The tar-stream pack the packer writes through, with four of its internal steps replaced (pinned
 * version 3.2.x):
 * - Names that are not UTF-8 go in PAX records as raw bytes. tar-stream writes them as UTF-8 text,
 *   which cannot hold such a name; the docker CLI (Go's archive/tar) writes the bytes.
 * - Every piece tar-stream pushes (a 512-byte header, a 1 KiB file, its padding) is copied into chunks
 *   of `chunkBytes`; only bigger pieces pass as they are. So the packer may reuse the buffer a piece
 *   of at most `chunkBytes` came from once tar-stream has taken it (see ReadAheadFs). Each push costs a turn of
 *   tar-stream's stream machinery and of every stage after it, and 100,000 small files make 300,000
 *   pieces. Backpressure is kept: a push answers false while the stream is full, whatever was copied.
 * - Common ustar headers (see encodeUstar) are written straight into the chunk, byte for byte what
 *   tar-stream writes; the rest go to tar-stream's encoder.
 * - An entry whose content is all there (a folder, a link, a file given as a buffer) is written whole
 *   (see writeWhole) when no entry is in progress, without the writable stream tar-stream makes for
 *   every entry. An entry given as a stream (a big file) goes through tar-stream as before.
 */
export function tarPack(chunkBytes: number): tarStream.Pack {
  const pack = tarStream.pack({ highWaterMark: chunkBytes } as never);
  const internals = pack as unknown as PackInternals;
  const push = internals.push.bind(pack);
  const encode = internals._encode.bind(pack);
  const read = internals._read.bind(pack);
  let chunk = Buffer.allocUnsafe(chunkBytes);
  let used = 0;
  let flowing = true;
  const flush = () => {
    if (used === 0) return;
    const full = chunk.subarray(0, used);
    chunk = Buffer.allocUnsafe(chunkBytes);
    used = 0;
    flowing = push(full);
  };
  // The stream asks for more once it has room again: from then on pushes say so, until one fills it.
  internals._read = (callback) => {
    flowing = true;
    read(callback);
  };
  internals.push = (data) => {
    if (data === null) {
      flush();
      return push(null);
    }
    if (data.length > chunkBytes) {
      flush();
      flowing = push(data);
      return flowing;
    }
    if (used + data.length > chunkBytes) flush();
    chunk.set(data, used);
    used += data.length;
    if (used === chunkBytes) flush();
    return flowing;
  };
  internals._encode = (header) => {
    if (hasEscapedBytes(header.name) || (header.linkname && hasEscapedBytes(header.linkname))) {
      internals._encodePax(header);
      return;
    }
    if (used + BLOCK_BYTES > chunkBytes) flush();
    if (!encodeUstar(chunk, used, header)) {
      encode(header);
      return;
    }
    used += BLOCK_BYTES;
    if (used === chunkBytes) flush();
  };
  internals._encodePax = (header) => {
    const records = [paxRecord('path', encodeName(header.name))];
    if (header.linkname) records.push(paxRecord('linkpath', encodeName(header.linkname)));
    const pax = Buffer.concat(records);
    const base = { mode: header.mode, uid: header.uid, gid: header.gid, mtime: header.mtime };
    const linkname = header.linkname ? 'PaxHeader' : undefined;
    encode({ ...base, name: 'PaxHeader', type: 'pax-header', size: pax.length, linkname });
    internals.push(pax);
    const rest = pax.length % BLOCK_BYTES;
    if (rest > 0) internals.push(Buffer.alloc(BLOCK_BYTES - rest));
    encode({ ...base, name: 'PaxHeader', type: header.type, size: header.size, linkname });
  };
  const entry = internals.entry.bind(pack);
  /**
   * Writes an entry as tar-stream's entry() would, and answers true, when it can be written at once:
   * its header, its content and the padding to a whole block. The callback comes once the pack has
   * room again, as tar-stream's own would.
   */
  const writeWhole = (header: EntryHeader, content: Buffer | null, callback: unknown): boolean => {
    const whole = content
      ? header.type === 'file'
      : header.type === 'directory' || (header.type === 'symlink' && !!header.linkname);
    if (
      !whole ||
      typeof callback !== 'function' ||
      internals._stream !== null ||
      internals._pending.length > 0 ||
      internals._finalized ||
      internals.destroying
    ) {
      return false;
    }
    // tar-stream's defaults for what the header leaves out.
    header.size = content ? content.length : 0;
    header.mode ||= header.type === 'directory' ? 0o755 : 0o644;
    header.uid ||= 0;
    header.gid ||= 0;
    header.mtime ??= new Date();
    internals._encode(header);
    if (content && content.length > 0) {
      internals.push(content);
      const rest = content.length % BLOCK_BYTES;
      if (rest > 0) internals.push(ZEROS.subarray(0, BLOCK_BYTES - rest));
    }
    const done = callback as (error: Error | null) => void;
    if (flowing) {
      queueMicrotask(() => done(internals.destroying ? new Error('tar entry destroyed') : null));
      return true;
    }
    // The pack is full: the entry holds the pack, as tar-stream's own entry would until it ends, so
    // that what comes next waits behind it (later entries, finalize()). Room again ends it and calls
    // back; destroy() ends it with the error.
    let settled = false;
    const held = {
      // Called inside destroy(); tar-stream's own entry calls back a turn later, and so does this one.
      destroy: (error?: Error) => {
        if (settled) return;
        settled = true;
        queueMicrotask(() => done(error ?? new Error('tar entry destroyed')));
      },
    };
    internals._stream = held;
    internals._drain = () => {
      if (settled) return;
      settled = true;
      internals._done(held);
      done(null);
    };
    return true;
  };
  // Answers null for an entry written whole: there is no stream to write into, and none is needed.
  internals.entry = (header, ...rest) => {
    // tar-fs stops once the pack is `destroyed`, which comes a turn after destroy(); tar-stream throws
    // at an entry asked for in between. Such an entry is dropped: its stream is already destroyed, so
    // whatever tar-fs pipes into it is destroyed too (a big file's reader closes its file). A pack that
    // ended normally still throws, as tar-stream's does.
    if (internals.destroying && !internals._finalized) return new Writable().destroy();
    const content = Buffer.isBuffer(rest[0]) ? rest[0] : null;
    if (writeWhole(header, content, content ? rest[1] : rest[0])) return null;
    return entry(header, ...rest);
  };
  return pack;
}
