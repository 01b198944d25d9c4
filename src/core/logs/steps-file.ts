import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../shared/errors';
import type { LogLine } from './log-line';
import { parseStep } from './log-line';

/** A step's text is kept in the steps file up to this many characters; the log has the whole line. */
const STEP_TEXT_CHARS = 200;

/**
 * The steps file: one JSON object a line, a step as it was spooled, each BuildKit vertex as it started
 * and ended, and an end mark when the task ended.
 */
export function stepsPath(buildDir: string, taskId: string): string {
  return join(buildDir, `${taskId}.steps`);
}

/** A step that starts at a line of the log (`Step n/m`, `STEP n/m:`, BuildKit's `[stage n/m]`). */
export interface StepStartRecord {
  step: number;
  steps: number;
  line: number;
  atMs: number;
  text: string;
}

/**
 * A BuildKit vertex as the builder reported it, written when it starts and again when it ends (the
 * later record of a digest wins). Times are the builder's own clock; `line` is where its output starts.
 */
export interface VertexRecord {
  vertex: string;
  name: string;
  line: number;
  startedMs: number | null;
  completedMs: number | null;
  cached: boolean;
  error: boolean;
}

/** The task's spool was closed: its last line and when. */
export interface EndRecord {
  endedAtMs: number;
  lines: number;
}

/** One record of the steps file. */
export type StepRecord = StepStartRecord | VertexRecord | EndRecord;

/**
 * The steps-file line of a log line that starts a step (`line.step`, else the text), or '' for any
 * other line. The spool calls it only for lines that can be steps.
 */
export function stepRecordText(line: LogLine, lineNumber: number): string {
  const known = line.step;
  const step = known ?? parseStep(line.text);
  if (!step) return '';
  const record: StepStartRecord = {
    step: step.step,
    steps: step.steps,
    line: lineNumber,
    atMs: known?.atMs ?? Date.now(),
    text: line.text.slice(0, STEP_TEXT_CHARS),
  };
  return `${JSON.stringify(record)}\n`;
}

/** The steps-file line of any record. */
export function recordText(record: StepRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Reads a task's steps file; a torn last record (a crash mid-write) is left out. */
export async function readStepRecords(buildDir: string, taskId: string): Promise<StepRecord[]> {
  let text: string;
  try {
    text = await readFile(stepsPath(buildDir, taskId), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: StepRecord[] = [];
  const lines = text.split('\n');
  // Only the last record can be torn (a crash mid-write), and a step without its record still shows
  // in the log; any other record that does not read back is a damaged file.
  const torn = text.endsWith('\n') ? -1 : lines.length - 1;
  const { stepRecordSchema, describeProblems } = await import('../../shared/schemas');
  for (const [number, line] of lines.entries()) {
    if (!line || number === torn) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const checked = stepRecordSchema.safeParse(value);
    if (!checked.success) {
      const problem = value === undefined ? 'not JSON' : describeProblems(checked.error);
      throw new SlipwayError(
        'E_RECORD_DAMAGED',
        `${stepsPath(buildDir, taskId)} is damaged: line ${number + 1}: ${problem}`,
        {
          hint: 'The log itself is kept; its steps cannot be folded until the file is fixed or the build deleted.',
        },
      );
    }
    records.push(checked.data);
  }
  return records;
}
