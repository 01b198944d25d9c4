/**
 * Exact byte counts of the tar stream Slipway's packer writes (tar-stream's encoder, with the PAX
 * records written as raw bytes, see tar-writer.ts), so upload progress can be exact before a byte is
 * packed: a ustar header when the name fits (ASCII, split at a '/' into a 155-byte prefix and a
 * 100-byte name, ASCII link name up to 100 bytes), else a PAX header first.
 */
import { hasEscapedBytes, nameBytes } from './names';

export const BLOCK_BYTES = 512;

/** The two zero blocks that end every tar stream. */
export const TAR_END_BYTES = 2 * BLOCK_BYTES;

function padded(bytes: number): number {
  return Math.ceil(bytes / BLOCK_BYTES) * BLOCK_BYTES;
}

/** Mirrors tar-stream's headers.encode: null there means a PAX header. */
export function fitsUstar(name: string, linkname: string | undefined): boolean {
  // A name that is not ASCII (which includes any with escaped bytes) needs PAX.
  if (Buffer.byteLength(name) !== name.length) return false;
  if (linkname && hasEscapedBytes(linkname)) return false;
  let rest = name;
  let prefix = '';
  while (rest.length > 100) {
    const slash = rest.indexOf('/');
    if (slash === -1) return false;
    prefix += prefix ? `/${rest.slice(0, slash)}` : rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  if (rest.length > 100 || prefix.length > 155) return false;
  return linkname === undefined || linkname === '' || Buffer.byteLength(linkname) <= 100;
}

/** One PAX record, "<len> key=value\n", where len counts itself. */
export function paxRecordBytes(key: string, valueBytes: number): number {
  const body = Buffer.byteLength(` ${key}=\n`) + valueBytes;
  let digits = String(body).length;
  if (body + digits >= 10 ** digits) digits += 1;
  return body + digits;
}

/** Bytes one entry occupies in the tar stream: header(s) plus content padded to 512. */
export function tarEntryBytes(name: string, contentBytes: number, linkname?: string): number {
  let header = BLOCK_BYTES;
  if (!fitsUstar(name, linkname)) {
    let pax = paxRecordBytes('path', nameBytes(name));
    if (linkname) pax += paxRecordBytes('linkpath', nameBytes(linkname));
    header = BLOCK_BYTES + padded(pax) + BLOCK_BYTES;
  }
  return header + padded(contentBytes);
}
