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
  /** The step's name in the later build (else the earlier one's). */
  name: string;
  /** The earlier build's name of the step, when it read otherwise (build args in BuildKit's names). */
  beforeName?: string;
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

// A step's place in its Dockerfile: BuildKit's "[stage 2/3] RUN", the classic "Step 2/3 : RUN". BuildKit
// writes build args into the name ("sleep 4"), so two builds' steps are matched by place and keyword.
const PLACE_PATTERN = /^(\[[^\]]*\d+\/\d+\]|(?:STEP|Step) \d+\/\d+\s?:)\s*(\S*)/;

/** What a step is matched by across builds: its place and instruction, else its whole name. */
function stepKey(step: TimelineStep): string {
  const match = PLACE_PATTERN.exec(step.name);
  return match ? `${match[1]} ${match[2]}` : step.name.trim();
}

const stepDuration = (step: TimelineStep): number | null =>
  step.startMs !== null && step.endMs !== null ? Math.max(0, step.endMs - step.startMs) : null;

/** Steps keyed by place (or name), a key seen twice numbered by its occurrence. */
function keyedSteps(task: TimelineTask): Map<string, TimelineStep> {
  const steps = new Map<string, TimelineStep>();
  const seen = new Map<string, number>();
  for (const step of task.steps) {
    const name = stepKey(step);
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
 * side; the changed step that moved most (of those that ran both times, else of all) is named.
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
    for (const key of new Set([...newSteps.keys(), ...oldSteps.keys()])) {
      const side = (step: TimelineStep | undefined): ComparedSide | null =>
        step ? { durationMs: stepDuration(step), cached: step.cached } : null;
      const [oldStep, newStep] = [oldSteps.get(key), newSteps.get(key)];
      const compared = row(task, 'step', (newStep ?? oldStep)?.name ?? key, side(oldStep), side(newStep));
      compared.key = `${task.taskId}/step/${key}`;
      if (oldStep && newStep && oldStep.name !== newStep.name) compared.beforeName = oldStep.name;
      rows.push(compared);
    }
  }
  // A step that ran both times and took another time says most; one cached only once comes after.
  const ranTwice = (candidate: ComparedRow) => candidate.before?.cached === false && candidate.after?.cached === false;
  const biggest =
    rows
      .filter((candidate) => candidate.changed && candidate.kind === 'step' && candidate.deltaMs !== null)
      .sort(
        (a, b) => Number(ranTwice(b)) - Number(ranTwice(a)) || Math.abs(b.deltaMs ?? 0) - Math.abs(a.deltaMs ?? 0),
      )[0] ?? null;
  return { rows, biggest, totalBeforeMs: total(before), totalAfterMs: total(after) };
}
