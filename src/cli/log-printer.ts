import type { StoredLines } from '../core/builds/session';
import type { LineRun } from '../core/logs/line-run';
import { taskLineJson, taskLinePrefix } from './output';

/** How `slipway build` prints a log line: as it is, after its task's name (several tasks), or as a task.line event. */
export type LogPrintMode = 'plain' | 'prefixed' | 'json';

const TEXT_KEY = Buffer.from(',"text":"');
const EVENT_END = Buffer.from('"}\n');
/** Room for a line number in decimal (2^53 has 16 digits). */
const NUMBER_BYTES = 16;
const HEX_DIGITS = Buffer.from('0123456789abcdef');

/** Writes `value` (a whole number) in decimal at `at`; returns where it ends. */
function writeDecimal(out: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
  let rest = value;
  for (let k = at + digits - 1; k > at; k--) {
    const tenth = Math.floor(rest / 10);
    out[k] = 48 + rest - tenth * 10;
    rest = tenth;
  }
  out[at] = 48 + rest;
  return at + digits;
}

/**
 * Writes `bytes[start, end)` (UTF-8 text) at `at` as JSON.stringify escapes it: control characters,
 * '"' and '\\'; everything else as it is. Returns where it ends.
 */
function writeJsonEscaped(out: Buffer, at: number, bytes: Buffer, start: number, end: number): number {
  let j = at;
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x20 && byte !== 0x22 && byte !== 0x5c) {
      out[j++] = byte;
      continue;
    }
    out[j++] = 0x5c;
    if (byte === 0x22 || byte === 0x5c) out[j++] = byte;
    else if (byte === 10) out[j++] = 0x6e;
    else if (byte === 9) out[j++] = 0x74;
    else if (byte === 13) out[j++] = 0x72;
    else if (byte === 8) out[j++] = 0x62;
    else if (byte === 12) out[j++] = 0x66;
    else {
      out[j++] = 0x75;
      out[j++] = 0x30;
      out[j++] = 0x30;
      out[j++] = HEX_DIGITS[byte >> 4] as number;
      out[j++] = HEX_DIGITS[byte & 15] as number;
    }
  }
  return j;
}

/** Bytes of a run with each line after `prefix`. */
function prefixedBytes(run: LineRun, prefix: Buffer): number {
  return run.bytes.length + run.count * prefix.length;
}

/** Writes a run's lines, each after `prefix`, into `out`; returns the bytes written. */
function prefixedRun(run: LineRun, prefix: Buffer, out: Buffer): number {
  let j = 0;
  let start = 0;
  for (let i = 0; i < run.count; i++) {
    const end = run.ends[i] as number;
    out.set(prefix, j);
    j += prefix.length;
    // TypedArray#set of a view: cheaper than Buffer#copy per line.
    out.set(run.bytes.subarray(start, end), j);
    j += end - start;
    start = end;
  }
  return j;
}

/** The most bytes a run's lines take as task.line events. */
function jsonBytes(run: LineRun, prefix: Buffer): number {
  // Lines marked as holding escapes may grow six times (\u00XX); the others are copied.
  let escapedBytes = 0;
  let start = 0;
  for (let i = 0; i < run.count; i++) {
    const end = run.ends[i] as number;
    if (run.escapes[i] === 1) escapedBytes += end - start;
    start = end;
  }
  const perLine = prefix.length + NUMBER_BYTES + TEXT_KEY.length + EVENT_END.length;
  return run.count * perLine + run.bytes.length + 5 * escapedBytes;
}

/**
 * Writes a run's lines as task.line events into `out`, byte for byte what JSON.stringify of each event
 * gives; returns the bytes written.
 */
function jsonRun(run: LineRun, prefix: Buffer, fromLine: number, out: Buffer): number {
  const bytes = run.bytes;
  let j = 0;
  let start = 0;
  for (let i = 0; i < run.count; i++) {
    const end = (run.ends[i] as number) - 1;
    out.set(prefix, j);
    j = writeDecimal(out, j + prefix.length, fromLine + i);
    out.set(TEXT_KEY, j);
    j += TEXT_KEY.length;
    if (run.escapes[i] === 1) j = writeJsonEscaped(out, j, bytes, start, end);
    else {
      out.set(bytes.subarray(start, end), j);
      j += end - start;
    }
    out.set(EVENT_END, j);
    j += EVENT_END.length;
    start = end + 1;
  }
  return j;
}

/** What a batch prints: its bytes, and what to call once they are written (they may be reused then). */
export interface Printed {
  bytes: Buffer;
  release(): void;
}

/** Room for one run's printed lines (a 64 KiB chunk's run as JSON takes about 180 KiB). */
const PRINT_BUFFER_BYTES = 256 * 1024;
/**
 * Print buffers kept for reuse. The spool may store a burst of batches at once (its stream holds 1 MiB),
 * all printed before the first write's callback gives its buffer back: keep as many as a burst takes.
 */
const SPARE_PRINT_BUFFERS = 32;

const nothing = () => undefined;

/**
 * Turns a build's stored lines into the bytes `slipway build` prints, each line ended by '\n': a run
 * of plain lines is printed as the spool holds it, prefixed or made JSON without a string per line.
 */
export class LogPrinter {
  /** Per task: what comes before each line's number (json) or text (prefixed). */
  private readonly prefixes = new Map<string, { text: string; bytes: Buffer }>();

  constructor(
    private readonly buildId: string,
    private readonly mode: LogPrintMode,
  ) {}

  /** Print buffers whose writes completed. */
  private readonly spare: Buffer[] = [];

  /** The batch's lines as printed; a run's bytes are its own when printed plain. */
  render(batch: StoredLines): Printed {
    const run = batch.run;
    if (run) {
      if (this.mode === 'plain') return { bytes: run.bytes, release: run.release ?? nothing };
      const { bytes: prefix } = this.prefix(batch.taskId);
      const json = this.mode === 'json';
      const out = this.buffer(json ? jsonBytes(run, prefix) : prefixedBytes(run, prefix));
      const used = json ? jsonRun(run, prefix, batch.fromLine, out) : prefixedRun(run, prefix, out);
      run.release?.();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        if (out.length === PRINT_BUFFER_BYTES && this.spare.length < SPARE_PRINT_BUFFERS) this.spare.push(out);
      };
      return { bytes: out.subarray(0, used), release };
    }
    const prefix = this.mode === 'plain' ? '' : this.prefix(batch.taskId).text;
    let text = '';
    for (let i = 0; i < batch.lines.length; i++) {
      const line = (batch.lines[i] as { text: string }).text;
      text += this.mode === 'json' ? `${taskLineJson(prefix, batch.fromLine + i, line)}\n` : `${prefix}${line}\n`;
    }
    return { bytes: Buffer.from(text), release: nothing };
  }

  /** A print buffer of at least `bytes`: a spare one when it is big enough. */
  private buffer(bytes: number): Buffer {
    if (bytes > PRINT_BUFFER_BYTES) return Buffer.allocUnsafe(bytes);
    return this.spare.pop() ?? Buffer.allocUnsafe(PRINT_BUFFER_BYTES);
  }

  private prefix(taskId: string): { text: string; bytes: Buffer } {
    let prefix = this.prefixes.get(taskId);
    if (!prefix) {
      const text = this.mode === 'json' ? taskLinePrefix(this.buildId, taskId) : `[${taskId}] `;
      prefix = { text, bytes: Buffer.from(text) };
      this.prefixes.set(taskId, prefix);
    }
    return prefix;
  }
}
