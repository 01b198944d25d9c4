import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { LogLineEvent, SlipwayEvent } from '../../shared/contract';
import type {
  Build,
  BuilderTarget,
  BuildTask,
  ContextScan,
  Endpoint,
  Project,
  Task,
  TaskState,
} from '../../shared/domain';
import { type ErrorInfo, SlipwayError, toErrorInfo } from '../../shared/errors';
import { boundMessage, bounds, withinBound } from '../../shared/numbers';
import { maskSecretValues } from '../../shared/secret-names';
import { BuilderRejection, transportError } from '../builders/docker';
import { type Connection, connect } from '../builders/endpoint';
import { redactTarget } from '../builders/targets';
import { DockerBuildParser } from '../logs/docker-parser';
import { type BuildRecord, LineFlag, type LogLine } from '../logs/log-line';
import { SpoolWriter } from '../logs/spool';
import type { ContextPlan } from '../pack/plan';
import { disposePrepared, type PreparedContext, prepareContext } from '../pack/prepare';
import type { ReadAhead } from '../pack/read-ahead-host';
import type { ScanRun } from '../pack/scan';
import type { ScanSpool } from '../pack/scan-spool';
import { type CompressMode, shouldGzip, uploadContext } from '../upload/context-upload';
import {
  BuildRecordWriter,
  buildDir,
  finalStatus,
  newBuildId,
  recordAbandoned,
  recordFinished,
  recordStarted,
} from './build-store';
import { Coalescer } from './coalescer';

/** Progress and line-count events are sent at most this often per task. */
export const EVENT_INTERVAL_MS = 100;

/** A build may print nothing for a long time (a compile, a big download): 30 minutes of silence is allowed. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 30 * 60_000;

/** A link that takes no bytes of the context for a minute is not coming back in time. */
export const DEFAULT_UPLOAD_STALL_TIMEOUT_MS = 60_000;

export interface BuildSessionOptions {
  dataDir: string;
  project: Project;
  /** The builder and its endpoints; `endpoint` alone is a one-endpoint docker target. */
  target?: BuilderTarget;
  endpoint?: Endpoint;
  /** Regions in the order tasks try them: the chosen one first (default: the target's order). */
  regions?: string[];
  /** Image tag; with several tasks each gets "-<service>" added to its repository. */
  tag?: string | null;
  /** Why the first region was chosen, kept in build.json and shown to the user. */
  reason?: string;
  /** Tasks that run at once (default 2). */
  concurrency?: number;
  /** Stop the other tasks when one fails (default: let them finish). */
  failFast?: boolean;
  compress?: CompressMode;
  noCache?: boolean;
  /** Build arguments given for the whole build; a task's own come first and these override them. */
  buildArgs?: Record<string, string>;
  /** A task whose builder sends no complete message (nor takes upload bytes) for this long fails. */
  silenceTimeoutMs?: number;
  /** An upload that makes no progress for this long is a broken link: the task moves on (default 60 s). */
  uploadStallTimeoutMs?: number;
  /**
   * Awaited after each batch of 'line' events: a shell that prints lines returns a promise while its
   * output is backed up, so a slow terminal or pipe slows the build's reading instead of filling memory.
   */
  outputReady?: () => Promise<void> | undefined;
  /**
   * Contexts already planned and being scanned, by task id (see prepareContext): a shell that starts
   * them before it has picked a region gives the scan a head start. The session disposes of any it
   * does not use.
   */
  prepared?: Map<string, Promise<PreparedContext>>;
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

/**
 * The tag of each task: the given tag for a lone task, "<repo>-<service>:<version>" for several; without
 * one, the task's own first tag (compose's `image:` or `<project>-<service>`), else the project's name.
 */
function taskTag(project: Project, task: Task, tag: string | null | undefined): string {
  const service = task.service;
  if (!tag && task.tags?.[0]) return task.tags[0];
  if (project.tasks.length === 1) return tag || imageName(project.name);
  if (!tag) return `${imageName(project.name)}-${imageName(service)}`;
  const colon = tag.lastIndexOf(':');
  const hasVersion = colon > tag.lastIndexOf('/');
  const repository = hasVersion ? tag.slice(0, colon) : tag;
  return `${repository}-${imageName(service)}${hasVersion ? tag.slice(colon) : ''}`;
}

/**
 * Failures that happen before the engine started building leave nothing behind on it, so the task can
 * move to another region: refused, reset during the upload, a 5xx, or silence before any answer.
 */
function allowsFailover(error: unknown): boolean {
  if (error instanceof BuilderRejection) return error.statusCode >= 500;
  if (!(error instanceof SlipwayError)) return false;
  return (
    error.code === 'E_BUILDER_UNREACHABLE' || error.code === 'E_UPLOAD_RESET' || error.code === 'E_BUILDER_TIMEOUT'
  );
}

/** The short cause of a failure for a reason string: the socket's code (ECONNRESET), else the error code. */
function shortCause(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && !code.startsWith('E_')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  if (error instanceof BuilderRejection) return `HTTP ${error.statusCode}`;
  return toErrorInfo(error).code;
}

/**
 * One build of a project: its tasks run with a concurrency limit, each with its own pipeline
 * (file -> tar -> socket) and spool (socket -> parser -> file). A task whose region fails before the
 * build started moves to the next region. Emits contract events; cancel destroys every stream and socket.
 */
export class BuildSession extends EventEmitter<SessionEvents> {
  readonly build: Build;
  readonly directory: string;
  private readonly abort = new AbortController();
  private readonly record: BuildRecordWriter;
  private readonly connections = new Map<string, Connection>();
  private readonly target: BuilderTarget;
  private readonly regions: string[];
  private failedFast: ErrorInfo | null = null;
  /** Regions a task had to leave, with why: later tasks start past them. */
  private readonly leftRegions = new Map<string, string>();
  /** Each task as sent to the builder, with its build args unmasked; the record shows them masked. */
  private readonly sentTasks = new Map<string, Task>();

