import { once } from 'node:events';
import type { ServerHttp2Stream } from 'node:http2';

// gRPC over HTTP/2 as the server side speaks it (grpc/PROTOCOL-HTTP2.md): each message framed as a
// compressed flag (0: Slipway never compresses, and asks for no compression), a 4-byte big-endian
// length and the message; the answer's headers say `content-type: application/grpc`, its trailers
// `grpc-status` and `grpc-message`.

/** gRPC status codes Slipway answers with. */
export const GrpcStatus = {
  ok: 0,
  cancelled: 1,
  unknown: 2,
  invalidArgument: 3,
  notFound: 5,
  internal: 13,
  unavailable: 14,
  unimplemented: 12,
} as const;

/** An error a handler throws to end its call with a status. */
export class GrpcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PREFIX_BYTES = 5;
/** A message bigger than this from the engine is refused (gRPC's default receive limit is 4 MiB). */
const MAX_MESSAGE_BYTES = 16 << 20;

/** Request metadata: each header's values, in the order they came, as a repeated gRPC key keeps them. */
export type Metadata = Map<string, string[]>;

/** The metadata of a request from Node's raw headers (joined headers would merge repeated keys). */
export function metadataOf(rawHeaders: string[]): Metadata {
  const metadata: Metadata = new Map();
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = (rawHeaders[index] as string).toLowerCase();
    if (name.startsWith(':')) continue;
    const values = metadata.get(name) ?? [];
    values.push(rawHeaders[index + 1] as string);
    metadata.set(name, values);
  }
  return metadata;
}

/** One call of a method: its request messages as they come, and the answer. */
export class GrpcCall {
  private responded = false;
  private ended = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly metadata: Metadata,
  ) {}

  /** The request's messages, one at a time, as they arrive; ends when the caller closes its side. */
  async *messages(): AsyncGenerator<Buffer> {
    let held: Buffer = Buffer.alloc(0);
    // Leaving early (a FIN, a unary request read) must not destroy the stream: the answer goes on it.
    for await (const chunk of this.stream.iterator({ destroyOnReturn: false })) {
      held = held.length === 0 ? (chunk as Buffer) : Buffer.concat([held, chunk as Buffer]);
      while (held.length >= PREFIX_BYTES) {
        const length = held.readUInt32BE(1);
        if (held[0] !== 0) throw new GrpcError(GrpcStatus.internal, 'compressed messages are not accepted');
        if (length > MAX_MESSAGE_BYTES) throw new GrpcError(GrpcStatus.internal, `a message of ${length} bytes`);
        if (held.length < PREFIX_BYTES + length) break;
        yield held.subarray(PREFIX_BYTES, PREFIX_BYTES + length);
        held = held.subarray(PREFIX_BYTES + length);
      }
    }
    if (held.length > 0) throw new GrpcError(GrpcStatus.internal, 'the request ended inside a message');
  }

  /** The request message of a unary call. */
  async single(): Promise<Buffer> {
    for await (const message of this.messages()) return message;
    throw new GrpcError(GrpcStatus.internal, 'the request has no message');
  }

  /**
   * Sends one message made of `parts` (a message may be written in pieces, as a DATA packet's head
   * and its bytes, so that file content is never copied); resolves once HTTP/2's flow control lets
   * more be written. Returns the bytes framed onto the stream.
   */
  async send(...parts: Uint8Array[]): Promise<number> {
    this.respond();
    let length = 0;
    for (const part of parts) length += part.length;
    const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
    prefix[0] = 0;
    prefix.writeUInt32BE(length, 1);
    let flowing = true;
    if (parts.length === 1 && length < 16 * 1024) {
      flowing = this.stream.write(Buffer.concat([prefix, parts[0] as Uint8Array]));
    } else {
      flowing = this.stream.write(prefix);
      for (const part of parts) if (part.length > 0) flowing = this.stream.write(part);
    }
    if (!flowing) await this.drained();
    return PREFIX_BYTES + length;
  }

  /** Ends the call with a status (OK by default). Harmless once ended or once the stream is gone. */
  end(status: number = GrpcStatus.ok, message = ''): void {
    if (this.ended || this.stream.destroyed || this.stream.closed) return;
    this.ended = true;
    const trailers: Record<string, string> = { 'grpc-status': String(status) };
    if (message) trailers['grpc-message'] = encodeURIComponent(message);
    if (!this.responded) {
      // A call that fails before any message answers with headers only (a trailers-only response).
      this.responded = true;
      this.stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
      return;
    }
    this.stream.once('wantTrailers', () => this.stream.sendTrailers(trailers));
    this.stream.end();
  }

  private respond(): void {
    if (this.responded) return;
    this.responded = true;
    this.stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  }

  private async drained(): Promise<void> {
    if (this.stream.destroyed) throw new GrpcError(GrpcStatus.cancelled, 'the stream is gone');
    // Both listeners go once either fires: a long transfer waits for drain thousands of times.
    const waiting = new AbortController();
    const { signal } = waiting;
    const drained = once(this.stream, 'drain', { signal }).then(() => true);
    const closed = once(this.stream, 'close', { signal }).then(() => false);
    try {
      if (!(await Promise.race([drained, closed]))) {
        throw new GrpcError(GrpcStatus.cancelled, 'the stream closed while it was written');
      }
    } finally {
      waiting.abort();
      drained.catch(() => undefined);
      closed.catch(() => undefined);
    }
  }
}
