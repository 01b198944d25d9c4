import type { ErrorInfo } from '../shared/errors';

/** Where the CLI writes: stdout for results, stderr for diagnostics. One place, so tests can read it. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

let stdoutGone = false;

/** The reader of stdout went away (EPIPE): what the CLI still prints there is dropped. */
export function markStdoutGone(): void {
  stdoutGone = true;
}

export const processOutput: Output = {
  out: (line) => {
    if (!stdoutGone) process.stdout.write(`${line}\n`);
  },
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Prints an error as a person reads it: "error E_CODE: message" and its hint. */
export function printError(output: Output, error: ErrorInfo): void {
  output.err(`error ${error.code}: ${error.message}`);
  if (error.hint) output.err(`hint: ${error.hint}`);
}
