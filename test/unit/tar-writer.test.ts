import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { encodeUstar, tarPack } from '../../src/core/pack/tar-writer';

// tar-stream's own header encoder, which its package does not export: the reference for encodeUstar.
const require = createRequire(import.meta.url);
const headers = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as {
  encode(header: object): Buffer;
};

interface Written {
  header: Partial<tarStream.Header> & { name: string };
  content: Buffer;
}

const mtime = new Date('2026-11-26T12:34:56.789Z');
const ENTRIES: Written[] = [
  { header: { name: 'Dockerfile', type: 'file', mode: 0o100644, mtime }, content: Buffer.from('FROM scratch\n') },
  { header: { name: 'empty', type: 'file', mode: 0o100600, mtime }, content: Buffer.alloc(0) },
  { header: { name: 'src', type: 'directory', mode: 0o40755, mtime }, content: Buffer.alloc(0) },
  { header: { name: 'src/run.sh', type: 'file', mode: 0o104755, mtime }, content: Buffer.alloc(513, 7) },
  {
    header: { name: 'link', type: 'symlink', linkname: '../outside', mode: 0o120777, mtime },
    content: Buffer.alloc(0),
  },
  { header: { name: 'x'.repeat(100), type: 'file', mode: 0o644, mtime }, content: Buffer.alloc(512, 1) },
  {
    header: { name: `${'d'.repeat(60)}/${'f'.repeat(60)}`, type: 'file', mode: 0o644, mtime },
    content: Buffer.from('a'),
  },
  { header: { name: 'ünïcode.txt', type: 'file', mode: 0o644, mtime }, content: Buffer.from('b') },
  {
    header: { name: 'to-ünïcode', type: 'symlink', linkname: 'ünïcode.txt', mode: 0o777, mtime },
    content: Buffer.alloc(0),
  },
  {
    header: { name: 'long-link', type: 'symlink', linkname: 'l'.repeat(101), mode: 0o777, mtime },
    content: Buffer.alloc(0),
  },
  { header: { name: 'epoch', type: 'file', mode: 0o644, mtime: new Date(0) }, content: Buffer.from('c') },
  { header: { name: 'future', type: 'file', mode: 0o644, mtime: new Date('2100-01-01') }, content: Buffer.from('d') },
  { header: { name: 'owned', type: 'file', mode: 0o644, uid: 1000, gid: 1000, mtime }, content: Buffer.from('e') },
  { header: { name: 'big-piece', type: 'file', mode: 0o644, mtime }, content: Buffer.alloc(300 * 1024, 3) },
  ...Array.from({ length: 600 }, (_, index) => ({
    header: { name: `many/file-${index}`, type: 'file' as const, mode: 0o644, mtime },
    content: Buffer.alloc(index % 1500, index % 256),
  })),
];

/** Writes the entries through a pack and collects the archive, reading it slowly when asked. */
async function archive(pack: tarStream.Pack, slow: boolean): Promise<{ bytes: Buffer; chunks: number }> {
  const chunks: Buffer[] = [];
  const collecting = pipeline(
    pack,
    new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(Buffer.from(chunk));
        if (slow) setTimeout(callback, 1);
        else callback();
      },
    }),
  );
  for (const { header, content } of ENTRIES) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...header } as tarStream.Header, content, (error) => (error ? reject(error) : resolve())),
    );
  }
  // A file given as a stream (as tar-fs gives big files), and entries asked for while it is written:
  // tar-stream queues them behind it, and they must come out after it.
  const streamed = new Promise<void>((resolve, reject) => {
    const header = { name: 'streamed', type: 'file', mode: 0o644, mtime, size: 3000 } as const;
    const sink = pack.entry(header, (error) => (error ? reject(error) : resolve()));
    sink.write(Buffer.alloc(1000, 9));
    setTimeout(() => sink.end(Buffer.alloc(2000, 8)), 5);
  });
  const done = (resolve: () => void, reject: (error: Error) => void) => (error?: Error | null) =>
    error ? reject(error) : resolve();
  const queued = [
    new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: 'queued-file', type: 'file', mode: 0o644, mtime },
        Buffer.from('queued'),
        done(resolve, reject),
      ),
    ),
    new Promise<void>((resolve, reject) =>
      pack.entry({ name: 'queued-folder', type: 'directory', mode: 0o755, mtime }, done(resolve, reject)),
    ),
  ];
  await Promise.all([streamed, ...queued]);
  pack.finalize();
  await collecting;
  return { bytes: Buffer.concat(chunks), chunks: chunks.length };
}

