import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { SlipwayEvent } from '../../shared/contract';
import type { Build } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';

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

/**
 * Writes build.json atomically: a temp file beside it, then a rename. Writes of one build are
 * serialized. While the build runs, owner.json names this process; it goes when the build ends.
 */
export class BuildRecordWriter {
  private chain: Promise<void> = Promise.resolve();
  private owned = false;
  /** Set by saveLast: what the build's own code still saves after it is dropped. */
  private closed = false;

  constructor(private readonly directory: string) {}

  save(build: Build): Promise<void> {
    if (this.closed) return this.chain;
    const text = `${JSON.stringify(build, null, 2)}\n`;
    const running = build.status === 'running';
    this.chain = this.chain.then(async () => {
      await mkdir(this.directory, { recursive: true });
      if (running && !this.owned) {
        const owner: BuildOwner = { pid: process.pid, host: hostname() };
        await writeFile(ownerPath(this.directory), `${JSON.stringify(owner)}\n`);
        this.owned = true;
      }
      await this.replace(text);
      if (!running) await rm(ownerPath(this.directory), { force: true });
    });
    return this.chain;
  }

  /** The last write of a build whose process quits now, after the one in flight; later saves are dropped. */
  saveLast(build: Build): Promise<void> {
    const last = this.save(build);
    this.closed = true;
    return last;
  }

  private async replace(text: string): Promise<void> {
    const target = join(this.directory, 'build.json');
    const temporary = join(this.directory, `.build.json.${process.pid}.tmp`);
    try {
      await writeFile(temporary, text);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      if (!isDiskFull(error)) throw error;
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

/** Reads one build's record; a build that does not exist is an E_BAD_INPUT naming the folder. */
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
    throw error;
  }
  try {
    return JSON.parse(text) as Build;
  } catch (error) {
    throw new SlipwayError('E_INTERNAL', `${path} is not valid JSON`, { cause: error });
  }
}

/** The last step of every session: stamps the build finished, writes build.json, and says so. */
export async function recordFinished(
  build: Build,
  record: BuildRecordWriter,
  emit: (event: SlipwayEvent) => void,
): Promise<Build> {
  build.finishedAt = new Date().toISOString();
  await record.save(build);
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
