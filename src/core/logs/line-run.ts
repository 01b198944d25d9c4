import { isUtf8 } from 'node:buffer';
import type { LogLine } from './log-line';

/**
 * Lines already in the spool's own encoding: UTF-8 text, each line ended by '\n', no flags, none a step.
 * What the parsers make of a run of plain messages, so that the path from the socket to the spool file
 * (and to the CLI's output) makes no string and no object per line. A run never outgrows the chunk it
 * was read from.
 */
export interface LineRun {
  /** The lines' bytes, each line ended by '\n': what the spool writes as it is. */
  readonly bytes: Buffer;
  /** Where each line ends in `bytes`, past its '\n'. */
  readonly ends: Uint32Array;
  /** Per line, 1 when its text holds a character JSON must escape (a control character, '"' or '\\'). */
  readonly escapes: Uint8Array;
  /** Lines in the run (the arrays may be longer). */
  readonly count: number;
  /**
   * Gives the run's bytes back to its parser for the next runs, once nobody reads them any more (the
   * spool wrote them, a printer printed them). A run never released is simply left to the GC.
   */
  readonly release?: () => void;
}

/** Where line `i` of the run starts in its bytes. */
export function runLineStart(run: LineRun, i: number): number {
  return i === 0 ? 0 : (run.ends[i - 1] as number);
}

/** The text of line `i` of the run, for a reader that needs it as a string. */
export function runLineText(run: LineRun, i: number): string {
  return run.bytes.toString('utf8', runLineStart(run, i), (run.ends[i] as number) - 1);
}

/** The run's lines as LogLines (each decoded): for readers that take lines one by one. */
export function runLines(run: LineRun): LogLine[] {
  const lines: LogLine[] = [];
  for (let i = 0; i < run.count; i++) lines.push({ text: runLineText(run, i), flags: 0 });
  return lines;
}

/** The first `count` lines of a run. */
export function runHead(run: LineRun, count: number): LineRun {
  if (count >= run.count) return run;
  const end = count === 0 ? 0 : (run.ends[count - 1] as number);
  return {
    bytes: run.bytes.subarray(0, end),
    ends: run.ends.subarray(0, count),
    escapes: run.escapes.subarray(0, count),
    count,
  };
}

/** True for the bytes JSON.stringify writes escaped: control characters, '"' and '\\'. */
export function jsonEscapes(byte: number): boolean {
  return byte < 0x20 || byte === 0x22 || byte === 0x5c;
}

/**
 * The run as a decoder would store it: bytes that are not UTF-8 (a builder that sent raw bytes) become
 * U+FFFD, as decoding them to a string and encoding it again does. A valid run (nearly every one) is
 * given back as it is after one native check.
 */
export function wellFormedRun(run: LineRun): LineRun {
  if (isUtf8(run.bytes)) return run;
  const parts: Buffer[] = [];
  const ends = new Uint32Array(run.count);
  const escapes = new Uint8Array(run.count);
  let used = 0;
  for (let i = 0; i < run.count; i++) {
    const line = Buffer.from(`${runLineText(run, i)}\n`);
    parts.push(line);
    used += line.length;
    ends[i] = used;
    escapes[i] = run.escapes[i] as number;
  }
  run.release?.();
  return { bytes: Buffer.concat(parts, used), ends, escapes, count: run.count };
}
