import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { connect as http2Connect, performServerHandshake } from 'node:http2';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { join } from 'node:path';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncedDir } from '../../src/core/builders/buildkit-session/filesync';
import { BuildKitSession } from '../../src/core/builders/buildkit-session/session';
import { tempDir } from '../support/fixtures';

// A FAKE receiver: BuildKit's side of a DiffCopy, driven by the test, to see what the sender puts on
// the wire and to make a file change between its STAT and its REQ, which a real build cannot time.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

interface Received {
  type: number;
  id: number;
  path?: string;
  size?: number;
  data: Buffer;
}

function decode(message: Buffer): Received {
  const reader = new BinaryReader(message);
  const packet: Received = { type: 0, id: 0, data: Buffer.alloc(0) };
  while (reader.pos < reader.len) {
    const [number, type] = reader.tag();
    if (number === 1) packet.type = reader.int32();
    else if (number === 3) packet.id = reader.uint32();
    else if (number === 4) packet.data = Buffer.from(reader.bytes());
    else if (number === 2) {
      const stat = new BinaryReader(reader.bytes());
      while (stat.pos < stat.len) {
        const [field, wire] = stat.tag();
        if (field === 1) packet.path = stat.string();
        else if (field === 5) packet.size = Number(stat.int64());
        else stat.skip(wire, field);
      }
    } else reader.skip(type, number);
  }
  return packet;
}

