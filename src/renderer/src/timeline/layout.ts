import type { BuildTimeline, TimelinePhaseKind, TimelineStep, TimelineTask } from '../../../shared/timeline';

/** A task with more steps than this shows its stages folded until one is opened. */
export const FOLD_STEPS_ABOVE = 40;

/** How many of the build's slowest steps are named. */
export const SLOWEST_COUNT = 3;

/** A bar narrower than this would vanish: a step that took no time still shows. */
const MIN_BAR_PX = 3;

/** Time between axis ticks, the first that leaves at least this many pixels between labels. */
const MIN_TICK_PX = 90;
const TICK_STEPS_MS = [
  100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000,
];

export type BarKind = TimelinePhaseKind | 'step' | 'stage';

export interface LayoutBar {
  key: string;
  kind: BarKind;
  /** Left edge and width on the time axis, in pixels. */
  x: number;
  widthPx: number;
  startMs: number;
  endMs: number;
  durationMs: number;
  /** Still going: it ends at "now". */
  running: boolean;
  cached: boolean;
  failed: boolean;
  /** One of the build's slowest steps. */
  slowest: boolean;
  label: string;
  /** The log line the step's output starts at, to open the log there. */
  line: number | null;
}

export interface LayoutRow {
  key: string;
  taskId: string;
  /** task: the task's own row (its phases); stage: a stage of its steps; step: one step. */
  kind: 'task' | 'stage' | 'step';
  label: string;
  /** 0 a task, 1 a stage (or a step of a task without stages), 2 a step inside a stage. */
  depth: number;
  /** For a stage row: whether its steps are shown below it. */
  expanded?: boolean;
  /** For a folded stage row: how many steps it holds, and how many were cached. */
  steps?: number;
  cachedSteps?: number;
  bars: LayoutBar[];
}

export interface SlowStep {
  taskId: string;
  service: string;
  name: string;
  durationMs: number;
  barKey: string;
}

export interface TimelineLayout {
  /** The time at x = 0. */
  originMs: number;
  spanMs: number;
  widthPx: number;
  ticks: { x: number; label: string }[];
  rows: LayoutRow[];
  slowest: SlowStep[];
}

export interface LayoutOptions {
  /** The width the whole build takes at zoom 1. */
  widthPx: number;
  /** 1 fits the build; 2 doubles the width (the view scrolls). */
  zoom: number;
  /** Now, for what still runs. */
  nowMs: number;
  /** Stages the user opened or folded (key: `<task>/<stage>`), over the default for the task's size. */
  stageToggles?: Readonly<Record<string, boolean>>;
}

/** A stage's key in stageToggles. */
export function stageKey(taskId: string, stage: string | null): string {
  return `${taskId}/${stage ?? ''}`;
}

/** The words for a stage: its name, or "other" for the builder's own work (context, export). */
export function stageLabel(stage: string | null): string {
  return stage === null ? 'other' : stage;
}

