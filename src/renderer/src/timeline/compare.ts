import type { BuildTimeline, TimelinePhaseKind, TimelineStep, TimelineTask } from '../../../shared/timeline';

/**
 * A duration counts as changed when it moved by at least this much and by this share of the longer
 * one: a step's usual jitter is neither.
 */
export const CHANGED_MIN_MS = 500;
export const CHANGED_SHARE = 0.2;

export interface ComparedSide {
  durationMs: number | null;
  cached: boolean;
  /** Bytes sent (the task's upload row only). */
  bytes?: number | null;
}

export interface ComparedRow {
  key: string;
  taskId: string;
  service: string;
  kind: TimelinePhaseKind | 'step';
  name: string;
  /** Null where that build had no such step. */
  before: ComparedSide | null;
  after: ComparedSide | null;
  /** after - before, when both have a duration. */
  deltaMs: number | null;
  /** The duration moved past the jitter bounds, or the step was cached in one build only. */
  changed: boolean;
}

export interface BuildComparison {
  rows: ComparedRow[];
  /** The changed step whose duration moved most, if any. */
  biggest: ComparedRow | null;
  totalBeforeMs: number | null;
  totalAfterMs: number | null;
}

/** What a step is called across builds: its name without the run-specific `#N` or digest. */
function stepName(step: TimelineStep): string {
  return step.name.trim();
}

const stepDuration = (step: TimelineStep): number | null =>
  step.startMs !== null && step.endMs !== null ? Math.max(0, step.endMs - step.startMs) : null;

/** Steps keyed by name, a name seen twice numbered by its occurrence. */
function keyedSteps(task: TimelineTask): Map<string, TimelineStep> {
  const steps = new Map<string, TimelineStep>();
  const seen = new Map<string, number>();
  for (const step of task.steps) {
    const name = stepName(step);
    const count = seen.get(name) ?? 0;
    seen.set(name, count + 1);
    steps.set(count === 0 ? name : `${name} #${count + 1}`, step);
  }
  return steps;
}

function isChanged(before: ComparedSide | null, after: ComparedSide | null): boolean {
  if (!before || !after) return false;
  if (before.cached !== after.cached) return true;
  if (before.durationMs === null || after.durationMs === null) return false;
  const delta = Math.abs(after.durationMs - before.durationMs);
  return delta >= CHANGED_MIN_MS && delta >= CHANGED_SHARE * Math.max(before.durationMs, after.durationMs);
}

function row(
  task: TimelineTask,
  kind: ComparedRow['kind'],
  name: string,
  before: ComparedSide | null,
  after: ComparedSide | null,
): ComparedRow {
  const deltaMs = before?.durationMs != null && after?.durationMs != null ? after.durationMs - before.durationMs : null;
  return {
    key: `${task.taskId}/${kind}/${name}`,
    taskId: task.taskId,
    service: task.service,
    kind,
    name,
    before,
    after,
    deltaMs,
    changed: isChanged(before, after),
  };
}

const phaseSide = (task: TimelineTask | undefined, kind: TimelinePhaseKind): ComparedSide | null => {
  const phase = task?.phases.find((candidate) => candidate.kind === kind);
  if (!task || !phase) return null;
  return {
    durationMs: phase.endMs === null ? null : phase.endMs - phase.startMs,
    cached: false,
    ...(kind === 'uploading' ? { bytes: task.tarBytes } : {}),
  };
};

const total = (timeline: BuildTimeline): number | null =>
  timeline.endMs === null ? null : timeline.endMs - timeline.startMs;

/**
 * Compares two builds of a project step by step: each task's queued, packing and upload phases (with
 * the bytes sent) and each step (matched by task and name), with durations and cache state side by
 * side; the changed step that moved most is named.
 */
export function compareBuilds(before: BuildTimeline, after: BuildTimeline): BuildComparison {
  const rows: ComparedRow[] = [];
  const taskIds = [...new Set([...before.tasks, ...after.tasks].map((task) => task.taskId))];
  for (const taskId of taskIds) {
    const old = before.tasks.find((task) => task.taskId === taskId);
    const now = after.tasks.find((task) => task.taskId === taskId);
    const task = (now ?? old) as TimelineTask;
    for (const kind of ['queued', 'packing', 'uploading'] as const) {
      const sides = [phaseSide(old, kind), phaseSide(now, kind)] as const;
      if (sides[0] || sides[1]) rows.push(row(task, kind, kind, ...sides));
    }
    const oldSteps = old ? keyedSteps(old) : new Map<string, TimelineStep>();
    const newSteps = now ? keyedSteps(now) : new Map<string, TimelineStep>();
    for (const name of new Set([...newSteps.keys(), ...oldSteps.keys()])) {
      const side = (step: TimelineStep | undefined): ComparedSide | null =>
        step ? { durationMs: stepDuration(step), cached: step.cached } : null;
      rows.push(row(task, 'step', name, side(oldSteps.get(name)), side(newSteps.get(name))));
    }
  }
  const biggest =
    rows
      .filter((candidate) => candidate.changed && candidate.kind === 'step' && candidate.deltaMs !== null)
      .sort((a, b) => Math.abs(b.deltaMs ?? 0) - Math.abs(a.deltaMs ?? 0))[0] ?? null;
  return { rows, biggest, totalBeforeMs: total(before), totalAfterMs: total(after) };
}
