/**
 * The one strict parser for numbers a person types (command-line options) and the bounds every
 * numeric option and setting is held to, shared by the CLI, settings.json and the contract's schemas.
 * Imports nothing, so a command that parses its options does not load zod.
 */

/** The range a number may take, and what a person calls it in an error. */
export interface NumberBound {
  min: number;
  max: number;
  what: string;
}

export const MIB_BYTES = 1024 * 1024;

/** Every bounded number of Slipway. Minimums that protect data (the quota) are well above zero. */
export const bounds = {
  /** Round trips per region a probe measures. */
  samples: { min: 1, max: 50, what: 'round trips per region' },
  /** Tasks built at once. */
  concurrency: { min: 1, max: 16, what: 'tasks built at once' },
  /** History keeps at least one build, and never fewer than it was told. */
  maxBuilds: { min: 1, max: 10_000, what: 'builds kept' },
  /** Bytes of history kept: at least 1 MiB, so a log is never deleted for a quota typed in kilobytes. */
  maxBytes: { min: MIB_BYTES, max: Number.MAX_SAFE_INTEGER, what: 'bytes of history kept' },
  /** A TCP port to listen on; 0 asks the system for a free one. */
  port: { min: 0, max: 65_535, what: 'a port' },
  silenceTimeoutSeconds: { min: 1, max: 7 * 24 * 3600, what: 'seconds of builder silence allowed' },
  /** A line number of a log, counted from 0. */
  line: { min: 0, max: Number.MAX_SAFE_INTEGER, what: 'a line number' },
  /** Lines a window of the log viewer reads at once. */
  windowLines: { min: 1, max: 5000, what: 'lines read at once' },
  /** Matching lines a search answers at most. */
  searchLimitLines: { min: 1, max: 100_000, what: 'matching lines' },
} as const satisfies Record<string, NumberBound>;

export type BoundName = keyof typeof bounds;

/** Decimal digits only: no sign, no exponent (1e1), no hex (0x10), no fraction, no spaces. */
const DIGITS = /^[0-9]{1,16}$/;

/** True when `value` is a whole number within the bound (what every reader of a stored number checks). */
export function withinBound(value: unknown, bound: NumberBound): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= bound.min && value <= bound.max;
}

/** What an out-of-bounds or malformed number is told, after the name of its option or field. */
export function boundMessage(bound: NumberBound, given: unknown): string {
  const shown = typeof given === 'string' ? JSON.stringify(given) : given === undefined ? 'nothing' : String(given);
  const range =
    bound.max === Number.MAX_SAFE_INTEGER ? `of at least ${bound.min}` : `from ${bound.min} to ${bound.max}`;
  return `takes a whole number ${range} (${bound.what}), not ${shown}`;
}

/**
 * Parses a number typed by a person: decimal digits within the bound, else null. The caller turns null
 * into its own coded error (see parseOption for the command line).
 */
export function parseWholeNumber(text: string, bound: NumberBound): number | null {
  if (!DIGITS.test(text)) return null;
  const value = Number(text);
  return withinBound(value, bound) ? value : null;
}