describe("the packer's tar writer", () => {
  it('writes byte for byte the archive tar-stream writes, in a few big chunks', async () => {
    const expected = await archive(tarStream.pack(), false);
    const written = await archive(tarPack(64 * 1024), false);
    expect(written.bytes.length).toBe(expected.bytes.length);
    expect(written.bytes.equals(expected.bytes)).toBe(true);
    expect(written.chunks).toBeLessThan(expected.chunks / 20);
  });

  it('keeps backpressure: a slow reader gets the same archive, nothing lost or stuck', async () => {
    const expected = await archive(tarStream.pack(), false);
    const written = await archive(tarPack(16 * 1024), true);
    expect(written.bytes.equals(expected.bytes)).toBe(true);
  });

  it('writes the octal fields tar-stream writes, for sizes and times past 31 bits too', () => {
    const sizes = [0, 1, 0o7777, 0x7fffffff, 0x80000000, 5 * 1024 ** 3 + 7, 8 ** 11 - 1];
    const times = [new Date(0), mtime, new Date(0x7fffffff * 1000)];
    for (const size of sizes) {
      for (const time of times) {
        const header = { name: 'big', type: 'file', mode: 0o100644, uid: 0, gid: 0, size, mtime: time };
        const block = Buffer.alloc(512, 0xff);
        expect(encodeUstar(block, 0, header)).toBe(true);
        expect(block.equals(headers.encode(header))).toBe(true);
      }
    }
    expect(encodeUstar(Buffer.alloc(512), 0, { name: 'too-big', type: 'file', size: 8 ** 11, mtime })).toBe(false);
  });

  it('drops an entry asked for while the pack is being destroyed, instead of throwing', () => {
    const pack = tarPack(16 * 1024);
    pack.on('error', () => undefined);
    pack.destroy(new Error('stopped'));
    // tar-fs checks only `destroyed`, which is not true yet: it may still ask for an entry here.
    expect((pack as unknown as { destroyed: boolean }).destroyed).toBe(false);
    let called = false;
    const dropped = pack.entry({ name: 'late', type: 'file', mode: 0o644, mtime }, () => {
      called = true;
    });
    expect(dropped.destroyed).toBe(true);
    pack.entry({ name: 'late-buffer', type: 'file', mode: 0o644, mtime }, Buffer.from('x'), () => {
      called = true;
    });
    expect(called).toBe(false);
  });

  describe('with a reader that has not started yet (the pack is full)', () => {
    /** Runs `steps` on a pack nobody reads yet, then reads it all: the callbacks in order, and the bytes. */
    async function whileFull(
      pack: tarStream.Pack,
      steps: (pack: tarStream.Pack, log: (name: string) => (error?: Error | null) => void) => void,
    ): Promise<{ calls: string[]; bytes: Buffer }> {
      const calls: string[] = [];
      steps(pack, (name) => (error) => calls.push(`${name} ${error ? 'error' : 'ok'}`));
      await new Promise((resolve) => setTimeout(resolve, 10));
      const chunks: Buffer[] = [];
      for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
      return { calls, bytes: Buffer.concat(chunks) };
    }

    it('calls back every entry written meanwhile, in order, and finalize() waits for them', async () => {
      const steps = (pack: tarStream.Pack, log: (name: string) => (error?: Error | null) => void) => {
        pack.entry({ name: 'a', type: 'file', mode: 0o644, mtime }, Buffer.alloc(2048, 1), log('a'));
        pack.entry({ name: 'b', type: 'file', mode: 0o644, mtime }, Buffer.alloc(700, 2), log('b'));
        pack.entry({ name: 'c', type: 'directory', mode: 0o755, mtime }, log('c'));
        pack.finalize();
      };
      const expected = await whileFull(tarStream.pack({ highWaterMark: 1024 } as never), steps);
      const written = await whileFull(tarPack(1024), steps);
      expect([...written.calls].sort()).toEqual(['a ok', 'b ok', 'c ok']);
      expect(written.calls).toEqual(expected.calls);
      expect(written.bytes.equals(expected.bytes)).toBe(true);
    });

    it('calls back an entry waiting for room with an error when the pack is destroyed', async () => {
      for (const pack of [tarStream.pack({ highWaterMark: 1024 } as never), tarPack(1024)]) {
        pack.on('error', () => undefined);
        const calls: string[] = [];
        const entry = pack.entry({ name: 'a', type: 'file', mode: 0o644, mtime }, Buffer.alloc(4096, 1), (error) =>
          calls.push(error ? 'error' : 'ok'),
        ) as ReturnType<tarStream.Pack['entry']> | null;
        // tar-stream's entry is a stream, which the destroy fails too; tarPack's has none.
        entry?.on('error', () => undefined);
        await new Promise((resolve) => setTimeout(resolve, 10));
        pack.destroy(new Error('stopped'));
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(calls).toEqual(['error']);
      }
    });
  });

  it('still refuses an entry once the pack has ended', async () => {
    const pack = tarPack(16 * 1024);
    pack.finalize();
    for await (const _chunk of pack as unknown as AsyncIterable<Buffer>) {
      // Reads the end-of-archive blocks.
    }
    expect(() => pack.entry({ name: 'late', type: 'directory', mode: 0o755, mtime }, () => undefined)).toThrow(
      /already finalized/,
    );
  });
});
