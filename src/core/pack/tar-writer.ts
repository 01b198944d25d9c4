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
}

/** tar-stream's Pack with the two internal steps this module replaces (pinned version 3.2.x). */
interface PackInternals {
  _encode(header: EntryHeader): void;
  _encodePax(header: EntryHeader): void;
  push(chunk: Buffer | null): boolean;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const length = paxRecordBytes(key, value.length);
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

/**
 * A tar-stream pack whose PAX records carry names as raw bytes. tar-stream writes them as UTF-8 text,
 * which cannot hold a file name that is not UTF-8; the docker CLI (Go's archive/tar) writes the bytes.
 * Everything else, ustar headers included, is tar-stream's own encoder.
 */
export function rawNamePack(highWaterMarkBytes: number): tarStream.Pack {
  const pack = tarStream.pack({ highWaterMark: highWaterMarkBytes } as never);
  const internals = pack as unknown as PackInternals;
  const encode = internals._encode.bind(pack);
  internals._encode = (header) => {
    if (hasEscapedBytes(header.name) || (header.linkname && hasEscapedBytes(header.linkname))) {
      internals._encodePax(header);
    } else {
      encode(header);
    }
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
  return pack;
}
