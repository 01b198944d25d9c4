/**
 * Buffers the packer lends to the upload, and takes back once a socket has written them.
 *
 * Every chunk of the archive used to be a new Buffer: 1.1 GiB packed is 1.1 GiB of memory outside V8's
 * heap allocated and dropped. V8 counts that memory against the old generation's limit, and since the
 * chunks outlive the scavenges that their reads and the upload provoke, only a mark-compact frees
 * them: about one per 31 MB sent (37 for bench/pack's big context), a fifth of its CPU time, and the
 * garbage itself in the peak RSS. A pool reuses them instead.
 *
 * A chunk may be reused only once nothing will read it again: when the socket it was written to calls
 * back for it (its bytes are in the kernel). The connector (builders/endpoint.ts) reports each write
 * of a lent chunk, whole, that completes; a chunk that never gets there (it went through gzip, the
 * upload failed, a stage cut it) is never taken back and is left to the garbage collector, as before.
 */

/** What a lent chunk is: its pool, and exactly the bytes of its buffer it covers. */
interface Loan {
  pool: BufferPool;
  buffer: Buffer;
  offset: number;
  length: number;
}

const loans = new WeakMap<ArrayBuffer, Loan>();

/** A pool of buffers of one size, each its own ArrayBuffer (so a loan is known by it). */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bytes: number,
    /** Buffers kept for reuse at most; more coming back are left to the garbage collector. */
    private readonly kept: number,
  ) {}

  /** The most memory the pool keeps. */
  get keptBytes(): number {
    return this.kept * this.bytes;
  }

  /** A buffer of `bytes` bytes, its content undefined: one given back, or a new one. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bytes);
  }

  /**
   * Lends `chunk` (a view of a buffer this pool gave) to the upload: its buffer comes back to the pool
   * once a socket has written exactly this chunk (see written). The caller must not touch it again.
   */
  lend(chunk: Buffer): Buffer {
    loans.set(chunk.buffer as ArrayBuffer, {
      pool: this,
      buffer: Buffer.from(chunk.buffer, 0, this.bytes),
      offset: chunk.byteOffset,
      length: chunk.byteLength,
    });
    return chunk;
  }

  /** Takes a buffer back (the caller is done with it and lent it to nobody). */
  giveBack(buffer: Buffer): void {
    if (this.free.length < this.kept && buffer.byteLength === this.bytes) this.free.push(buffer);
  }
}

/** The loan `chunk` is, when it is one: the chunk exactly as it was lent. */
export function loanOf(chunk: unknown): object | null {
  if (!(chunk instanceof Uint8Array)) return null;
  const loan = loans.get(chunk.buffer as ArrayBuffer);
  return loan && loan.offset === chunk.byteOffset && loan.length === chunk.byteLength ? loan : null;
}

/** A socket has written a lent chunk (see loanOf): its buffer goes back to its pool. */
export function written(loan: object): void {
  const { pool, buffer } = loan as Loan;
  // Taken off first: a chunk written twice (it never is) would otherwise come back twice.
  if (loans.get(buffer.buffer as ArrayBuffer) !== loan) return;
  loans.delete(buffer.buffer as ArrayBuffer);
  pool.giveBack(buffer);
}
