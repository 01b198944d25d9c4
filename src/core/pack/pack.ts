import { relative, sep } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import tarFs from 'tar-fs';
import { SlipwayError } from '../../shared/errors';
import type { IgnoreRule } from '../project/ignore';
import { TAR_END_BYTES } from './tar-size';

/** Bytes tar-fs may queue ahead of the consumer. */
export const PACK_HIGH_WATER_BYTES = 1 << 20;

/** Packs a context with tar-fs: links stored as links, FIFOs and sockets skipped, ignored paths left out. */
export function packContext(root: string, ignore: IgnoreRule): Readable {
  // tar-fs returns a streamx Readable; Node's pipeline drives it like any readable stream.
  return tarFs.pack(root, {
    ignore: (absolute) => ignore(relative(root, absolute).split(sep).join('/')),
    strict: false,
  }) as unknown as Readable;
}

/**
 * Counts the bytes of a tar stream against the exact size the scan computed, and holds back the
 * end-of-archive blocks until the count is right: a context that changed while it was packed never
 * reaches the builder as a complete archive.
 */
export class TarLengthGuard extends Transform {
  bytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;

  constructor(
    private readonly expectedBytes: number,
    private readonly describe: string,
  ) {
    super({ highWaterMark: PACK_HIGH_WATER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const before = this.bytes;
    this.bytes += chunk.length;
    if (this.bytes > this.expectedBytes) {
      callback(this.changed());
      return;
    }
    const holdFrom = this.expectedBytes - TAR_END_BYTES;
    if (this.bytes <= holdFrom) {
      callback(null, chunk);
      return;
    }
    const passBytes = Math.max(0, holdFrom - before);
    if (passBytes > 0) this.push(chunk.subarray(0, passBytes));
    const held = chunk.subarray(passBytes);
    this.tail.push(held);
    this.tailBytes += held.length;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expectedBytes) {
      callback(this.changed());
      return;
    }
    callback(null, Buffer.concat(this.tail, this.tailBytes));
  }

  private changed(): SlipwayError {
    return new SlipwayError(
      'E_CONTEXT_CHANGED',
      `The context ${this.describe} changed while it was being packed (${this.bytes} bytes packed, ${this.expectedBytes} expected)`,
      { hint: 'Stop whatever is writing into the context, or ignore those files, and build again.' },
    );
  }
}
