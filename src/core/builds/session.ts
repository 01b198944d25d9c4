import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LogLineEvent, SlipwayEvent } from '../../shared/contract';
import type { Build, BuildTask, Endpoint, Project, TaskState } from '../../shared/domain';
import { SlipwayError, toErrorInfo } from '../../shared/errors';
import { startDockerBuild, transportError } from '../builders/docker';
import { type Connection, connect } from '../builders/endpoint';
import { DockerBuildParser } from '../logs/docker-parser';
import { type BuildRecord, LineFlag, type LogLine } from '../logs/log-line';
import { SpoolWriter } from '../logs/spool';
import { packContext, TarLengthGuard } from '../pack/pack';
import { planContext } from '../pack/plan';
import { ProgressCounter } from '../pack/progress-counter';
import { scanContext } from '../pack/scan';
import { BuildRecordWriter, buildDir, newBuildId } from './build-store';
import { Coalescer } from './throttle';

/** Progress and line-count events are sent at most this often per task. */
export const EVENT_INTERVAL_MS = 100;

export interface BuildSessionOptions {
  dataDir: string;
  project: Project;
  endpoint: Endpoint;
  /** Image tag; with several tasks each gets "-<service>" added to its repository. */
  tag?: string | null;
  /** Why this endpoint was chosen, kept in build.json and shown to the user. */
  reason?: string;
}

interface SessionEvents {
  event: [SlipwayEvent];
  line: [LogLineEvent];
}

function imageName(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '') || 'slipway'
  );
}

/** The tag of each task: the given tag for a lone task, "<repo>-<service>:<version>" for several. */
function taskTag(project: Project, service: string, tag: string | null | undefined): string {
  if (project.tasks.length === 1) return tag || imageName(project.name);
  if (!tag) return `${imageName(project.name)}-${imageName(service)}`;
  const colon = tag.lastIndexOf(':');
  const hasVersion = colon > tag.lastIndexOf('/');
  const repository = hasVersion ? tag.slice(0, colon) : tag;
  return `${repository}-${imageName(service)}${hasVersion ? tag.slice(colon) : ''}`;
}

/**
 * One build of a project: each task's context is scanned, packed and streamed to the builder, and its
 * response is parsed into the task's spool. Emits contract events; cancel destroys every stream.
 */
export class BuildSession extends EventEmitter<SessionEvents> {
  readonly build: Build;
  readonly directory: string;
  private readonly abort = new AbortController();
  private readonly record: BuildRecordWriter;

  constructor(private readonly options: BuildSessionOptions) {
    super();
    const id = newBuildId();
    this.directory = buildDir(options.dataDir, id);
    this.record = new BuildRecordWriter(this.directory);
    this.build = {
      id,
      projectPath: options.project.path,
      target: { name: 'default', kind: 'docker', endpoints: [options.endpoint] },
      region: options.endpoint.region,
      reason: options.reason ?? 'the only endpoint',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      status: 'running',
      tasks: options.project.tasks.map((task) => ({
        task,
        state: { phase: 'queued' },
        tag: taskTag(options.project, task.service, options.tag),
        scan: null,
        logLines: 0,
      })),
      error: null,
    };
  }

  /** Stops the build: packing, upload and the engine's build (its connection is closed). */
  cancel(): void {
    this.abort.abort(new SlipwayError('E_CANCELLED', 'The build was cancelled.'));
  }

  get cancelled(): boolean {
    return this.abort.signal.aborted;
  }

  /** Runs every task; resolves with the finished build. Never rejects: failures are in the build. */
  async run(): Promise<Build> {
    await this.record.save(this.build);
    this.emit('event', { type: 'build.started', build: this.build });
    let connection: Connection | null = null;
    try {
      connection = connect(this.options.endpoint);
      for (const buildTask of this.build.tasks) await this.runTask(buildTask, connection);
    } catch (error) {
      this.build.error = toErrorInfo(error);
    } finally {
      await connection?.dispatcher.destroy().catch(() => undefined);
    }
    const phases = this.build.tasks.map((buildTask) => buildTask.state.phase);
    const failed = this.build.tasks.find((buildTask) => buildTask.state.phase === 'failed');
    this.build.status = this.cancelled ? 'cancelled' : failed || this.build.error ? 'failed' : 'succeeded';
    if (!this.build.error && failed?.state.phase === 'failed') this.build.error = failed.state.error;
    if (this.cancelled && phases.some((phase) => phase === 'queued')) {
      for (const buildTask of this.build.tasks) {
        if (buildTask.state.phase === 'queued') buildTask.state = { phase: 'cancelled', durationMs: 0 };
      }
    }
    this.build.finishedAt = new Date().toISOString();
    await this.record.save(this.build);
    this.emit('event', {
      type: 'build.finished',
      buildId: this.build.id,
      status: this.build.status,
      error: this.build.error,
    });
    return this.build;
  }

