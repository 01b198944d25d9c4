import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { SlipwayEvent } from '../../shared/contract';
import type { Build, BuildStatus } from '../../shared/domain';
import { type ErrorInfo, SlipwayError, toErrorInfo } from '../../shared/errors';
import { maskSecretValues } from '../../shared/secret-names';
import { DATA_FILE_MODE, dataDirError, ensurePrivateDir } from '../data-dir';

/** The folder that holds every build's metadata and logs. */
export function buildsDir(dataDir: string): string {
  return join(dataDir, 'builds');
}

export function buildDir(dataDir: string, buildId: string): string {
  return join(buildsDir(dataDir), buildId);
}

/** A build id that sorts by start time: 20261126-114501-3f9a2c. */
export function newBuildId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Which process runs a build, kept beside build.json while it runs so a later start can tell a crash. */
export interface BuildOwner {
  pid: number;
  host: string;
}

export function ownerPath(directory: string): string {
  return join(directory, 'owner.json');
}

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** build.json's text: the build with every task's secret-looking build-arg values masked. */
function recordText(build: Build): string {
  const text = JSON.stringify(
    build,
    (key, value) => (key === 'buildArgs' && value ? maskSecretValues(value) : value),
    2,
  );
  return `${text}\n`;
}

/** Writes a small file whole or not at all: a temp file beside it, then a rename; the temp goes on failure. */
async function writeWhole(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, text, { mode: DATA_FILE_MODE });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Writes build.json atomically: a temp file beside it, then a rename. Writes of one build are
 * serialized. While the build runs, owner.json names this process; it goes when the build ends.
 * Every failure is a coded error of the data directory (full, read-only, not writable). When the very
 * first write fails, nothing of the build is left behind: no empty folder, no empty owner.json.
 */
export class BuildRecordWriter {
  private chain: Promise<void> = Promise.resolve();
  private owned = false;
  private saved = false;
  /** Set by saveLast: what the build's own code still saves after it is dropped. */
  private closed = false;

  constructor(private readonly directory: string) {}

  save(build: Build): Promise<void> {
    if (this.closed) return this.chain;
    const text = recordText(build);
    const running = build.status === 'running';
    // A failed write does not stop the next one: the next state may fit where this one did not.
    this.chain = this.chain
      .catch(() => undefined)
      .then(async () => {
        try {
          await this.write(text, running);
          this.saved = true;
        } catch (error) {
          if (!this.saved) await this.removeTraces();
          throw dataDirError(error, join(this.directory, 'build.json'), 'write');
        }
      });
    return this.chain;
  }

  private async write(text: string, running: boolean): Promise<void> {
    await ensurePrivateDir(this.directory);
    if (running && !this.owned) {
      const owner: BuildOwner = { pid: process.pid, host: hostname() };
      await writeWhole(ownerPath(this.directory), `${JSON.stringify(owner)}\n`);
      this.owned = true;
    }
    await this.replace(text);
    if (!running) await rm(ownerPath(this.directory), { force: true });
  }

  /** Removes what a first write that failed may have made: its owner file, then its folder if empty. */
  private async removeTraces(): Promise<void> {
    this.owned = false;
    await rm(ownerPath(this.directory), { force: true }).catch(() => undefined);
    await rmdir(this.directory).catch(() => undefined);
  }

  /** The last write of a build whose process quits now, after the one in flight; later saves are dropped. */
  saveLast(build: Build): Promise<void> {
    const last = this.save(build);
    this.closed = true;
    return last;
  }

  private async replace(text: string): Promise<void> {
    const target = join(this.directory, 'build.json');
    try {
      await writeWhole(target, text);
    } catch (error) {
      if (!isDiskFull(error) || !this.saved) throw error;
      // A full disk has no room for the temp file, but the record's own blocks can take the final
      // status: losing it would leave the build "running" for ever.
      try {
        const file = await open(target, 'r+');
        try {
          await file.write(text, 0);
          await file.truncate(Buffer.byteLength(text));
        } finally {
          await file.close();
        }
      } catch (inPlaceError) {
        throw new SlipwayError('E_SPOOL_DISK_FULL', `The disk is full: cannot write ${target}`, {
          hint: 'Free some space or delete old builds.',
          cause: inPlaceError,
        });
      }
    }
  }
}

function damaged(path: string, problem: string): SlipwayError {
  return new SlipwayError('E_RECORD_DAMAGED', `${path} is damaged: ${problem}`, {
    hint: 'Its logs are kept beside it. Fix the file, or delete the build from history; the quota never deletes it.',
  });
}

