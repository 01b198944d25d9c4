import type { BufferPool } from './lent-buffers';
import { encodeName } from './names';
import { BLOCK_BYTES, fitsUstar, paxRecordBytes, TAR_END_BYTES } from './tar-size';

/** One entry of a context's archive, as the packer writes it. */
export interface TarHeader {
  /** The path inside the archive; may carry escaped bytes (see names.ts). */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'fifo';
  /** Content bytes: a file's size, 0 for the other types. */
  size: number;
  /** Permission bits (and any file type bits, which the header leaves out). */
  mode: number;
  mtime: Date;
  /** A symlink's target; may carry escaped bytes. */
  linkname?: string;
  uid?: number;
  gid?: number;
}

/** The typeflag byte of each entry type (POSIX ustar), and of the PAX extended header. */
const TYPEFLAGS = { file: 0x30, symlink: 0x32, directory: 0x35, fifo: 0x36, pax: 0x78 } as const;
const MODE_MASK = 0o7777;
const SIZE_DIGITS = 11;
/** Sizes from 8^11 bytes (8 GiB) on do not fit the size field's octal digits: they are written base-256. */
const MAX_OCTAL_SIZE = 8 ** SIZE_DIGITS;
const NAME_BYTES = 100;
const PREFIX_OFFSET = 345;
const ZEROS = Buffer.alloc(TAR_END_BYTES);

/** The parts of a ustar header that are the same in every entry: magic, version, devmajor, devminor. */
const TEMPLATE = (() => {
  const block = Buffer.alloc(BLOCK_BYTES);
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  for (const offset of [329, 337]) block.write('000000 ', offset, 'latin1');
  return block;
})();

/** The sum of the template's bytes, with the checksum field counted as eight spaces. */
const TEMPLATE_SUM = (() => {
  let sum = 8 * 0x20;
  for (let index = 0; index < BLOCK_BYTES; index++) if (index < 148 || index >= 156) sum += TEMPLATE[index] as number;
  return sum;
})();

/** 8 ** digits for the digits of a header's octal fields (6 and 11). */
const OCTAL_LIMITS = Array.from({ length: SIZE_DIGITS + 1 }, (_, digits) => 8 ** digits);

/**
 * Writes `value` as `digits` zero-padded octal digits and a space over a field of zeros; answers what
 * the field adds to the header's checksum. A value too big for the digits is written as all sevens, as
 * the common tar writers do. Integer arithmetic once the value fits in 31 bits (every mode and mtime,
 * most sizes): a float division per digit made this the packer's costliest step per file.
 */
function writeOctal(block: Buffer, offset: number, value: number, digits: number): number {
  // The field's limit from a table: `8 ** digits` is a call of Math.pow per field when digits varies.
  const limit = OCTAL_LIMITS[digits] as number;
  let rest = value >= limit ? limit - 1 : value;
  let sum = 0x20 + 0x30 * digits;
  let at = offset + digits - 1;
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

/** Writes a size of 8 GiB or more in the size field as GNU tar does: 0x80, then the value base-256. */
function writeBase256(block: Buffer, offset: number, value: number): number {
  block[offset] = 0x80;
  let sum = 0x80;
  let rest = value;
  for (let index = 11; index > 0; index--) {
    const byte = rest % 256;
    block[offset + index] = byte;
    sum += byte;
    rest = Math.floor(rest / 256);
  }
  return sum;
}

/** Writes ASCII text (the caller checked it is); answers the sum of its bytes. */
function writeAscii(block: Buffer, offset: number, text: string): number {
  let sum = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    block[offset + index] = code;
    sum += code;
  }
  return sum;
}

/**
 * Splits a name for ustar's name and prefix fields at a '/' (the prefix takes the leading folders); null
 * when it does not split into at most 155 + 100 bytes. The caller checked that the name is ASCII.
 */
