// What a spooled log line carries, read the same by the engine that writes it and the window that shows it.

/** Flags kept with each spooled line, in its index entry (and sent with each line by logs.read). */
export const LineFlag = {
  /** The line went on past the length cap; the next line holds the rest. */
  continued: 1,
  /** The builder sent something that is not its protocol; it is kept as text. */
  invalid: 2,
  /** The line is an error the builder reported. */
  error: 4,
} as const;

export interface LogLine {
  text: string;
  flags: number;
  /**
   * A step that starts at this line, when the parser knows it other than from the text (BuildKit's
   * "#N [2/3] RUN ..."), with the builder's own start time; the spool's steps file keeps it.
   */
  step?: { step: number; steps: number; atMs: number };
}

// Podman prefixes the steps of a multi-stage build with their stage: "[1/2] STEP 1/2: FROM scratch AS base".
const STEP_PATTERN = /^(?:\[\d+\/\d+\] )?(?:STEP|Step) (\d+)\/(\d+)\s?:/;

/** Reads "STEP n/m:" (Podman, "[s/S] STEP n/m:" in a multi-stage build; BuildKit-less Docker prints "Step n/m :") off a log line. */
export function parseStep(text: string): { step: number; steps: number } | null {
  const match = STEP_PATTERN.exec(text);
  return match ? { step: Number(match[1]), steps: Number(match[2]) } : null;
}