/** An axis label: 0s, 0.5s, 12s, 1m 30s, 1h 5m. */
export function tickLabel(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

interface Span {
  startMs: number;
  endMs: number;
  running: boolean;
}

/** A step's span: a step that never said when it started is left out. */
function stepSpan(step: TimelineStep, nowMs: number): Span | null {
  if (step.startMs === null) return null;
  const running = step.endMs === null;
  return { startMs: step.startMs, endMs: Math.max(step.startMs, step.endMs ?? nowMs), running };
}

/** Steps grouped by stage, stages in the order their first step appears. */
function byStage(steps: TimelineStep[]): Map<string | null, TimelineStep[]> {
  const groups = new Map<string | null, TimelineStep[]>();
  for (const step of steps) {
    const group = groups.get(step.stage);
    if (group) group.push(step);
    else groups.set(step.stage, [step]);
  }
  return groups;
}

/**
 * Lays a build's timeline out: one lane per task (its queued, packing and upload bars), then its steps
 * grouped by stage on a shared time axis. Parallel stages overlap in time on rows of their own; a task
 * with many steps shows its stages folded (one bar each) until one is opened. A pure function of the
 * timeline and the view's options.
 */
export function layoutTimeline(timeline: BuildTimeline, options: LayoutOptions): TimelineLayout {
  const { nowMs } = options;
  const spans: Span[] = [];
  for (const task of timeline.tasks) {
    for (const phase of task.phases) spans.push(phaseSpan(phase, nowMs));
    for (const step of task.steps) {
      const span = stepSpan(step, nowMs);
      if (span) spans.push(span);
    }
  }
  const originMs = Math.min(timeline.startMs, ...spans.map((span) => span.startMs));
  const endMs = Math.max(timeline.endMs ?? nowMs, ...spans.map((span) => span.endMs));
  const spanMs = Math.max(1, endMs - originMs);
  const widthPx = Math.max(1, Math.round(options.widthPx * Math.max(1, options.zoom)));
  const pxPerMs = widthPx / spanMs;

  const slowest = slowestSteps(timeline, nowMs);
  const slowKeys = new Set(slowest.map((step) => step.barKey));
  const bar = (key: string, kind: BarKind, span: Span, fields: Partial<LayoutBar> = {}): LayoutBar => {
    const x = (span.startMs - originMs) * pxPerMs;
    return {
      key,
      kind,
      x,
      widthPx: Math.max(MIN_BAR_PX, (span.endMs - span.startMs) * pxPerMs),
      startMs: span.startMs,
      endMs: span.endMs,
      durationMs: span.endMs - span.startMs,
      running: span.running,
      cached: false,
      failed: false,
      slowest: slowKeys.has(key),
      label: '',
      line: null,
      ...fields,
    };
  };

  const rows: LayoutRow[] = [];
  for (const task of timeline.tasks) {
    rows.push({
      key: `task:${task.taskId}`,
      taskId: task.taskId,
      kind: 'task',
      label: task.service,
      depth: 0,
      bars: task.phases.map((phase) =>
        bar(`${task.taskId}:${phase.kind}`, phase.kind, phaseSpan(phase, nowMs), { label: phase.kind }),
      ),
    });
    const stepBar = (step: TimelineStep, span: Span) =>
      bar(stepBarKey(task, step), 'step', span, {
        cached: step.cached,
        failed: step.failed,
        label: step.name,
        line: step.line,
      });
    const groups = byStage(task.steps);
    const foldByDefault = task.steps.length > FOLD_STEPS_ABOVE;
    const withStages = groups.size > 1 || foldByDefault;
    for (const [stage, steps] of groups) {
      const placed = steps.flatMap((step) => {
        const span = stepSpan(step, nowMs);
        return span ? [{ step, span }] : [];
      });
      if (!withStages) {
        for (const { step, span } of placed) {
          rows.push(stepRow(task, step, 1, stepBar(step, span)));
        }
        continue;
      }
      const key = stageKey(task.taskId, stage);
      const expanded = options.stageToggles?.[key] ?? !foldByDefault;
      const cachedSteps = steps.filter((step) => step.cached).length;
      const stageBars =
        expanded || placed.length === 0
          ? []
          : [
              bar(
                `stage:${key}`,
                'stage',
                {
                  startMs: Math.min(...placed.map(({ span }) => span.startMs)),
                  endMs: Math.max(...placed.map(({ span }) => span.endMs)),
                  running: placed.some(({ span }) => span.running),
                },
                {
                  label: stageLabel(stage),
                  cached: cachedSteps === steps.length,
                  failed: steps.some((step) => step.failed),
                  slowest: placed.some(({ step }) => slowKeys.has(stepBarKey(task, step))),
                },
              ),
            ];
      rows.push({
        key: `stage:${key}`,
        taskId: task.taskId,
        kind: 'stage',
        label: stageLabel(stage),
        depth: 1,
        expanded,
        steps: steps.length,
        cachedSteps,
        bars: stageBars,
      });
      if (expanded) for (const { step, span } of placed) rows.push(stepRow(task, step, 2, stepBar(step, span)));
    }
  }
  return { originMs, spanMs, widthPx, ticks: ticks(spanMs, pxPerMs), rows, slowest };
}

function phaseSpan(phase: { startMs: number; endMs: number | null }, nowMs: number): Span {
  return {
    startMs: phase.startMs,
    endMs: Math.max(phase.startMs, phase.endMs ?? nowMs),
    running: phase.endMs === null,
  };
}

function stepBarKey(task: TimelineTask, step: TimelineStep): string {
  return `${task.taskId}:${step.id}`;
}

function stepRow(task: TimelineTask, step: TimelineStep, depth: number, stepBar: LayoutBar): LayoutRow {
  return { key: `step:${stepBar.key}`, taskId: task.taskId, kind: 'step', label: step.name, depth, bars: [stepBar] };
}

/** The build's slowest steps that did work (cached ones took no work), longest first. */
function slowestSteps(timeline: BuildTimeline, nowMs: number): SlowStep[] {
  const candidates: SlowStep[] = [];
  for (const task of timeline.tasks) {
    for (const step of task.steps) {
      const span = stepSpan(step, nowMs);
      if (!span || step.cached) continue;
      candidates.push({
        taskId: task.taskId,
        service: task.service,
        name: step.name,
        durationMs: span.endMs - span.startMs,
        barKey: stepBarKey(task, step),
      });
    }
  }
  return candidates
    .filter((step) => step.durationMs > 0)
    .sort((a, b) => b.durationMs - a.durationMs)
    .slice(0, SLOWEST_COUNT);
}

function ticks(spanMs: number, pxPerMs: number): { x: number; label: string }[] {
  const everyMs =
    TICK_STEPS_MS.find((ms) => ms * pxPerMs >= MIN_TICK_PX) ?? (TICK_STEPS_MS[TICK_STEPS_MS.length - 1] as number);
  const result: { x: number; label: string }[] = [];
  for (let ms = 0; ms <= spanMs; ms += everyMs) result.push({ x: ms * pxPerMs, label: tickLabel(ms) });
  return result;
}