function splitName(name: string): { prefix: string; name: string } | null {
  if (name.length <= NAME_BYTES) return { prefix: '', name };
  let rest = name;
  let prefix = '';
  while (rest.length > NAME_BYTES) {
    const slash = rest.indexOf('/');
    if (slash === -1) return null;
    prefix += prefix ? `/${rest.slice(0, slash)}` : rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return prefix.length > 155 ? null : { prefix, name: rest };
}

/**
 * Writes one ustar header block at `offset` (POSIX.1-1988 ustar, as the docker CLI's Go archive/tar
 * and tar-stream write it): name (split into prefix and name when longer than 100 bytes), mode, uid,
 * gid, size, mtime in whole seconds, typeflag, link name, magic "ustar\0" and version "00", the
 * checksum last. The name and link name must fit (see fitsUstar).
 */
function writeUstar(block: Buffer, offset: number, header: TarHeader, typeflag: number, name: string): void {
  block.set(TEMPLATE, offset);
  const split = splitName(name) as { prefix: string; name: string };
  let sum = TEMPLATE_SUM + typeflag + writeAscii(block, offset, split.name);
  if (split.prefix) sum += writeAscii(block, offset + PREFIX_OFFSET, split.prefix);
  if (header.linkname) sum += writeAscii(block, offset + 157, header.linkname);
  sum += writeOctal(block, offset + 100, header.mode & MODE_MASK, 6);
  sum += writeOctal(block, offset + 108, header.uid ?? 0, 6);
  sum += writeOctal(block, offset + 116, header.gid ?? 0, 6);
  sum +=
    header.size < MAX_OCTAL_SIZE
      ? writeOctal(block, offset + 124, header.size, SIZE_DIGITS)
      : writeBase256(block, offset + 124, header.size);
  // Whole seconds; a date before 1970 is written as 0 (ustar's octal field has no sign).
  sum += writeOctal(block, offset + 136, Math.max(0, Math.floor(header.mtime.getTime() / 1000)), SIZE_DIGITS);
  block[offset + 156] = typeflag;
  writeOctal(block, offset + 148, sum, 6);
}

function paxRecord(key: string, value: Buffer): Buffer {
  const length = paxRecordBytes(key, value.length);
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

/**
 * Builds a tar archive into chunks of `chunkBytes` and hands each full chunk to `push` (a Readable's
 * push, which answers whether the reader wants more). Every piece of at most `chunkBytes` (a header, a
 * small file, padding) is copied, so a caller may reuse the buffer it came from at once; bigger pieces
 * pass as they are. 100,000 small files make one push per chunk, not three per file. With a `pool` (of
 * buffers of `chunkBytes`), its chunks come from the pool and are lent to the reader (see lent-buffers.ts).
 */
export class TarWriter {
  private chunk: Buffer;
  private used = 0;
  /** False once a push answered that the reader is full; the caller waits for it to read (setFlowing). */
  flowing = true;

  constructor(
    private readonly chunkBytes: number,
    private readonly push: (chunk: Buffer) => boolean,
    private readonly pool: BufferPool | null = null,
  ) {
    if (pool && pool.bytes !== chunkBytes) throw new Error('A TarWriter pool holds buffers of its chunk size');
    this.chunk = pool ? pool.take() : Buffer.allocUnsafe(chunkBytes);
  }

  /** The reader asked for more. */
  setFlowing(): void {
    this.flowing = true;
  }

  /**
   * Writes an entry's header: one ustar block, or for a name or link name ustar cannot hold (not ASCII,
   * too long) a PAX extended header with the exact bytes first (`path`, `linkpath`), as Go's
   * archive/tar does for the docker CLI.
   */
  header(header: TarHeader): void {
    const typeflag = TYPEFLAGS[header.type];
    if (fitsUstar(header.name, header.linkname)) {
      this.ustar(header, typeflag, header.name);
      return;
    }
    const records = [paxRecord('path', encodeName(header.name))];
    if (header.linkname) records.push(paxRecord('linkpath', encodeName(header.linkname)));
    const pax = Buffer.concat(records);
    const linkname = header.linkname ? 'PaxHeader' : undefined;
    this.ustar({ ...header, size: pax.length, linkname }, TYPEFLAGS.pax, 'PaxHeader');
    this.write(pax);
    this.pad(pax.length);
    this.ustar({ ...header, linkname }, typeflag, 'PaxHeader');
  }

  /**
   * Writes a piece of an entry's content. True when `bytes` was passed on as it is (it is bigger than
   * a chunk); false when it was copied, and the caller may reuse it at once.
   */
  write(bytes: Buffer): boolean {
    if (bytes.length > this.chunkBytes) {
      this.flush();
      this.flowing = this.push(bytes);
      return true;
    }
    if (this.used + bytes.length > this.chunkBytes) this.flush();
    this.chunk.set(bytes, this.used);
    this.used += bytes.length;
    if (this.used === this.chunkBytes) this.flush();
    return false;
  }

  /** Pads content of `bytes` to a whole block. */
  pad(bytes: number): void {
    const rest = bytes % BLOCK_BYTES;
    if (rest > 0) this.write(ZEROS.subarray(0, BLOCK_BYTES - rest));
  }

  /** Writes an entry whose content is all there: header, content, padding. */
  entry(header: TarHeader, content: Buffer | null): void {
    this.header(header);
    if (content && content.length > 0) {
      this.write(content);
      this.pad(content.length);
    }
  }

  /** Writes the two zero blocks that end the archive, and pushes what is left. */
  end(): void {
    this.write(ZEROS);
    this.flush();
  }

  private ustar(header: TarHeader, typeflag: number, name: string): void {
    if (this.used + BLOCK_BYTES > this.chunkBytes) this.flush();
    writeUstar(this.chunk, this.used, header, typeflag, name);
    this.used += BLOCK_BYTES;
    if (this.used === this.chunkBytes) this.flush();
  }

  private flush(): void {
    if (this.used === 0) return;
    const full = this.chunk.subarray(0, this.used);
    this.chunk = this.pool ? this.pool.take() : Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
    this.flowing = this.push(this.pool ? this.pool.lend(full) : full);
  }
}
