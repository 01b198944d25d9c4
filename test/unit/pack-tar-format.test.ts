import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { encodeName } from '../../src/core/pack/names';
import { tarEntryBytes } from '../../src/core/pack/tar-size';
import { type TarHeader, TarWriter } from '../../src/core/pack/tar-writer';

// tar-stream is the reference: the packer's own writer must write byte for byte the archive tar-stream's
// public pack() writes for the same entries.

interface Written {
  header: TarHeader;
  content: Buffer;
}

const mtime = new Date('2026-11-26T12:34:56.789Z');
const file = (name: string, content: Buffer, extra: Partial<TarHeader> = {}): Written => ({
  header: { name, type: 'file', size: content.length, mode: 0o100644, mtime, ...extra },
  content,
});
const ENTRIES: Written[] = [
  file('Dockerfile', Buffer.from('FROM scratch\n')),
  file('empty', Buffer.alloc(0), { mode: 0o100600 }),
  { header: { name: 'src', type: 'directory', size: 0, mode: 0o40755, mtime }, content: Buffer.alloc(0) },
  file('src/run.sh', Buffer.alloc(513, 7), { mode: 0o104755 }),
  {
    header: { name: 'link', type: 'symlink', size: 0, linkname: '../outside', mode: 0o120777, mtime },
    content: Buffer.alloc(0),
  },
  file('x'.repeat(100), Buffer.alloc(512, 1)),
  // Longer than 100 bytes: split at a '/' into ustar's prefix and name fields.
  file(`${'d'.repeat(60)}/${'f'.repeat(60)}`, Buffer.from('a')),
  file(`${'p'.repeat(150)}/${'q'.repeat(90)}`, Buffer.from('a')),
  // No '/' to split at, and a prefix over 155 bytes: PAX.
  file('y'.repeat(101), Buffer.from('z')),
  file(`${'p'.repeat(160)}/q`, Buffer.from('a')),
  file('ünïcode.txt', Buffer.from('b')),
  {
    header: { name: 'to-ünïcode', type: 'symlink', size: 0, linkname: 'ünïcode.txt', mode: 0o777, mtime },
    content: Buffer.alloc(0),
  },
  {
    header: { name: 'long-link', type: 'symlink', size: 0, linkname: 'l'.repeat(101), mode: 0o777, mtime },
    content: Buffer.alloc(0),
  },
  { header: { name: 'fifo', type: 'fifo', size: 0, mode: 0o10644, mtime }, content: Buffer.alloc(0) },
  file('epoch', Buffer.from('c'), { mtime: new Date(0) }),
  file('owned', Buffer.from('e'), { uid: 1000, gid: 1000 }),
  file('big-piece', Buffer.alloc(300 * 1024, 3)),
  ...Array.from({ length: 600 }, (_, index) => file(`many/file-${index}`, Buffer.alloc(index % 1500, index % 256))),
];

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The archive tar-stream writes for these entries. */
async function reference(entries: Written[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const bytes = collect(pack as unknown as Readable);
  for (const { header, content } of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...header } as tarStream.Header, content, (error) => (error ? reject(error) : resolve())),
    );
  }
  pack.finalize();
  return bytes;
}

/** The archive the packer's writer writes, and the chunks it pushed. */
function written(entries: Written[], chunkBytes: number): { bytes: Buffer; chunks: number } {
  const chunks: Buffer[] = [];
  const writer = new TarWriter(chunkBytes, (chunk) => {
    chunks.push(Buffer.from(chunk));
    return true;
  });
  for (const { header, content } of entries) writer.entry(header, content);
  writer.end();
  return { bytes: Buffer.concat(chunks), chunks: chunks.length };
}

describe('the archive the packer writes', () => {
  it('is byte for byte the archive tar-stream writes, in a few big chunks', async () => {
    const expected = await reference(ENTRIES);
    const actual = written(ENTRIES, 64 * 1024);
    expect(actual.bytes.length).toBe(expected.length);
    expect(actual.bytes.equals(expected)).toBe(true);
    // One push per 64 KiB chunk, not one per header, file and padding.
    expect(actual.chunks).toBeLessThan(Math.ceil(expected.length / (64 * 1024)) + 5);
  });

  it('has exactly the size the scan computes for every entry', () => {
    for (const entry of ENTRIES) {
      const { bytes } = written([entry], 16 * 1024);
      expect(bytes.length - 1024, entry.header.name).toBe(
        tarEntryBytes(entry.header.name, entry.content.length, entry.header.linkname),
      );
    }
  });

  it('writes the header fields tar-stream writes for sizes and times past 31 bits', async () => {
    const sizes = [0, 1, 0o7777, 0x7fffffff, 0x80000000, 5 * 1024 ** 3 + 7, 8 ** 11 - 1, 8 ** 11, 20 * 1024 ** 3];
    const times = [new Date(0), mtime, new Date(0x7fffffff * 1000)];
    for (const size of sizes) {
      for (const time of times) {
        const header: TarHeader = { name: 'big', type: 'file', mode: 0o100644, size, mtime: time };
        const pack = tarStream.pack();
        // A file given as a stream: tar-stream writes its header at once, before any content.
        pack.entry({ ...header } as tarStream.Header, () => undefined);
        const first = await new Promise<Buffer>((resolve) => pack.once('data', (chunk) => resolve(chunk as Buffer)));
        pack.destroy();
        const blocks: Buffer[] = [];
        const writer = new TarWriter(512, (chunk) => blocks.push(Buffer.from(chunk)) > 0);
        writer.header(header);
        const block = blocks[0] as Buffer;
        expect(block.equals(first.subarray(0, 512)), `size ${size}, mtime ${time.toISOString()}`).toBe(true);
      }
    }
  });

  it('writes a name that is not UTF-8 as its exact bytes in a PAX record, as the docker CLI does', () => {
    const name = `caf${String.fromCharCode(0xdce9)}.txt`; // the byte 0xE9 alone, escaped (see names.ts)
    const { bytes } = written([file(name, Buffer.from('x'))], 16 * 1024);
    expect(bytes[156]).toBe(0x78); // 'x': a PAX extended header first
    const record = Buffer.concat([Buffer.from(' path='), encodeName(name), Buffer.from('\n')]);
    expect(bytes.subarray(512, 1024).includes(record)).toBe(true);
    expect(bytes.subarray(512, 1024).includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e]))).toBe(true);
    expect(bytes.length - 1024).toBe(tarEntryBytes(name, 1));
  });

  it('writes times after 2038 as they are, where tar-stream wraps them to negative numbers', () => {
    const { bytes } = written([file('future', Buffer.from('d'), { mtime: new Date('2100-01-01T00:00:00Z') })], 4096);
    expect(bytes.subarray(136, 148).toString('latin1')).toBe(`${(4102444800).toString(8).padStart(11, '0')} `);
  });

  it('copies every piece it is given, so its buffer may be reused at once', () => {
    const content = Buffer.alloc(1000, 1);
    const chunks: Buffer[] = [];
    const writer = new TarWriter(4096, (chunk) => {
      chunks.push(chunk);
      return true;
    });
    writer.entry(file('a', content).header, content);
    content.fill(2);
    writer.end();
    expect(Buffer.concat(chunks).subarray(512, 1512).equals(Buffer.alloc(1000, 1))).toBe(true);
  });
});
