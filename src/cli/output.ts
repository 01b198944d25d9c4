import type { LogLineEvent } from '../shared/contract';
import type { ErrorInfo } from '../shared/errors';

/** Where the CLI writes: stdout for results, stderr for diagnostics. One place, so tests can read it. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
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

  constructor(private readonly write: (text: string) => void) {}

  add(line: string): void {
    this.pending += `${line}\n`;
    if (this.pending.length >= BATCH_FLUSH_CHARS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
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
}

let stdoutGone = false;
const stdout = new LineBatch((text) => {
  if (!stdoutGone) process.stdout.write(text);
});

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
 * JSON.stringify of one build's task.line events, cheaper by the part that repeats: the keys, the build and the
 * task are encoded once per task; only the line number and the text are encoded for each line.
 */
export function taskLineJson(): (line: LogLineEvent) => string {
  const prefixes = new Map<string, string>();
  return (line) => {
    let prefix = prefixes.get(line.taskId);
    if (prefix === undefined) {
      prefix = `{"type":${JSON.stringify(line.type)},"buildId":${JSON.stringify(line.buildId)},"taskId":${JSON.stringify(line.taskId)},"line":`;
      prefixes.set(line.taskId, prefix);
    }
    return `${prefix}${line.line},"text":${JSON.stringify(line.text)}}`;
  };
}
