import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Build, BuildSummary } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { dataDirError } from '../data-dir';
import { type FollowOptions, followLines } from '../logs/follow';
import type { LineWindow } from '../logs/reader';
import { readLines, taskSpoolEnded } from '../logs/reader';
import { logPath, repairSpool } from '../logs/spool';
import { assertPlainIds } from './build-ids';
import { BuildRecordWriter, buildDir, readBuild } from './build-store';
import { isBuildLive, listBuildIds } from './history-quota';

// The quota and the checks it shares with history live apart, so that a build's end loads no log reader.
export { applyHistoryQuota, enforceQuota, isBuildLive, listBuildIds } from './history-quota';

async function lastWrittenAt(directory: string, build: Build): Promise<string> {
  let latestMs = Date.parse(build.startedAt);
  for (const name of await readdir(directory)) {
    const info = await stat(join(directory, name)).catch(() => null);
    if (info) latestMs = Math.max(latestMs, info.mtimeMs);
  }
  return new Date(latestMs).toISOString();
}

/**
 * Marks a build that says it is running, but that no live process runs, as interrupted: its logs are
 * cut back to their last complete line, its unfinished tasks fail with E_INTERRUPTED. Returns whether
 * it did.
 */
export async function recoverBuild(dataDir: string, buildId: string): Promise<boolean> {
  const build = await readBuild(dataDir, buildId);
  if (build.status !== 'running' || (await isBuildLive(dataDir, buildId))) return false;
  const directory = buildDir(dataDir, buildId);
  // A temp record the dead process left half written is of no use to anyone.
  for (const name of await readdir(directory)) {
    if (/^\.(build|owner)\.json\.\d+\.tmp$/.test(name)) await rm(join(directory, name), { force: true });
  }
  build.finishedAt = await lastWrittenAt(directory, build);
  build.status = 'interrupted';
  for (const buildTask of build.tasks) {
    const spooled = await stat(logPath(directory, buildTask.task.id)).then(
      () => true,
      () => false,
    );
    if (spooled) buildTask.logLines = (await repairSpool(directory, buildTask.task.id)).lines;
    const phase = buildTask.state.phase;
    if (phase === 'done' || phase === 'failed' || phase === 'cancelled') continue;
    const startedMs = Date.parse(buildTask.startedAt ?? build.startedAt);
    buildTask.state = {
      phase: 'failed',
      error: {
        code: 'E_INTERRUPTED',
        message: `Slipway stopped while ${buildTask.task.service} was ${phase}; its log is kept up to the last complete line.`,
      },
      durationMs: Math.max(0, Date.parse(build.finishedAt) - startedMs),
    };
  }
  build.error ??= { code: 'E_INTERRUPTED', message: 'The build was cut off: the process running it stopped.' };
  await new BuildRecordWriter(directory).save(build);
  return true;
}

/** Marks every cut-off build of the data directory interrupted (see recoverBuild); returns their ids. */
export async function recoverInterrupted(dataDir: string): Promise<string[]> {
  const recovered: string[] = [];
  for (const id of await listBuildIds(dataDir)) {
    const done = await recoverBuild(dataDir, id).catch(() => false);
    if (done) recovered.push(id);
  }
  return recovered;
}

/** A build's record as history lists it. */
export function summarize(build: Build): BuildSummary {
  const finishedMs = build.finishedAt ? Date.parse(build.finishedAt) : null;
  return {
    id: build.id,
    projectPath: build.projectPath,
    status: build.status,
    region: build.region,
    startedAt: build.startedAt,
    finishedAt: build.finishedAt,
    durationMs: finishedMs === null ? null : Math.max(0, finishedMs - Date.parse(build.startedAt)),
    tasks: build.tasks.map((buildTask) => ({
      id: buildTask.task.id,
      service: buildTask.task.service,
      phase: buildTask.state.phase,
    })),
  };
}

/** The start time a build id spells (20261126-114501-3f9a2c), for a build whose record cannot say. */
function startedAtOf(buildId: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(buildId);
  const iso = match ? `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}.000Z` : '';
  return Number.isNaN(Date.parse(iso)) ? new Date(0).toISOString() : iso;
}