  constructor(private readonly options: BuildSessionOptions) {
    super();
    const target =
      options.target ??
      (options.endpoint ? { name: 'default', kind: 'docker' as const, endpoints: [options.endpoint] } : null);
    if (!target || target.endpoints.length === 0)
      throw new SlipwayError('E_BAD_INPUT', 'A build needs a builder endpoint');
    this.target = target;
    const known = target.endpoints.map((endpoint) => endpoint.region);
    this.regions = (options.regions ?? known).filter((region) => known.includes(region));
    if (this.regions.length === 0) {
      throw new SlipwayError(
        'E_BAD_INPUT',
        `None of the regions ${options.regions?.join(', ')} is an endpoint of ${target.name}`,
      );
    }
    // A concurrency that is not a bounded whole number (a bad settings.json once gave NaN, and NaN
    // workers run nothing) is refused before anything is recorded.
    if (options.concurrency !== undefined && !withinBound(options.concurrency, bounds.concurrency)) {
      throw new SlipwayError('E_BAD_INPUT', `concurrency ${boundMessage(bounds.concurrency, options.concurrency)}`);
    }
    const id = newBuildId();
    this.directory = buildDir(options.dataDir, id);
    this.record = new BuildRecordWriter(this.directory);
    this.build = {
      id,
      projectPath: options.project.path,
      target: redactTarget(target),
      region: this.regions[0] as string,
      reason: options.reason ?? 'the only endpoint',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      status: 'running',
      tasks: options.project.tasks.map((projectTask) => {
        const task = options.buildArgs
          ? { ...projectTask, buildArgs: { ...projectTask.buildArgs, ...options.buildArgs } }
          : projectTask;
        this.sentTasks.set(task.id, task);
        return {
          task: task.buildArgs ? { ...task, buildArgs: maskSecretValues(task.buildArgs) } : task,
          state: { phase: 'queued' },
          tag: taskTag(options.project, task, options.tag),
          scan: null,
          logLines: 0,
          region: this.regions[0] as string,
          startedAt: null,
          finishedAt: null,
        };
      }),
      error: null,
    };
  }

  /** Stops the build: packing, upload and the engine's build (its connection is closed). */
  cancel(): void {
    this.abort.abort(new SlipwayError('E_CANCELLED', 'The build was cancelled.'));
  }

  /**
   * Fails the build with an error from outside its tasks (the process guard's unhandled rejection):
   * every stream stops as on cancel, but the build is recorded failed with that error.
   */
  fail(error: SlipwayError): void {
    if (this.abort.signal.aborted) return;
    this.failedFast = error.toInfo();
    this.build.error ??= this.failedFast;
    this.abort.abort(error);
  }

  /** The process quits at once (a second Ctrl-C): stops everything and records the build cancelled now. */
  abandon(): Promise<void> {
    this.cancel();
    return recordAbandoned(this.build, this.record);
  }

  get cancelled(): boolean {
    return this.abort.signal.aborted && this.failedFast === null;
  }

  /** Runs every task; resolves with the finished build. Never rejects: failures are in the build. */
  async run(): Promise<Build> {
    try {
      return await this.runTasks();
    } finally {
      // Contexts prepared for tasks that never ran (cancelled, failed fast, or no build at all).
      if (this.options.prepared) await disposePrepared(this.options.prepared.values());
    }
  }

