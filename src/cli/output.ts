import type { LogLineEvent } from '../shared/contract';
import type { ErrorInfo } from '../shared/errors';

/** Where the CLI writes: stdout for results, stderr for diagnostics. One place, so tests can read it. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /**
   * Writes lines already encoded, each ended by '\n', to stdout in order with `out` (else `out` takes
   * them); calls `written` once it no longer reads the bytes.
   */
  outBytes?(bytes: Buffer, written?: () => void): void;
}

/**
 * Prints newline-ended bytes on an output: as they are where it takes bytes, else line by line; calls
 * `written` once the bytes are no longer read.
 */
export function printBytes(output: Output, bytes: Buffer, written?: () => void): void {
  if (output.outBytes) {
    output.outBytes(bytes, written);
    return;
  }
  const text = bytes.toString('utf8');
  written?.();
  for (let start = 0, end = text.indexOf('\n'); end !== -1; start = end + 1, end = text.indexOf('\n', start))
    output.out(text.slice(start, end));
}

/** Past this many characters held, the batch is written at once instead of at the end of the turn. */
const BATCH_FLUSH_CHARS = 256 * 1024;

/**
 * Lines for one stream, joined into one write per event-loop turn: a build log prints millions of
 * lines, and a write each (a system call each on a file or a terminal) is most of the CLI's time.
 * Lines keep their order; `flush` writes what is held at once.
 */
export class LineBatch {
  private pending = '';
  private scheduled = false;

  /**
   * `writeBytes` takes encoded lines as they are, and calls `written` once it no longer reads them;
   * without it they are decoded for `write`.
   */
  constructor(
    private readonly write: (text: string) => void,
    private readonly writeBytes?: (bytes: Buffer, written?: () => void) => void,
  ) {}

  add(line: string): void {
    this.pending += `${line}\n`;
    this.held();
  }

  /**
   * Adds lines already encoded, each ended by '\n' (a run of a build log, 64 KiB or so): written at once,
   * after what is held, so the order stays and nothing is copied.
   */
  addBytes(bytes: Buffer, written?: () => void): void {
    if (!this.writeBytes) {
      this.addText(bytes.toString('utf8'));
      written?.();
      return;
    }
    this.flush();
    this.writeBytes(bytes, written);
  }

  /** Adds text whose lines are each ended by '\n' already. */
  addText(text: string): void {
    this.pending += text;
    this.held();
  }

  /** Writes what is held now. */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.write(text);
  }

  /** Drops what is held (its reader went away). */
  drop(): void {
    this.pending = '';
  }

  /** Writes a big batch now, else once this turn ends. */
  private held(): void {
    if (this.pending.length >= BATCH_FLUSH_CHARS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }
}

let stdoutGone = false;
const stdout = new LineBatch(
  (text) => {
    if (!stdoutGone) process.stdout.write(text);
  },
  (bytes, written) => {
    // A pipe's stream holds the bytes until they are out: they are given back only then.
    if (stdoutGone) written?.();
    else process.stdout.write(bytes, written && (() => written()));
  },
);

/** The reader of stdout went away (EPIPE): what the CLI still prints there is dropped. */
export function markStdoutGone(): void {
  stdoutGone = true;
  stdout.drop();
}

/** Writes the lines of stdout held for this turn, so a check of stdout's buffer sees them. */
export function flushStdout(): void {
  stdout.flush();
}

// What a quitting process still holds goes out with it (writes to files and terminals are synchronous).
process.on('exit', flushStdout);

export const processOutput: Output = {
  out: (line) => stdout.add(line),
  outBytes: (bytes, written) => stdout.addBytes(bytes, written),
  // Diagnostics come after the results printed before them, as they would unbatched.
  err: (line) => {
    stdout.flush();
    process.stderr.write(`${line}\n`);
  },
};

/** Prints an error as a person reads it: "error E_CODE: message" and its hint. */
export function printError(output: Output, error: ErrorInfo): void {
  output.err(`error ${error.code}: ${error.message}`);
  if (error.hint) output.err(`hint: ${error.hint}`);
}

/**
 * One task.line event as JSON.stringify writes it, from its task's prefix (taskLinePrefix, encoded once
 * per task): only the line number and the text are encoded for each line.
 */
export function taskLineJson(prefix: string, line: number, text: string): string {
  return `${prefix}${line},"text":${JSON.stringify(text)}}`;
}

/** A task.line event of this build and task as JSON.stringify writes it, up to its line number. */
export function taskLinePrefix(buildId: string, taskId: string): string {
  const type: LogLineEvent['type'] = 'task.line';
  return `{"type":${JSON.stringify(type)},"buildId":${JSON.stringify(buildId)},"taskId":${JSON.stringify(taskId)},"line":`;
}