/**
 * Reads one build's record and checks it against the schema of build.json: a build that does not exist
 * is an E_BAD_INPUT naming the folder, a record that does not match is E_RECORD_DAMAGED naming the file.
 */
export async function readBuild(dataDir: string, buildId: string): Promise<Build> {
  const path = join(buildDir(dataDir, buildId), 'build.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SlipwayError('E_BAD_INPUT', `No build ${buildId} in ${buildsDir(dataDir)}`, {
        hint: 'Run "slipway history" to see the builds kept.',
      });
    }
    throw dataDirError(error, path, 'read');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(path, text.length === 0 ? 'it is empty' : 'it is not valid JSON');
  }
  const { buildRecordSchema, describeProblems } = await import('../../shared/schemas');
  const checked = buildRecordSchema.safeParse(value);
  if (!checked.success) throw damaged(path, describeProblems(checked.error));
  if (checked.data.id !== buildId) throw damaged(path, `it names build ${checked.data.id}, not ${buildId}`);
  return checked.data as unknown as Build;
}

/**
 * The status a session ends with. A build succeeds only when every one of its tasks is done: a task
 * that never ran (no worker took it) fails the build instead of being reported as built.
 */
export function finalStatus(build: Build, cancelled: boolean): { status: BuildStatus; error: ErrorInfo | null } {
  if (cancelled) return { status: 'cancelled', error: { code: 'E_CANCELLED', message: 'The build was cancelled.' } };
  const failed = build.tasks.find((buildTask) => buildTask.state.phase === 'failed');
  const error = build.error ?? (failed?.state.phase === 'failed' ? failed.state.error : null);
  if (error) return { status: 'failed', error };
  const notRun = build.tasks.find((buildTask) => buildTask.state.phase !== 'done');
  if (notRun) {
    return {
      status: 'failed',
      error: {
        code: 'E_INTERNAL',
        message: `Task ${notRun.task.id} ended ${notRun.state.phase}, never built: the build is not a success`,
      },
    };
  }
  return { status: 'succeeded', error: null };
}

/**
 * The first step of every session: writes the record and says the build started. When the record
 * cannot be written (a full, read-only or forbidden data directory) the build fails before any task
 * runs, is announced as finished with that error, and false is returned; nothing is left on disk.
 */
export async function recordStarted(
  build: Build,
  record: BuildRecordWriter,
  emit: (event: SlipwayEvent) => void,
): Promise<boolean> {
  try {
    await record.save(build);
    emit({ type: 'build.started', build });
    return true;
  } catch (error) {
    build.status = 'failed';
    build.error = toErrorInfo(error);
    build.finishedAt = new Date().toISOString();
    emit({ type: 'build.started', build });
    emit({ type: 'build.finished', buildId: build.id, status: build.status, error: build.error });
    return false;
  }
}

/** The last step of every session: stamps the build finished, writes build.json, and says so. Never rejects. */
export async function recordFinished(
  build: Build,
  record: BuildRecordWriter,
  emit: (event: SlipwayEvent) => void,
): Promise<Build> {
  build.finishedAt = new Date().toISOString();
  try {
    await record.save(build);
  } catch (error) {
    // The build ran, but its record says "running" until a later start marks it interrupted: it is
    // not reported as a success it cannot show.
    build.status = 'failed';
    build.error = toErrorInfo(error);
  }
  emit({ type: 'build.finished', buildId: build.id, status: build.status, error: build.error });
  return build;
}

/**
 * Records a build cancelled at once, for a process that quits without waiting for its tasks to stop:
 * every task not yet finished is cancelled, and build.json is written last (see saveLast).
 */
export function recordAbandoned(build: Build, record: BuildRecordWriter): Promise<void> {
  const now = new Date();
  for (const task of build.tasks) {
    const { phase } = task.state;
    if (phase === 'done' || phase === 'failed' || phase === 'cancelled') continue;
    const startedMs = task.startedAt ? Date.parse(task.startedAt) : now.getTime();
    task.state = { phase: 'cancelled', durationMs: Math.max(0, now.getTime() - startedMs) };
    task.finishedAt ??= now.toISOString();
  }
  build.status = 'cancelled';
  build.error = { code: 'E_CANCELLED', message: 'The build was cancelled.' };
  build.finishedAt = now.toISOString();
  return record.saveLast(build);
}