  private async runTasks(): Promise<Build> {
    if (!(await recordStarted(this.build, this.record, (event) => this.emit('event', event)))) return this.build;
    const queue = [...this.build.tasks];
    const workers = Math.max(1, Math.min(this.options.concurrency ?? 2, queue.length));
    try {
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await this.runTask(next);
        }),
      );
    } catch (error) {
      this.build.error = toErrorInfo(error);
    } finally {
      // Closing the pools closes every socket, including any the engine still holds a build on.
      const pools = [...this.connections.values()];
      this.connections.clear();
      await Promise.all(pools.map((connection) => connection.dispatcher.destroy().catch(() => undefined)));
    }
    Object.assign(this.build, finalStatus(this.build, this.cancelled));
    return recordFinished(this.build, this.record, (event) => this.emit('event', event));
  }

  private connection(region: string): Connection {
    let connection = this.connections.get(region);
    if (!connection) {
      const endpoint = this.target.endpoints.find((candidate) => candidate.region === region) as Endpoint;
      connection = connect(endpoint);
      this.connections.set(region, connection);
    }
    return connection;
  }

  private async runTask(buildTask: BuildTask): Promise<void> {
    const startedMs = performance.now();
    const elapsed = () => Math.round(performance.now() - startedMs);
    if (this.abort.signal.aborted) {
      this.setState(buildTask, { phase: 'cancelled', durationMs: 0 });
      return;
    }
    buildTask.startedAt = new Date().toISOString();
    const { task } = buildTask;
    let scanRun: ScanRun | null = null;
    let readAhead: ReadAhead | null = null;
    const lineCount = new Coalescer<number>(EVENT_INTERVAL_MS, (lines) =>
      this.emit('event', { type: 'task.log', buildId: this.build.id, taskId: task.id, lines }),
    );
    let spool: SpoolWriter | null = null;
    const writeLines = async (lines: LogLine[]) => {
      if (!spool || lines.length === 0) return;
      await spool.write(lines);
      if (this.options.outputReady) {
        // A shell that prints lines prints them once stored: wait for that, then for its output.
        await spool.flush();
        await this.options.outputReady();
      }
    };
    // Lines are counted and shown once the spool holds them: a line lost to a full disk is never
    // printed, and logLines is what the log on disk has.
    const onStored = (first: number, lines: readonly LogLine[]) => {
      buildTask.logLines = first + lines.length;
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
      spool = await SpoolWriter.open(this.directory, task.id, { onStored });
      this.setState(buildTask, { phase: 'packing', files: 0, bytes: 0 });
      const preparing = this.options.prepared?.get(task.id) ?? prepareContext(task);
      this.options.prepared?.delete(task.id);
      // The scan runs in a worker beside the first upload, which starts at once and is sent chunked;
      // the task shows "packing" until the scan gives the exact size, then "uploading" against it.
      const { plan, scan: started, readAhead: firstReadAhead } = await preparing;
      scanRun = started;
      readAhead = firstReadAhead;
      this.abort.signal.throwIfAborted();
      const scanSpool = scanRun.spool as ScanSpool;
      const scanning: Promise<ContextScan> = scanRun.result.then(
        async ({ largestFiles: _files, largestFolders: _folders, ...scan }) => {
          buildTask.scan = scan;
          await writeLines(
            scan.skipped.map((entry) => ({
              text: `Slipway: skipped ${entry.path} (${entry.reason}: tar cannot hold it)`,
              flags: 0,
            })),
          );
          if (buildTask.state.phase === 'packing') {
            this.setState(buildTask, { phase: 'packing', files: scan.files, bytes: scan.bytes });
          }
          return scan;
        },
      );
      // Whoever needs the scan awaits it; a failed scan also fails the upload's length guard.
      scanning.catch(() => undefined);
      const healthy = this.regions.filter((region) => !this.leftRegions.has(region));
      const order = healthy.length > 0 ? healthy : this.regions;
      let reason =
        order[0] === this.regions[0] ? this.build.reason : (this.leftRegions.get(this.regions[0] as string) as string);
      for (let attempt = 0; ; attempt++) {
        const region = order[attempt] as string;
        buildTask.region = region;
        this.emit('event', { type: 'task.region', buildId: this.build.id, taskId: task.id, region, reason });
        const source = { scanning, spool: scanSpool, readAhead: readAhead ?? undefined };
        const outcome = await this.attempt(buildTask, region, plan, source, writeLines).then(
          (result) => ({ result, error: null }),
          (error: unknown) => ({ result: null, error }),
        );
        // The read-ahead started with the scan serves the first attempt only (and is stopped here if
        // that attempt never got to packing); a failover reads the spool anew.
        await readAhead?.stop();
        readAhead = null;
        if (!outcome.error) {
          const { imageId } = outcome.result as { imageId: string | null };
          // Done means its whole log is on disk: a write that failed at the end fails the task.
          await spool.flush();
          this.setState(buildTask, { phase: 'done', imageId, durationMs: elapsed() });
          return;
        }
        // A context that cannot be scanned explains the failure better than the upload it broke. A
        // cancelled task does not wait for its scan: disposing of it below stops it.
        const scanError = this.abort.signal.aborted
          ? null
          : await scanning.then(
              () => null,
              (thrown: unknown) => thrown,
            );
        const error = scanError && !this.abort.signal.aborted ? scanError : outcome.error;
        const next = order[attempt + 1];
        const started = (error as { buildStarted?: boolean }).buildStarted === true;
        if (this.abort.signal.aborted || started || !next || !allowsFailover(error)) throw error;
        reason = `failover from ${region}: ${shortCause(error)}`;
        this.leftRegions.set(region, reason);
        const info = toErrorInfo(error);
        await writeLines([
          { text: `Slipway: ${info.code}: ${info.message}`, flags: LineFlag.error },
          { text: `Slipway: ${reason}; trying ${next}`, flags: 0 },
        ]);
      }
    } catch (error) {
      const stopped = this.abort.signal.aborted;
      if (!stopped) {
        const info = toErrorInfo(error);
        await writeLines([{ text: `Slipway: ${info.code}: ${info.message}`, flags: LineFlag.error }]).catch(
          () => undefined,
        );
      }
      this.setState(
        buildTask,
        stopped
          ? { phase: 'cancelled', durationMs: elapsed() }
          : { phase: 'failed', error: toErrorInfo(error), durationMs: elapsed() },
      );
      if (!stopped && this.options.failFast) {
        this.failedFast = toErrorInfo(error);
        this.abort.abort(error);
      }
    } finally {
      await Promise.all([readAhead?.stop(), scanRun?.dispose()]);
      buildTask.finishedAt = new Date().toISOString();
      await spool?.close().catch(() => undefined);
      lineCount.flush();
      await this.record.save(this.build).catch(() => undefined);
    }
  }

  /**
   * One try of a task on one region: upload, then read the response into the spool. A failure after
   * the engine answered carries `buildStarted`, so it is never retried elsewhere.
   */
  private async attempt(
    buildTask: BuildTask,
    region: string,
    plan: ContextPlan,
    { scanning, spool, readAhead }: { scanning: Promise<ContextScan>; spool: ScanSpool; readAhead?: ReadAhead },
    writeLines: (lines: LogLine[]) => Promise<void>,
  ): Promise<{ imageId: string | null }> {
    const task = this.sentTasks.get(buildTask.task.id) ?? buildTask.task;
    const connection = this.connection(region);
    const attemptAbort = new AbortController();
    const onStop = () => attemptAbort.abort(this.abort.signal.reason);
    if (this.abort.signal.aborted) onStop();
    else this.abort.signal.addEventListener('abort', onStop, { once: true });
    const silenceMs = this.options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    let watchdog: NodeJS.Timeout | null = null;
    const kick = () => {
      watchdog?.refresh();
    };
    watchdog = setTimeout(() => {
      attemptAbort.abort(
        new SlipwayError(
          'E_BUILDER_TIMEOUT',
          `The builder at ${connection.label} sent no complete message for ${Math.round(silenceMs / 1000)} s`,
          { hint: 'A build may stay silent while it works; raise --silence-timeout if this one does.' },
        ),
      );
    }, silenceMs);
    const stallMs = this.options.uploadStallTimeoutMs ?? DEFAULT_UPLOAD_STALL_TIMEOUT_MS;
    const stallTimer = setTimeout(() => {
      attemptAbort.abort(
        new SlipwayError(
          'E_BUILDER_TIMEOUT',
          `The upload to ${connection.label} made no progress for ${Math.round(stallMs / 1000)} s`,
          { hint: 'The link to this region stalled.' },
        ),
      );
    }, stallMs);
    // Null until the scan beside the upload gives the exact size; "uploading" is only shown against it.
    let total: number | null = null;
    const progress = new Coalescer<TaskState>(EVENT_INTERVAL_MS, (state) => {
      // Bytes sent during the scan, held back until after the scan's own figures, are stale by then.
      if (state.phase === 'packing' && (total !== null || buildTask.state.phase !== 'packing')) return;
      this.setState(buildTask, state, false);
    });
    let response: Readable | null = null;
    let packed: Promise<unknown> | null = null;
    try {
      const uploadStartMs = performance.now();
      const uploading = (bytesSent: number, bytesTotal: number): TaskState => ({
        phase: 'uploading',
        bytesSent,
        bytesTotal,
        bytesPerSecond: Math.round(bytesSent / Math.max(0.001, (performance.now() - uploadStartMs) / 1000)),
      });
      const tarBytes = scanning.then((scan) => {
        total = scan.tarBytes;
        return total;
      });
      tarBytes.catch(() => undefined);
      const known = buildTask.scan;
      if (known) {
        total = known.tarBytes;
        this.setState(buildTask, uploading(0, total));
      }
      const upload = await uploadContext({
        connection,
        task,
        plan,
        spool,
        readAhead,
        tarBytes: known ? known.tarBytes : tarBytes,
        tag: buildTask.tag,
        gzip: shouldGzip(this.options.compress ?? 'auto', connection),
        noCache: this.options.noCache,
        onBytes: (bytes) => {
          kick();
          if (total === null || bytes < total) stallTimer.refresh();
          else clearTimeout(stallTimer);
          if (total !== null) progress.push(uploading(bytes, total));
          else if (buildTask.state.phase === 'packing')
            progress.push({ phase: 'packing', files: 0, bytes: 0, bytesSent: bytes });
        },
        signal: attemptAbort.signal,
      }).catch((error: unknown) => {
        throw attemptAbort.signal.aborted ? (attemptAbort.signal.reason ?? error) : error;
      });
      response = upload.response;
      packed = upload.packed;
      clearTimeout(stallTimer);
      kick();
      progress.flush();
      this.setState(buildTask, { phase: 'building', step: 0, steps: 0 });

      const parser = new DockerBuildParser();
      let imageId: string | null = null;
      let buildError: string | null = null;
      let invalidLines = 0;
      const consume = async (records: BuildRecord[]) => {
        const lines: LogLine[] = [];
        for (const record of records) {
          if (record.kind === 'line') {
            lines.push(record.line);
            if (record.line.flags & LineFlag.invalid) invalidLines += 1;
          } else if (record.kind === 'step')
            progress.push({ phase: 'building', step: record.step, steps: record.steps });
          else if (record.kind === 'image') imageId = record.imageId;
          else buildError ??= record.message;
        }
        // A complete message is a sign of life; a line dripping in a byte at a time is not.
        if (records.some((record) => record.kind !== 'line' || !(record.line.flags & LineFlag.continued))) kick();
        await writeLines(lines);
      };
      try {
        for await (const chunk of response) await consume(parser.push(chunk as Buffer));
        await consume(parser.end());
      } catch (error) {
        response.destroy();
        const cause = attemptAbort.signal.aborted ? attemptAbort.signal.reason : error;
        throw started(cause instanceof SlipwayError ? cause : transportError(connection, cause, 'build'));
      }
      const packError = await upload.packed;
      if (packError) throw started(packError);
      progress.flush();
      if (buildError) {
        throw started(
          new SlipwayError('E_BUILD_FAILED', `${task.service}: ${buildError}`, {
            hint: `The full log is in ${this.directory}.`,
          }),
        );
      }
      if (imageId === null && invalidLines > 0) {
        throw started(
          new SlipwayError(
            'E_BUILDER_PROTOCOL',
            `The builder at ${connection.label} answered ${invalidLines} line(s) that are not the engine's JSON messages, and no image`,
            { hint: 'Check that the URL points at a Docker-compatible engine, not a proxy or another service.' },
          ),
        );
      }
      return { imageId };
    } finally {
      clearTimeout(watchdog);
      clearTimeout(stallTimer);
      progress.cancel();
      response?.destroy();
      attemptAbort.abort();
      // Wait for the pipeline to close its files, so a cancelled task leaves no descriptor open.
      await packed;
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private setState(buildTask: BuildTask, state: TaskState, save = true): void {
    buildTask.state = state;
    this.emit('event', { type: 'task.state', buildId: this.build.id, taskId: buildTask.task.id, state });
    if (save) void this.record.save(this.build).catch(() => undefined);
  }
}

/** Marks an error as happening after the engine started the build: no failover for it. */
function started(error: unknown): unknown {
  if (error && typeof error === 'object') Object.assign(error, { buildStarted: true });
  return error;
}
