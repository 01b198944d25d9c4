import { BufferPool } from '../pack/lent-buffers';
import type { LineRun } from './line-run';

const STREAM_PREFIX = Buffer.from('{"stream":"', 'latin1');

/** 1 for a byte a JSON string holds as it is; 0 for a backslash, a quote or a raw control character. */
const PLAIN = new Uint8Array(256);
for (let byte = 0x20; byte < 256; byte++) PLAIN[byte] = byte === 0x22 || byte === 0x5c ? 0 : 1;

/** The value of a hex digit, or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit++) HEX[digit.toString(16).charCodeAt(0)] = digit;
for (let digit = 10; digit < 16; digit++) HEX[digit.toString(16).toUpperCase().charCodeAt(0)] = digit;

/** The code unit of the four hex digits at `at`, or -1. */
function hex4(bytes: Buffer, at: number): number {
  const a = HEX[bytes[at] as number] as number;
  const b = HEX[bytes[at + 1] as number] as number;
  const c = HEX[bytes[at + 2] as number] as number;
  const d = HEX[bytes[at + 3] as number] as number;
  return (a | b | c | d) < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

/** Room carved for runs at a time: one allocation serves the runs of several chunks. */
const SLAB_BYTES = 256 * 1024;

/**
 * Slabs whose runs were all released, kept for the next runs of every log (about what the spools' write
 * streams hold): a build's slabs serve the next build's, instead of being garbage when its log ends.
 */
const SPARE_SLABS = new BufferPool(SLAB_BYTES, 8);

/** A slab and how many of the runs carved from it are still read by someone. */
interface Slab {
  bytes: Buffer;
  inUse: number;
}

/**
 * Turns the engine's plainest messages, `{"stream":"<text>"}` whose text is whole lines, straight into a
 * run of spooled lines: the JSON string is decoded byte by byte into the run's buffer, with no string
 * and no object per line. A message it cannot take exactly as the line-by-line parser would (other keys,
 * a carriage return, a half line, a line that may be a step, one past the cap, a lone surrogate) is
 * refused and left to that parser.
 */
export class StreamRunBuilder {
  private slab: Slab = { bytes: Buffer.alloc(0), inUse: 0 };
  /** Where the next byte goes in the slab, and where the run under way starts. */
  private at = 0;
  private runStart = 0;
  /** The run under way's line ends (from its start) and escape marks; copied out when it is taken. */
  private ends = new Uint32Array(256);
  private escapes = new Uint8Array(256);
  private lines = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Makes room for the messages of `bytes` bytes of a chunk (their lines never take more). */
  reserve(bytes: number): void {
    const slab = this.slab;
    // Every run carved from the slab was released: it is carved again from its start.
    if (slab.inUse === 0 && this.lines === 0) this.at = this.runStart = 0;
    if (slab.bytes.length - this.at >= bytes) return;
    const carried = slab.bytes.subarray(this.runStart, this.at);
    const size = bytes + carried.length;
    const next: Slab = { bytes: size <= SLAB_BYTES ? SPARE_SLABS.take() : Buffer.allocUnsafe(size), inUse: 0 };
    carried.copy(next.bytes, 0);
    this.slab = next;
    this.at = carried.length;
    this.runStart = 0;
    if (slab.inUse === 0) this.keep(slab);
  }

  /**
   * Adds the messages of `chunk` from `start` (where a message starts) to the run, as many in a row as
   * it can take; returns where the first one it cannot take starts (the chunk's end when it took them
   * all). Room for them must be reserved.
   */
  addMessages(chunk: Buffer, start: number): number {
    let at = start;
    while (at < chunk.length) {
      const next = this.message(chunk, at);
      if (next < 0) break;
      at = next;
    }
    return at;
  }

  /** Adds the one message that starts at `start`; returns where the next starts, or -1 (nothing added). */
  private message(chunk: Buffer, start: number): number {
    const length = chunk.length;
    const open = start + STREAM_PREFIX.length;
    if (open + 5 > length) return -1;
    for (let i = 0; i < STREAM_PREFIX.length; i++) if (chunk[start + i] !== STREAM_PREFIX[i]) return -1;
    const out = this.slab.bytes;
    const linesBefore = this.lines;
    let j = this.at;
    let lineStart = j;
    let escaped = 0;
    let i = open;
    for (;;) {
      // The bytes a JSON string holds as they are, copied in a loop of their own: the hot one.
      const shift = j - i;
      while (i < length) {
        const plain = chunk[i] as number;
        if (PLAIN[plain] === 0) break;
        out[i + shift] = plain;
        i++;
      }
      j = i + shift;
      // A message that goes on past the chunk is the splitter's to join.
      if (i >= length) return this.refuse(linesBefore);
      const byte = chunk[i] as number;
      if (byte === 0x22) break;
      // A raw control character is not JSON (and a raw newline ends the message before its string).
      if (byte !== 0x5c || i + 1 >= length) return this.refuse(linesBefore);
      const escaping = chunk[i + 1] as number;
      i += 2;
      let code: number;
      if (escaping === 0x6e) code = 10;
      else if (escaping === 0x22 || escaping === 0x5c || escaping === 0x2f) code = escaping;
      else if (escaping === 0x74) code = 9;
      else if (escaping === 0x62) code = 8;
      else if (escaping === 0x66) code = 12;
      else if (escaping === 0x75 && i + 4 <= length) {
        code = hex4(chunk, i);
        i += 4;
        if (code >= 0xd800 && code <= 0xdbff) {
          // A surrogate pair is one character; a lone half would decode to U+FFFD in one place and not another.
          const low = i + 6 <= length && chunk[i] === 0x5c && chunk[i + 1] === 0x75 ? hex4(chunk, i + 2) : -1;
          if (low < 0xdc00 || low > 0xdfff) return this.refuse(linesBefore);
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          i += 6;
        } else if (code >= 0xdc00 && code <= 0xdfff) return this.refuse(linesBefore);
      } else return this.refuse(linesBefore);
      if (code === 10) {
        // A line ends: it stays with the line-by-line parser if it is too long or may be a step.
        const first = out[lineStart];
        if (j - lineStart > this.maxLineBytes || (j > lineStart && (first === 0x53 || first === 0x5b)))
          return this.refuse(linesBefore);
        out[j++] = 10;
        this.line(j - this.runStart, escaped);
        lineStart = j;
        escaped = 0;
      } else if (code < 0x80) {
        // A carriage return redraws the line: the terminal rules of the line-by-line parser apply.
        if (code === 13 || code < 0) return this.refuse(linesBefore);
        if (code < 0x20 || code === 0x22 || code === 0x5c) escaped = 1;
        out[j++] = code;
      } else if (code < 0x800) {
        out[j++] = 0xc0 | (code >> 6);
        out[j++] = 0x80 | (code & 0x3f);
      } else if (code < 0x10000) {
        out[j++] = 0xe0 | (code >> 12);
        out[j++] = 0x80 | ((code >> 6) & 0x3f);
        out[j++] = 0x80 | (code & 0x3f);
      } else {
        out[j++] = 0xf0 | (code >> 18);
        out[j++] = 0x80 | ((code >> 12) & 0x3f);
        out[j++] = 0x80 | ((code >> 6) & 0x3f);
        out[j++] = 0x80 | (code & 0x3f);
      }
    }
    // The string ended at i: the message must end there ("}", the engine's "\r", the newline), its text
    // must end its line (a half line waits for the next message, with the line-by-line parser), and it
    // must be no longer than the splitter holds whole.
    let newline = i + 2;
    if (chunk[newline] === 0x0d) newline += 1;
    if (chunk[i + 1] !== 0x7d || chunk[newline] !== 0x0a || j !== lineStart || newline - start > this.maxLineBytes)
      return this.refuse(linesBefore);
    this.at = j;
    return newline + 1;
  }

  /** The run added since the last take, or null when it has no lines. */
  take(): LineRun | null {
    if (this.lines === 0) return null;
    const slab = this.slab;
    slab.inUse += 1;
    let released = false;
    const run: LineRun = {
      bytes: slab.bytes.subarray(this.runStart, this.at),
      ends: this.ends.slice(0, this.lines),
      escapes: this.escapes.slice(0, this.lines),
      count: this.lines,
      release: () => {
        if (released) return;
        released = true;
        slab.inUse -= 1;
        if (slab.inUse === 0 && slab !== this.slab) this.keep(slab);
      },
    };
    this.runStart = this.at;
    this.lines = 0;
    return run;
  }

  /** Gives a slab nobody reads any more to the pool, for the next runs (a few of the usual size). */
  private keep(slab: Slab): void {
    SPARE_SLABS.giveBack(slab.bytes);
  }

  private line(end: number, escaped: number): void {
    if (this.lines === this.ends.length) {
      const ends = new Uint32Array(this.lines * 2);
      ends.set(this.ends);
      this.ends = ends;
      const escapes = new Uint8Array(this.lines * 2);
      escapes.set(this.escapes);
      this.escapes = escapes;
    }
    this.ends[this.lines] = end;
    this.escapes[this.lines] = escaped;
    this.lines += 1;
  }

  private refuse(linesBefore: number): -1 {
    this.lines = linesBefore;
    return -1;
  }
}