function frame(type: number, id: number): Buffer {
  const writer = new BinaryWriter();
  writer.tag(1, WireType.Varint).int32(type);
  writer.tag(3, WireType.Varint).uint32(id);
  const message = writer.finish();
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

async function folder(): Promise<string> {
  const dir = await tempDir('slipway-sync-');
  cleanups.push(dir.cleanup);
  return dir.path;
}

/** A session served on a unix socket, and a DiffCopy call to it with the given metadata. */
async function diffCopy(dirs: SyncedDir[], metadata: Record<string, string | string[]>) {
  return call('/moby.filesync.v1.FileSync/DiffCopy', dirs, metadata);
}

/** A session served on a unix socket, and a call of `method` to it with the given metadata. */
async function call(
  method: string,
  dirs: SyncedDir[],
  metadata: Record<string, string | string[]>,
  extra: Partial<ConstructorParameters<typeof BuildKitSession>[3]> = {},
) {
  const folder = await tempDir('slipway-h2-');
  cleanups.push(folder.cleanup);
  const path = join(folder.path, 's.sock');
  let session: BuildKitSession | null = null;
  const abort = new AbortController();
  const server: Server = createServer((socket) => {
    session = new BuildKitSession('test', performServerHandshake(socket), socket, {
      connection: null as never,
      name: 'test',
      sharedKey: 'test',
      dirs,
      signal: abort.signal,
      ...extra,
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = http2Connect('http://localhost', { createConnection: () => netConnect(path) });
  cleanups.push(async () => {
    client.destroy();
    (session as BuildKitSession | null)?.close();
    await new Promise((resolve) => server.close(resolve));
  });
  const stream = client.request({
    ':method': 'POST',
    ':path': method,
    'content-type': 'application/grpc',
    ...metadata,
  });
  const packets: Received[] = [];
  const raw: Buffer[] = [];
  let waiting: (() => void) | null = null;
  let held = Buffer.alloc(0);
  let trailers: Record<string, unknown> = {};
  stream.on('trailers', (headers) => {
    trailers = headers;
  });
  stream.on('response', (headers) => {
    if (headers['grpc-status'] !== undefined) trailers = headers;
  });
  stream.on('data', (chunk: Buffer) => {
    held = Buffer.concat([held, chunk]);
    while (held.length >= 5 && held.length >= 5 + held.readUInt32BE(1)) {
      raw.push(Buffer.from(held.subarray(5, 5 + held.readUInt32BE(1))));
      // Packets only on a DiffCopy; another method's answer is read from `messages`.
      if (method.endsWith('/DiffCopy')) packets.push(decode(held.subarray(5, 5 + held.readUInt32BE(1))));
      held = held.subarray(5 + held.readUInt32BE(1));
    }
    waiting?.();
  });
  const ended = new Promise<void>((resolve) => stream.on('close', () => resolve()));
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => (waiting = resolve));
  };
  return {
    stream,
    packets,
    messages: raw,
    until,
    ended,
    trailers: () => trailers,
    session: () => session as BuildKitSession | null,
  };
}

describe("the session's DiffCopy sender (a FAKE receiver)", () => {
  it('sends folders before what they hold, in fsutil order, with a folder walked for a "!" exception', async () => {
    const root = await folder();
    await mkdir(join(root, 'sub/keep'), { recursive: true });
    await mkdir(join(root, 'sub/drop'), { recursive: true });
    await writeFile(join(root, 'sub/keep/k.txt'), 'k');
    await writeFile(join(root, 'sub/drop/d.txt'), 'd');
    await writeFile(join(root, 'a.txt'), 'a');
    await writeFile(join(root, 'a-b'), 'ab');
    await mkdir(join(root, 'a'));
    await writeFile(join(root, 'a/x'), 'x');
    const call = await diffCopy([{ name: 'context', root }], {
      'dir-name': 'context',
      'exclude-patterns': ['sub', '!sub/keep'],
    });
    await call.until(() => call.packets.some((packet) => packet.type === 0 && packet.path === undefined));
    const paths = call.packets.filter((packet) => packet.path !== undefined).map((packet) => packet.path);
    expect(paths).toEqual(['a', 'a/x', 'a-b', 'a.txt', 'sub', 'sub/keep', 'sub/keep/k.txt']);
    // REQ the file by its place in the walk; its bytes come as DATA, then an empty DATA.
    call.stream.write(frame(1, paths.indexOf('a.txt')));
    await call.until(() => call.packets.filter((packet) => packet.type === 2).length >= 2);
    const data = call.packets.filter((packet) => packet.type === 2);
    expect(data.map((packet) => packet.data.toString())).toEqual(['a', '']);
    call.stream.write(frame(3, 0));
    await call.until(() => call.packets.some((packet) => packet.type === 3));
    call.stream.end();
    await call.ended;
    expect(call.trailers()['grpc-status']).toBe('0');
  });

  it('a file that shrank after its STAT fails the transfer with E_CONTEXT_CHANGED naming it, and an ERR packet', async () => {
    const root = await folder();
    await writeFile(join(root, 'big.bin'), Buffer.alloc(200_000, 7));
    const call = await diffCopy([{ name: 'context', root }], { 'dir-name': 'context' });
    await call.until(() => call.packets.some((packet) => packet.type === 0 && packet.path === undefined));
    expect(call.packets[0]?.size).toBe(200_000);
    await truncate(join(root, 'big.bin'), 1000);
    call.stream.write(frame(1, 0));
    await call.until(() => call.packets.some((packet) => packet.type === 4));
    const error = call.packets.find((packet) => packet.type === 4)?.data.toString();
    expect(error).toMatch(/big\.bin shrank from 200000 to 1000 bytes/);
    call.stream.end();
    await call.ended;
    expect(call.trailers()['grpc-status']).not.toBe('0');
    const failure = call.session()?.failure as { code?: string; message?: string };
    expect(failure.code).toBe('E_CONTEXT_CHANGED');
    expect(failure.message).toContain(join(root, 'big.bin'));
  });

  it('answers a folder the session does not offer with NotFound', async () => {
    const call = await diffCopy([], { 'dir-name': 'elsewhere' });
    await call.ended;
    expect(call.trailers()['grpc-status']).toBe('5');
  });
});

/** A unary request: one framed message, and the end of the request. */
function unary(stream: import('node:http2').ClientHttp2Stream, message: Uint8Array): void {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  stream.end(Buffer.concat([prefix, message]));
}

describe("the session's other services (a FAKE caller)", () => {
  it('answers Health/Check SERVING, Auth/Credentials from the registry credentials, FetchToken unimplemented', async () => {
    const health = await call('/grpc.health.v1.Health/Check', [], {});
    unary(health.stream, new Uint8Array(0));
    await health.ended;
    expect(health.trailers()['grpc-status']).toBe('0');
    expect([...(health.messages[0] ?? [])]).toEqual([0x08, 0x01]);

    const auth = {
      registries: () => ['127.0.0.1:5000'],
      lookup: async (host: string) => (host === '127.0.0.1:5000' ? { username: 'team', secret: 'pa55' } : null),
    };
    const asked = await call('/moby.filesync.v1.Auth/Credentials', [], {}, { auth });
    unary(asked.stream, new BinaryWriter().tag(1, WireType.LengthDelimited).string('127.0.0.1:5000').finish());
    await asked.ended;
    expect(asked.trailers()['grpc-status']).toBe('0');
    const answer = new BinaryReader(asked.messages[0] ?? new Uint8Array(0));
    const fields: Record<number, string> = {};
    while (answer.pos < answer.len) fields[answer.tag()[0]] = answer.string();
    expect(fields).toEqual({ 1: 'team', 2: 'pa55' });

    const anonymous = await call('/moby.filesync.v1.Auth/Credentials', [], {}, { auth });
    unary(anonymous.stream, new BinaryWriter().tag(1, WireType.LengthDelimited).string('docker.io').finish());
    await anonymous.ended;
    expect(anonymous.messages[0]?.length).toBe(0);

    const token = await call('/moby.filesync.v1.Auth/FetchToken', [], {}, { auth });
    unary(token.stream, new Uint8Array(0));
    await token.ended;
    expect(token.trailers()['grpc-status']).toBe('12');
  });
});
