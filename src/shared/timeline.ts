// A build's timeline as the engine reads it from the build record and each task's steps file: what
// the window draws (src/renderer/src/timeline) and what two builds are compared by.
import type { TaskPhase } from './domain';

/** The phases of a task before its builder's steps. */
export type TimelinePhaseKind = 'queued' | 'packing' | 'uploading';

export interface TimelinePhase {
  kind: TimelinePhaseKind;
  startMs: number;
  /** Null while the phase lasts. */
  endMs: number | null;
}

/** One step of a task: a classic `Step n/m`, or a BuildKit vertex (which may run beside others). */
export interface TimelineStep {
  /** The vertex's digest, or `step-<n>` for a classic step. */
  id: string;
  /** As the builder names it: `[base 2/3] RUN make`, `STEP 2/3: RUN make`. */
  name: string;
  /** The build stage it belongs to (`base`, `internal`), or null for the last stage and classic steps. */
  stage: string | null;
  /** Null when the builder never said it started (a cached vertex may not). */
  startMs: number | null;
  /** Null while it runs, or when it never ended (a build cut short). */
  endMs: number | null;
  cached: boolean;
  failed: boolean;
  /** The log line its output starts at, when known. */
  line: number | null;
}

export interface TimelineTask {
  taskId: string;
  service: string;
  phase: TaskPhase;
  phases: TimelinePhase[];
  steps: TimelineStep[];
  startMs: number | null;
  endMs: number | null;
  /** Bytes of the context as sent (the exact tar size), when the scan finished. */
  tarBytes: number | null;
}

export interface BuildTimeline {
  buildId: string;
  startMs: number;
  endMs: number | null;
  tasks: TimelineTask[];
}

// BuildKit names a Dockerfile step "[stage n/m] ..." and its own work "[internal] ...".
const STAGE_PATTERN = /^\[([^\]\s]+)(?: \d+\/\d+)?\]/;

/** The stage a BuildKit vertex's name says it belongs to, or null for the last (unnamed) stage. */
export function stageOf(name: string): string | null {
  const match = STAGE_PATTERN.exec(name);
  if (!match) return null;
  const word = match[1] as string;
  return /^\d+\/\d+$/.test(word) ? null : word;
}