  private async runTask(buildTask: BuildTask, connection: Connection): Promise<void> {
    if (this.cancelled) return;
    const startedMs = performance.now();
    const elapsed = () => Math.round(performance.now() - startedMs);
    const { task } = buildTask;
    const progress = new Coalescer<TaskState>(EVENT_INTERVAL_MS, (state) => this.setState(buildTask, state, false));
    const lineCount = new Coalescer<number>(EVENT_INTERVAL_MS, (lines) =>
      this.emit('event', { type: 'task.log', buildId: this.build.id, taskId: task.id, lines }),
    );
    const taskAbort = new AbortController();
    const onCancel = () => taskAbort.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onCancel);
    let spool: SpoolWriter | null = null;
    const writeLines = async (lines: LogLine[]) => {
      if (!spool || lines.length === 0) return;
      const first = spool.lines;
      await spool.write(lines);
      buildTask.logLines = spool.lines;
      for (const [offset, line] of lines.entries()) {
        this.emit('line', {
          type: 'task.line',
          buildId: this.build.id,
          taskId: task.id,
          line: first + offset,
          text: line.text,
        });
      }
      lineCount.push(buildTask.logLines);
    };
    try {
      spool = await SpoolWriter.open(this.directory, task.id);
      this.setState(buildTask, { phase: 'packing', files: 0, bytes: 0 });
      const plan = await planContext(task);
      const { largestFiles: _files, largestFolders: _folders, ...scan } = await scanContext(plan);
      buildTask.scan = scan;
      taskAbort.signal.throwIfAborted();
      await writeLines(
        scan.skipped.map((entry) => ({
          text: `Slipway: skipped ${entry.path} (${entry.reason}: tar cannot hold it)`,
          flags: 0,
        })),
      );
      this.setState(buildTask, { phase: 'packing', files: scan.files, bytes: scan.bytes });

      const uploadStartMs = performance.now();
      const uploading = (bytesSent: number): TaskState => ({
        phase: 'uploading',
        bytesSent,
        bytesTotal: scan.tarBytes,
        bytesPerSecond: Math.round(bytesSent / Math.max(0.001, (performance.now() - uploadStartMs) / 1000)),
      });
      this.setState(buildTask, uploading(0));
      const counter = new ProgressCounter((bytes) => progress.push(uploading(bytes)));
      const packed = pipeline(await packContext(plan), new TarLengthGuard(scan.tarBytes, task.contextPath), counter, {
        signal: taskAbort.signal,
      }).then(
        () => null,
        (error: unknown) => error,
      );
      let body: Readable;
      try {
        body = await startDockerBuild(connection, {
          body: counter,
          contentBytes: scan.tarBytes,
          dockerfile: plan.dockerfile,
          buildArgs: task.buildArgs,
          target: task.target,
          labels: task.labels,
          tag: buildTask.tag,
          gzip: false,
          signal: taskAbort.signal,
        });
      } catch (error) {
        taskAbort.abort(error);
        const packError = await packed;
        throw packError instanceof SlipwayError ? packError : error;
      }
      progress.flush();
      this.setState(buildTask, { phase: 'building', step: 0, steps: 0 });

      const parser = new DockerBuildParser();
      let imageId: string | null = null;
      let buildError: string | null = null;
      const consume = async (records: BuildRecord[]) => {
        const lines: LogLine[] = [];
        for (const record of records) {
          if (record.kind === 'line') lines.push(record.line);
          else if (record.kind === 'step') progress.push({ phase: 'building', step: record.step, steps: record.steps });
          else if (record.kind === 'image') imageId = record.imageId;
          else buildError ??= record.message;
        }
        await writeLines(lines);
      };
      try {
        for await (const chunk of body) await consume(parser.push(chunk as Buffer));
        await consume(parser.end());
      } catch (error) {
        body.destroy();
        throw transportError(connection, error, 'build');
      }
      const packError = await packed;
      if (packError) throw packError;
      progress.flush();
      if (buildError) {
        throw new SlipwayError('E_BUILD_FAILED', `${task.service}: ${buildError}`, {
          hint: `The full log is in ${this.directory}.`,
        });
      }
      this.setState(buildTask, { phase: 'done', imageId, durationMs: elapsed() });
    } catch (error) {
      progress.cancel();
      const cancelled = this.cancelled;
      if (!cancelled) {
        const info = toErrorInfo(error);
        await writeLines([{ text: `Slipway: ${info.code}: ${info.message}`, flags: LineFlag.error }]).catch(
          () => undefined,
        );
      }
      this.setState(
        buildTask,
        cancelled
          ? { phase: 'cancelled', durationMs: elapsed() }
          : { phase: 'failed', error: toErrorInfo(error), durationMs: elapsed() },
      );
    } finally {
      this.abort.signal.removeEventListener('abort', onCancel);
      taskAbort.abort();
      lineCount.flush();
      await spool?.close().catch(() => undefined);
    }
  }

  private setState(buildTask: BuildTask, state: TaskState, save = true): void {
    buildTask.state = state;
    this.emit('event', { type: 'task.state', buildId: this.build.id, taskId: buildTask.task.id, state });
    if (save) void this.record.save(this.build).catch(() => undefined);
  }
}
