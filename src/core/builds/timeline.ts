import type { Build, BuildTask } from '../../shared/domain';
import {
  type BuildTimeline,
  stageOf,
  type TimelinePhase,
  type TimelineStep,
  type TimelineTask,
} from '../../shared/timeline';
import { readLines } from '../logs/reader';
import { readStepRecords, type StepRecord, type VertexRecord } from '../logs/steps-file';

// The classic builder says a step came from the cache on the line after it: " ---> Using cache"
// (Docker), "--> Using cache <id>" (Podman's buildah).
const USING_CACHE = /^\s*-+> Using cache\b/;

/** Marks the classic steps whose next lines say they came from the cache. */
async function markCachedSteps(directory: string, taskId: string, steps: TimelineStep[]): Promise<void> {
  for (const [index, step] of steps.entries()) {
    if (step.line === null) continue;
    // The two lines after the step's own, never past the next step's.
    const nextLine = steps[index + 1]?.line ?? Number.POSITIVE_INFINITY;
    const count = Math.min(2, nextLine - step.line - 1);
    if (count <= 0) continue;
    const next = await readLines(directory, taskId, step.line + 1, count);
    step.cached = next.lines.some((text) => USING_CACHE.test(text));
  }
}

const timeOf = (iso: string | null | undefined): number | null => (iso ? Date.parse(iso) : null);

/** The queued, packing and upload bars of a task, from the times its record keeps. */
function phasesOf(build: Build, buildTask: BuildTask): TimelinePhase[] {
  const started = timeOf(buildTask.startedAt);
  const finished = timeOf(buildTask.finishedAt);
  const times = buildTask.phaseTimes ?? {};
  const packing = timeOf(times.packing);
  const uploading = timeOf(times.uploading);
  const building = timeOf(times.building);
  const phases: TimelinePhase[] = [];
  const buildStart = Date.parse(build.startedAt);
  phases.push({ kind: 'queued', startMs: buildStart, endMs: started ?? packing ?? finished });
  if (packing !== null) phases.push({ kind: 'packing', startMs: packing, endMs: uploading ?? building ?? finished });
  if (uploading !== null) phases.push({ kind: 'uploading', startMs: uploading, endMs: building ?? finished });
  return phases;
}

/** BuildKit's vertexes, the later record of a digest winning, in the order they first appeared. */
function vertexSteps(records: VertexRecord[]): TimelineStep[] {
  const byDigest = new Map<string, TimelineStep>();
  for (const record of records) {
    const seen = byDigest.get(record.vertex);
    byDigest.set(record.vertex, {
      id: record.vertex,
      name: record.name || seen?.name || record.vertex,
      stage: stageOf(record.name || seen?.name || ''),
      startMs: record.startedMs ?? seen?.startMs ?? null,
      endMs: record.completedMs ?? seen?.endMs ?? null,
      cached: record.cached || (seen?.cached ?? false),
      failed: record.error || (seen?.failed ?? false),
      line: seen?.line ?? record.line,
    });
  }
  // A cached vertex may come with no start: it took no time, at its end.
  return [...byDigest.values()].map((step) => ({ ...step, startMs: step.startMs ?? step.endMs }));
}

/** Classic steps: each lasts until the next one starts, the last until the task's spool ended. */
function classicSteps(records: StepRecord[], taskEndMs: number | null): TimelineStep[] {
  const steps: TimelineStep[] = [];
  let open: TimelineStep | null = null;
  let endedMs: number | null = null;
  for (const record of records) {
    if ('endedAtMs' in record) {
      if (open) open.endMs = record.endedAtMs;
      endedMs = record.endedAtMs;
      open = null;
    } else if ('step' in record) {
      if (open) open.endMs = record.atMs;
      open = {
        id: `step-${steps.length + 1}`,
        name: record.text,
        stage: null,
        startMs: record.atMs,
        endMs: null,
        cached: false,
        failed: false,
        line: record.line,
      };
      steps.push(open);
    }
  }
  if (open && endedMs === null && taskEndMs !== null) open.endMs = taskEndMs;
  return steps;
}

/** One task's lane: its phases from the record, its steps from its steps file. */
export async function taskTimeline(build: Build, directory: string, buildTask: BuildTask): Promise<TimelineTask> {
  const records = await readStepRecords(directory, buildTask.task.id);
  const vertexes = records.filter((record): record is VertexRecord => 'vertex' in record);
  const endMs = timeOf(buildTask.finishedAt);
  const steps = vertexes.length > 0 ? vertexSteps(vertexes) : classicSteps(records, endMs);
  if (vertexes.length === 0) await markCachedSteps(directory, buildTask.task.id, steps);
  if (buildTask.state.phase === 'failed') {
    // The step the builder was in when the task failed is the failed one, when the builder did not say.
    const last = steps[steps.length - 1];
    if (last && !steps.some((step) => step.failed) && vertexes.length === 0) last.failed = true;
  }
  return {
    taskId: buildTask.task.id,
    service: buildTask.task.service,
    phase: buildTask.state.phase,
    phases: phasesOf(build, buildTask),
    steps,
    startMs: timeOf(buildTask.startedAt),
    endMs,
    tarBytes: buildTask.scan?.tarBytes ?? null,
  };
}

/** The timeline of a build, running or from history, read from its record and steps files. */
export async function readTimeline(build: Build, directory: string): Promise<BuildTimeline> {
  return {
    buildId: build.id,
    startMs: Date.parse(build.startedAt),
    endMs: timeOf(build.finishedAt),
    tasks: await Promise.all(build.tasks.map((buildTask) => taskTimeline(build, directory, buildTask))),
  };
}
