/** The longest line kept whole; a longer one is split into pieces, each marked as continued. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export interface SplitLine {
  bytes: Buffer;
  /** True when the line went on past the cap and the next piece carries the rest. */
  continued: boolean;
}

/**
 * True when `bytes` starts with `prefix`. A loop over a few bytes: Buffer#compare with offsets costs a
 * trip into C++ and argument checks, paid for every message of a log.
 */
export function startsWithBytes(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Backs off from `end` to the start of a UTF-8 sequence, so a cut never splits a character. */
function utf8Boundary(buffer: Buffer, end: number): number {
  let cut = end;
  while (cut > 0 && cut > end - 4 && ((buffer[cut] ?? 0) & 0xc0) === 0x80) cut -= 1;
  return cut > 0 ? cut : end;
}

/**
 * Splits a byte stream into lines at '\n'. Holds at most `maxLineBytes` of an unfinished line; past
 * that it hands out the piece it has, marked as continued. Works on bytes, so a character split across
 * chunks is joined before it is decoded.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /** True while part of a line is held for the next chunk. */
  get holding(): boolean {
    return this.pendingBytes > 0;
  }

  /**
   * Feeds a chunk; returns the lines it completed. A line that lies whole inside the chunk shares the
   * chunk's memory (no copy), so use the lines before the chunk is reused; a piece held for the next
   * chunk is copied.
   */
  push(chunk: Buffer): SplitLine[] {
    const lines: SplitLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      if (newline !== -1 && this.pendingBytes === 0 && end - start <= this.maxLineBytes) {
        lines.push({ bytes: chunk.subarray(start, end), continued: false });
        start = newline + 1;
        continue;
      }
      this.take(chunk.subarray(start, end), lines);
      if (newline === -1) break;
      lines.push({ bytes: this.drain(), continued: false });
      start = newline + 1;
    }
    return lines;
  }

  /** Ends the stream; returns the last line if it had no newline. */
  end(): SplitLine[] {
    return this.pendingBytes > 0 ? [{ bytes: this.drain(), continued: false }] : [];
  }

  private take(piece: Buffer, lines: SplitLine[]): void {
    let rest = piece;
    while (this.pendingBytes + rest.length > this.maxLineBytes) {
      // Look three bytes past the cap so the cut can back off to a character boundary.
      const look = Math.min(rest.length, this.maxLineBytes - this.pendingBytes + 3);
      const joined = Buffer.concat([...this.pending, rest.subarray(0, look)]);
      const cut = utf8Boundary(joined, this.maxLineBytes);
      lines.push({ bytes: Buffer.from(joined.subarray(0, cut)), continued: true });
      const carried = joined.subarray(cut);
      rest = rest.subarray(look);
      this.pending = carried.length > 0 ? [Buffer.from(carried)] : [];
      this.pendingBytes = carried.length;
    }
    if (rest.length > 0) {
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
  }

  private drain(): Buffer {
    const line =
      this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }
}
