import { Transform, type TransformCallback } from 'node:stream';
import { PACK_HIGH_WATER_BYTES } from './pack';

/** Counts the bytes that pass, for upload progress; calls back with the running total. */
export class ProgressCounter extends Transform {
  bytes = 0;

  constructor(private readonly onBytes: (bytes: number) => void) {
    super({ highWaterMark: PACK_HIGH_WATER_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(this.bytes);
    callback(null, chunk);
  }
}