/** How history lists a build whose record is damaged: its id, its start time from the id, and why. */
function damagedSummary(buildId: string, damage: SlipwayError): BuildSummary {
  return {
    id: buildId,
    projectPath: '',
    status: 'damaged',
    damage: damage.toInfo(),
    region: '',
    startedAt: startedAtOf(buildId),
    finishedAt: null,
    durationMs: null,
    tasks: [],
  };
}

/** True for the errors of a record that is there but cannot be used. */
function isDamage(error: unknown): error is SlipwayError {
  return error instanceof SlipwayError && error.code === 'E_RECORD_DAMAGED';
}

/**
 * Every kept build, newest first. A build whose build.json is damaged is listed as such (see
 * BuildSummary); a folder without any build.json (a build that never got its first record) is left out.
 */
export async function listHistory(dataDir: string): Promise<BuildSummary[]> {
  const summaries: BuildSummary[] = [];
  for (const id of await listBuildIds(dataDir)) {
    try {
      summaries.push(summarize(await readBuild(dataDir, id)));
    } catch (error) {
      if (isDamage(error)) summaries.push(damagedSummary(id, error));
    }
  }
  return summaries;
}

/** Opens one build of history (running or not). */
export async function openBuild(dataDir: string, buildId: string): Promise<Build> {
  assertPlainIds(buildId);
  return readBuild(dataDir, buildId);
}

/** Deletes a build and its logs; a build still running is refused. */
export async function deleteBuild(dataDir: string, buildId: string): Promise<{ deleted: boolean }> {
  assertPlainIds(buildId);
  const ids = await listBuildIds(dataDir);
  if (!ids.includes(buildId)) return { deleted: false };
  if (await isBuildLive(dataDir, buildId)) {
    throw new SlipwayError('E_BAD_INPUT', `Build ${buildId} is still running; cancel it before deleting it`);
  }
  await rm(buildDir(dataDir, buildId), { recursive: true, force: true }).catch((error: unknown) => {
    throw dataDirError(error, buildDir(dataDir, buildId), 'write');
  });
  return { deleted: true };
}

/** The task a command means: the one named, or the build's only task. */
export function chooseTask(build: Build, taskId: string | undefined): string {
  const ids = build.tasks.map((buildTask) => buildTask.task.id);
  if (taskId !== undefined) {
    assertPlainIds(taskId);
    // A balena build also keeps the builder's own output, under build.logId.
    if (taskId === build.logId) return taskId;
    if (!ids.includes(taskId)) {
      throw new SlipwayError('E_BAD_INPUT', `Build ${build.id} has no task ${taskId}; its tasks: ${ids.join(', ')}`);
    }
    return taskId;
  }
  if (ids.length === 1) return ids[0] as string;
  throw new SlipwayError('E_BAD_INPUT', `Build ${build.id} has several tasks; name one with --task: ${ids.join(', ')}`);
}

/** True once a task's log will grow no more: its spool was closed, or its build is not running. */
export async function taskLogFinished(dataDir: string, buildId: string, taskId: string): Promise<boolean> {
  if (await taskSpoolEnded(buildDir(dataDir, buildId), taskId)) return true;
  const build = await readBuild(dataDir, buildId);
  return build.status !== 'running' || !(await isBuildLive(dataDir, buildId));
}

/** Follows a task's log of a build in history until the task ends (see followLines). */
export function followTaskLog(
  dataDir: string,
  buildId: string,
  taskId: string,
  options: Omit<FollowOptions, 'isFinished'> = {},
): AsyncGenerator<LineWindow> {
  assertPlainIds(buildId, taskId);
  return followLines(buildDir(dataDir, buildId), taskId, {
    ...options,
    isFinished: () => taskLogFinished(dataDir, buildId, taskId),
  });
}

/** Reads a window of a task's log of a build in history. */
export function readTaskLines(
  dataDir: string,
  buildId: string,
  taskId: string,
  fromLine: number,
  count: number,
): Promise<LineWindow> {
  assertPlainIds(buildId, taskId);
  return readLines(buildDir(dataDir, buildId), taskId, fromLine, count);
}
