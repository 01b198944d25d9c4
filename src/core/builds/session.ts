import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
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
import { DockerDriver } from '../builders/docker/driver';
import type { BuilderDriver, BuildJob, DriverRecord, JobContext, JobFailure, JobResult } from '../builders/driver';
import { type Connection, connect } from '../builders/endpoint';
import { shortCause, transportError } from '../builders/http-errors';
import { redactTarget } from '../builders/targets';
import { type LineRun, runLineText } from '../logs/line-run';
import { LineFlag, type LogLine } from '../logs/log-line';
import { SpoolWriter } from '../logs/spool';
import type { PreparedContext } from '../pack/prepare';
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
import { type BuildOptions, buildTasks } from './task-options';
import { type CompressMode, startUpload, type Upload } from './upload';

/** Progress and line-count events are sent at most this often per task. */
export const EVENT_INTERVAL_MS = 100;

/** A build may print nothing for a long time (a compile, a big download): 30 minutes of silence is allowed. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 30 * 60_000;

/** A link that takes no bytes of the context for a minute is not coming back in time. */
export const DEFAULT_UPLOAD_STALL_TIMEOUT_MS = 60_000;

/** How long an upload may trail the builder's complete answer before it is taken as cut short. */
const UPLOAD_GRACE_MS = 1000;

export type { CompressMode };

export interface BuildSessionOptions extends BuildOptions {
  dataDir: string;
  project: Project;
  /** The builder and its endpoints; `endpoint` alone is a one-endpoint docker target. */
  target?: BuilderTarget;
  endpoint?: Endpoint;
  /** The protocol spoken to the target (default: the Docker Engine API's classic builder). */
  driver?: BuilderDriver;
  /**
   * A connection already open to one of the regions (the one whose ping chose it): the session's
   * requests there go over it, the first one without a second connect (and TLS handshake). The
   * session closes it with its own.
   */
  connection?: Connection;
  /** Regions in the order jobs try them: the chosen one first (default: the target's order). */
  regions?: string[];
  /** Why the first region was chosen, kept in build.json and shown to the user. */
  reason?: string;
  /** Jobs that run at once (default 2): tasks on a docker target, one for the project on balena. */
  concurrency?: number;
  /** Stop the other tasks when one fails (default: let them finish). */
  failFast?: boolean;
  /** For the default driver: gzip the context (default: off for local sockets, on elsewhere). */
  compress?: CompressMode;
  /** For the default driver: contexts already planned and being scanned, by task id (see prepareContext). */
  prepared?: Map<string, Promise<PreparedContext>>;
  /** A job whose builder sends no complete message (nor takes upload bytes) for this long fails. */
  silenceTimeoutMs?: number;
  /** An upload that makes no progress for this long is a broken link: the job moves on (default 60 s). */
  uploadStallTimeoutMs?: number;
  /**
   * Awaited after each batch of lines is handed to the spool (its 'line' events follow once it is
   * stored): a shell that prints lines returns a promise while its output is backed up, so a slow
   * terminal or pipe slows the build's reading instead of filling memory.
   */
  outputReady?: () => Promise<void> | undefined;
}

/**
 * A batch of a task's lines once the spool holds them, as it was written: lines one by one, or a run
 * already in the log's encoding. What a shell that prints every line reads (the 'line' event makes an
 * event and a string per line). The listener owns a run's bytes: it calls `run.release()` once it no
 * longer reads them (after its write to stdout completed, say), so the parser can reuse them.
 */
export type StoredLines = { taskId: string; fromLine: number } & (
  | { lines: readonly LogLine[]; run?: undefined }
  | { run: LineRun; lines?: undefined }
);

interface SessionEvents {
  event: [SlipwayEvent];
  line: [LogLineEvent];
  lines: [StoredLines];
}

/** One open log of a running job: its spool and its coalesced line count. */
interface OpenLog {
  spool: SpoolWriter;
  lines: Coalescer<number>;
  buildTask: BuildTask | undefined;
}

/**
 * One build of a project, whatever the builder: its jobs (a task each on docker, the project on balena)
 * run with a concurrency limit, each with its own pipeline (file -> tar -> socket) and spools
 * (socket -> parser -> file). A job whose region fails before the build started moves to the next
 * region. Emits contract events; cancel destroys every stream and socket. What differs between
 * builders is the driver's (src/core/builders/driver.ts).
 */
export class BuildSession extends EventEmitter<SessionEvents> {
  readonly build: Build;
  readonly directory: string;
  private readonly abort = new AbortController();
  private readonly record: BuildRecordWriter;
  private readonly connections = new Map<string, Connection>();
  private readonly target: BuilderTarget;
  private readonly regions: string[];
  private readonly driver: BuilderDriver;
  private readonly jobs: BuildJob[];
  private readonly logs = new Map<string, OpenLog>();
  /** Each failed job's error, for the build's own when no other is set. */
  private readonly jobErrors = new Map<BuildJob, ErrorInfo>();
  private failedFast: ErrorInfo | null = null;
  /** Regions a job had to leave, with why: later jobs start past them. */
  private readonly leftRegions = new Map<string, string>();
  /** Each task as sent to the builder, with its build args unmasked; the record shows them masked. */
  private readonly sentTasks = new Map<string, Task>();
  /** Bytes of each job's context on the wire: the body's, or what the driver sent itself (BuildKit's session). */
  private readonly contextBytes = new Map<BuildJob, number>();

  constructor(private readonly options: BuildSessionOptions) {
    super();
    const target =
      options.target ??
      (options.endpoint ? { name: 'default', kind: 'docker' as const, endpoints: [options.endpoint] } : null);
    if (!target || target.endpoints.length === 0)
      throw new SlipwayError('E_BAD_INPUT', 'A build needs a builder endpoint');
    this.target = target;
    this.driver =
      options.driver ??
      new DockerDriver({ builder: 'classic', compress: options.compress, prepared: options.prepared });
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
    if (options.connection && this.regions.includes(options.connection.endpoint.region)) {
      this.connections.set(options.connection.endpoint.region, options.connection);
    }
    const id = newBuildId();
    this.directory = buildDir(options.dataDir, id);
    this.record = new BuildRecordWriter(this.directory);
    const region = this.regions[0] as string;
    this.build = {
      id,
      projectPath: options.project.path,
      target: redactTarget(target),
      region,
      reason: options.reason ?? 'the only endpoint',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      status: 'running',
      tasks: buildTasks(options.project, options, this.driver.tagsImages).map((entry) => {
        const { task } = entry;
        this.sentTasks.set(task.id, task);
        return {
          ...entry,
          task: task.buildArgs ? { ...task, buildArgs: maskSecretValues(task.buildArgs) } : task,
          region,
          builder: this.driver.name,
        };
      }),
      error: null,
    };
    this.jobs = this.driver.jobs(this.build);
  }

  /** Stops the build: packing, upload and the engine's build (its connection is closed). */
  cancel(): void {
    this.abort.abort(new SlipwayError('E_CANCELLED', 'The build was cancelled.'));
  }

  /**
   * Fails the build with an error from outside its jobs (the process guard's unhandled rejection):
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

  /** Runs every job; resolves with the finished build. Never rejects: failures are in the build. */
  async run(): Promise<Build> {
    try {
      return await this.runJobs();
    } finally {
      // Whatever the driver holds for jobs that never ran (prepared contexts of a cancelled build).
      await this.driver.close?.();
    }
  }

  private async runJobs(): Promise<Build> {
    if (!(await recordStarted(this.build, this.record, (event) => this.emit('event', event)))) {
      await this.closeConnections();
      return this.build;
    }
    const queue = [...this.jobs];
    const workers = Math.max(1, Math.min(this.options.concurrency ?? 2, queue.length));
    try {
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) await this.runJob(next);
        }),
      );
    } catch (error) {
      this.build.error = toErrorInfo(error);
    } finally {
      await this.closeConnections();
    }
    // A job's own error (balena: the release's) comes before its tasks' in the build's.
    if (!this.build.error && !this.cancelled) {
      this.build.error = this.jobs.map((job) => this.jobErrors.get(job)).find((error) => error !== undefined) ?? null;
    }
    // A cancelled build keeps an error of its cancel step (a release that could not be marked cancelled).
    const cancelError = this.cancelled ? this.build.error : null;
    Object.assign(this.build, finalStatus(this.build, this.cancelled));
    if (cancelError) this.build.error = cancelError;
    return recordFinished(this.build, this.record, (event) => this.emit('event', event));
  }

  /** Closing the pools closes every socket, including any the engine still holds a build on. */
  private async closeConnections(): Promise<void> {
    const pools = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(pools.map((connection) => connection.dispatcher.destroy().catch(() => undefined)));
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

  private async openLogs(job: BuildJob): Promise<void> {
    for (const logId of job.logIds) {
      const buildTask = job.tasks.find((candidate) => candidate.task.id === logId);
      const lines = new Coalescer<number>(EVENT_INTERVAL_MS, (count) =>
        this.emit('event', { type: 'task.log', buildId: this.build.id, taskId: logId, lines: count }),
      );
      // Lines are counted and shown once the spool holds them: a line lost to a full disk is never
      // printed, and logLines is what the log on disk has. Events per line are made only for a listener.
      const lineEvent = (line: number, text: string) =>
        this.emit('line', { type: 'task.line', buildId: this.build.id, taskId: logId, line, text });
      const onStored = (first: number, stored: readonly LogLine[]) => {
        if (buildTask) buildTask.logLines = first + stored.length;
        if (this.listenerCount('line') > 0) {
          // An indexed loop: entries() makes a pair for every line of the log.
          for (let offset = 0; offset < stored.length; offset++)
            lineEvent(first + offset, (stored[offset] as LogLine).text);
        }
        if (this.listenerCount('lines') > 0) this.emit('lines', { taskId: logId, fromLine: first, lines: stored });
        lines.push(first + stored.length);
      };
      const onStoredRun = (first: number, run: LineRun) => {
        if (buildTask) buildTask.logLines = first + run.count;
        if (this.listenerCount('line') > 0) {
          for (let offset = 0; offset < run.count; offset++) lineEvent(first + offset, runLineText(run, offset));
        }
        // A listener of 'lines' owns the run's bytes from here and releases them; without one they go back now.
        if (this.listenerCount('lines') > 0) this.emit('lines', { taskId: logId, fromLine: first, run });
        else run.release?.();
        lines.push(first + run.count);
      };
      const spool = await SpoolWriter.open(this.directory, logId, { onStored, onStoredRun });
      this.logs.set(logId, { spool, lines, buildTask });
    }
  }

  private async closeLogs(job: BuildJob): Promise<void> {
    for (const logId of job.logIds) {
      const log = this.logs.get(logId);
      if (!log) continue;
      this.logs.delete(logId);
      // Closing stores the last lines (and announces them) before their count goes out.
      await log.spool.close().catch(() => undefined);
      log.lines.flush();
    }
  }

  private async writeLines(logId: string, lines: LogLine[] | LineRun): Promise<void> {
    const log = this.logs.get(logId);
    if (!log) return;
    if (Array.isArray(lines)) {
      if (lines.length === 0) return;
      await log.spool.write(lines);
    } else await log.spool.writeRun(lines);
    // A shell prints lines once they are stored; it is not waited for (a disk round trip per socket read):
    // the lines still on their way are at most the spool's buffer, so its output's backlog stays bounded.
    await this.options.outputReady?.();
  }

  /** Resolves once every line of the job's logs is stored; rejects when one could not be (a full disk). */
  private async flushLogs(job: BuildJob): Promise<void> {
    for (const logId of job.logIds) await this.logs.get(logId)?.spool.flush();
  }

  /** Writes Slipway's own remarks to a job's log. */
  private note(job: BuildJob, texts: string[], flags = 0): Promise<void> {
    return this.writeLines(
      job.logId,
      texts.map((text) => ({ text, flags })),
    );
  }

  private async runJob(job: BuildJob): Promise<void> {
    const startedMs = performance.now();
    const elapsed = () => Math.round(performance.now() - startedMs);
    if (this.abort.signal.aborted) {
      this.setJobState(job, { phase: 'cancelled', durationMs: 0 });
      return;
    }
    for (const buildTask of job.tasks) buildTask.startedAt = new Date().toISOString();
    let context: JobContext | null = null;
    try {
      await this.openLogs(job);
      const { warnings, errors } = this.driver.check(job);
      // A builder that names images itself (balena: by release) is not sent the tags given for the build.
      if (!this.driver.tagsImages && (this.options.tag || this.options.tags?.length)) {
        warnings.unshift(
          `tags (--tag) of ${job.tasks.map((buildTask) => `service ${buildTask.task.service}`).join(', ')} are not sent: this builder names its images itself`,
        );
      }
      await this.note(
        job,
        warnings.map((warning) => `Slipway: warning: ${warning}`),
      );
      if (errors[0]) throw errors[0];
      this.setJobState(job, { phase: 'packing', files: 0, bytes: 0 });
      context = await this.driver.context(job, this.abort.signal);
      this.abort.signal.throwIfAborted();
      const jobContext = context;
      const scanning: Promise<ContextScan> = jobContext.scan.then(async (scan) => {
        for (const buildTask of job.tasks) buildTask.scan = scan;
        await this.note(job, jobContext.notes(scan));
        for (const buildTask of job.tasks) {
          if (buildTask.state.phase === 'packing')
            this.setState(buildTask, { phase: 'packing', files: scan.files, bytes: scan.bytes });
        }
        return scan;
      });
      // Whoever needs the scan awaits it; a failed scan also fails the upload's length guard.
      scanning.catch(() => undefined);
      const result = await this.tryRegions(job, jobContext, scanning);
      await this.note(job, result.notes);
      if (result.releaseId !== undefined) this.build.releaseId = result.releaseId;
      // Done means its whole log is on disk: a write that failed at the end fails the job (a release
      // whose log could not all be stored is not reported as a success with a short log).
      await this.flushLogs(job);
      await this.describeImages(job, result);
      const bytesSent = this.contextBytes.get(job);
      for (const buildTask of job.tasks) {
        const imageId = result.imageIds.get(buildTask.task.id) ?? null;
        const done: TaskState = { phase: 'done', imageId, durationMs: elapsed() };
        this.setState(buildTask, bytesSent === undefined ? done : { ...done, bytesSent }, false);
      }
    } catch (error) {
      const stopped = this.abort.signal.aborted;
      if (stopped) {
        this.setJobState(job, { phase: 'cancelled', durationMs: elapsed() }, false);
        if (this.cancelled && this.driver.cancel) await this.cancelStep(job);
      } else {
        const info = toErrorInfo(error);
        this.jobErrors.set(job, info);
        await this.note(job, [`Slipway: ${info.code}: ${info.message}`], LineFlag.error).catch(() => undefined);
        const taskErrors = (error as JobFailure).taskErrors;
        for (const buildTask of job.tasks) {
          const own = taskErrors?.get(buildTask.task.id) ?? info;
          this.setState(buildTask, { phase: 'failed', error: own, durationMs: elapsed() }, false);
        }
        if (this.options.failFast) {
          this.failedFast = info;
          this.abort.abort(error);
        }
      }
    } finally {
      await context?.dispose();
      for (const buildTask of job.tasks) buildTask.finishedAt = new Date().toISOString();
      await this.closeLogs(job);
      await this.record.save(this.build).catch(() => undefined);
    }
  }

  /**
   * Asks the engine what each built image is (id, tags, size) for the build's summary. The build is
   * done whatever it answers: a failure is kept in the record, and the summary shows it beside the id.
   */
  private async describeImages(job: BuildJob, result: JobResult): Promise<void> {
    const driver = this.driver;
    if (!driver.describeImage) return;
    for (const buildTask of job.tasks) {
      const imageId = result.imageIds.get(buildTask.task.id);
      if (!imageId || !buildTask.region) continue;
      try {
        buildTask.image = await driver.describeImage(imageId, this.connection(buildTask.region), this.abort.signal);
      } catch (error) {
        this.abort.signal.throwIfAborted();
        buildTask.image = null;
        buildTask.imageError = toErrorInfo(error);
      }
    }
  }

  /** The driver's step after a cancel (balena: mark the release cancelled); a failure is the build's error. */
  private async cancelStep(job: BuildJob): Promise<void> {
    try {
      await this.note(job, (await this.driver.cancel?.(job, this.build)) ?? []);
    } catch (error) {
      this.build.error = toErrorInfo(error);
      await this.note(job, [`Slipway: ${this.build.error.code}: ${this.build.error.message}`], LineFlag.error).catch(
        () => undefined,
      );
    }
  }

  /** Tries the job on each region in turn while its failures allow failover. */
  private async tryRegions(job: BuildJob, context: JobContext, scanning: Promise<ContextScan>): Promise<JobResult> {
    const healthy = this.regions.filter((region) => !this.leftRegions.has(region));
    const order = healthy.length > 0 ? healthy : this.regions;
    let reason =
      order[0] === this.regions[0] ? this.build.reason : (this.leftRegions.get(this.regions[0] as string) as string);
    for (let attempt = 0; ; attempt++) {
      const region = order[attempt] as string;
      // The builder follows the engine of the region (Podman's buildah in one, BuildKit in another).
      const builder = (await this.driver.builderOn?.(this.connection(region), this.abort.signal)) ?? this.driver.name;
      for (const buildTask of job.tasks) {
        buildTask.region = region;
        buildTask.builder = builder;
        this.emit('event', {
          type: 'task.region',
          buildId: this.build.id,
          taskId: buildTask.task.id,
          region,
          reason,
          builder,
        });
      }
      const outcome = await this.attempt(job, region, context, attempt, scanning).then(
        (result) => ({ result, error: null }),
        (error: unknown) => ({ result: null, error }),
      );
      await context.attemptDone();
      if (!outcome.error) return outcome.result as JobResult;
      // A context that cannot be scanned explains the failure better than the upload it broke. A
      // cancelled job does not wait for its scan: disposing of it stops it.
      const scanError = this.abort.signal.aborted
        ? null
        : await scanning.then(
            () => null,
            (thrown: unknown) => thrown,
          );
      const error = scanError && !this.abort.signal.aborted ? scanError : outcome.error;
      const next = order[attempt + 1];
      const started = (error as { buildStarted?: boolean }).buildStarted === true;
      if (this.abort.signal.aborted || !next || !this.driver.failover(error, started)) throw error;
      reason = `failover from ${region}: ${shortCause(error)}`;
      this.leftRegions.set(region, reason);
      const info = toErrorInfo(error);
      await this.note(job, [`Slipway: ${info.code}: ${info.message}`, `Slipway: ${reason}; trying ${next}`]);
    }
  }

  /**
   * One try of a job on one region: upload, then read the answer into the spools. A failure after the
   * builder answered carries `buildStarted`, so it is never retried elsewhere.
   */
  private async attempt(
    job: BuildJob,
    region: string,
    context: JobContext,
    attemptIndex: number,
    scanning: Promise<ContextScan>,
  ): Promise<JobResult> {
    const connection = this.connection(region);
    const attemptAbort = new AbortController();
    const onStop = () => attemptAbort.abort(this.abort.signal.reason);
    if (this.abort.signal.aborted) onStop();
    else this.abort.signal.addEventListener('abort', onStop, { once: true });
    const silenceMs = this.options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    const watchdog = setTimeout(() => {
      attemptAbort.abort(
        new SlipwayError(
          'E_BUILDER_TIMEOUT',
          `The builder at ${connection.label} sent no complete message for ${Math.round(silenceMs / 1000)} s`,
          { hint: 'A build may stay silent while it works; raise --silence-timeout if this one does.' },
        ),
      );
    }, silenceMs);
    const kick = () => watchdog.refresh();
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
      if (state.phase === 'packing' && (total !== null || job.tasks[0]?.state.phase !== 'packing')) return;
      this.setJobState(job, state, false);
    });
    let response: Readable | null = null;
    let upload: Upload | null = null;
    try {
      const uploadStartMs = performance.now();
      const uploading = (bytesSent: number, bytesTotal: number, wireBytes: number | null): TaskState => ({
        phase: 'uploading',
        bytesSent,
        bytesTotal,
        bytesPerSecond: Math.round(
          (wireBytes ?? bytesSent) / Math.max(0.001, (performance.now() - uploadStartMs) / 1000),
        ),
        ...(wireBytes === null ? {} : { compressedBytesSent: wireBytes }),
      });
      scanning.then(
        (scan) => {
          total = scan.tarBytes;
        },
        () => undefined,
      );
      const known = job.tasks[0]?.scan;
      if (known) {
        total = known.tarBytes;
        this.setJobState(job, uploading(0, total, null));
      }
      const source = await context.open(attemptIndex);
      const gzip = source !== null && this.driver.gzip(connection);
      upload = startUpload({
        source,
        tarBytes: known ? known.tarBytes : context.tarBytes,
        root: context.root,
        gzip,
        signal: attemptAbort.signal,
        onBytes: (bytes, wireBytes) => {
          kick();
          this.contextBytes.set(job, wireBytes ?? bytes);
          if (total === null || bytes < total) stallTimer.refresh();
          else clearTimeout(stallTimer);
          if (total !== null) progress.push(uploading(bytes, total, wireBytes));
          else if (job.tasks[0]?.state.phase === 'packing')
            progress.push({ phase: 'packing', files: 0, bytes: 0, bytesSent: bytes });
        },
      });
      const sent = upload;
      try {
        response = await this.driver.send(this.sentJob(job), connection, {
          body: sent.body,
          contentBytes: gzip || typeof sent.tarBytes !== 'number' ? null : sent.tarBytes,
          gzip,
          signal: attemptAbort.signal,
          context,
          onContextBytes: (bytes) => {
            kick();
            this.contextBytes.set(job, bytes);
            const current = job.tasks[0]?.state;
            if (current?.phase === 'building') progress.push({ ...current, bytesSent: bytes });
            else progress.push(uploading(bytes, total ?? 0, null));
          },
        });
      } catch (error) {
        // A stall, the silence watchdog or a cancel explains the failed request better than the socket does.
        const stopped = attemptAbort.signal.aborted ? (attemptAbort.signal.reason ?? error) : error;
        attemptAbort.abort(error);
        const packError = await sent.settled;
        // A context that changed or could not be read explains it better still.
        throw isContextError(packError) && packError !== error ? packError : stopped;
      }
      clearTimeout(stallTimer);
      kick();
      const onUploaded = () => {
        progress.flush();
        if (!this.abort.signal.aborted) this.setJobState(job, { phase: 'building', step: 0, steps: 0 });
      };
      // A context the driver sends itself goes while the builder works: the task shows it uploading
      // until the builder's first step.
      if (context.sentByDriver) {
        if (job.tasks[0]?.state.phase !== 'uploading') this.setJobState(job, uploading(0, total ?? 0, null));
      } else if (sent.done) onUploaded();
      else sent.settled.then((error) => (error ? undefined : onUploaded()));
      const parser = this.driver.parser(job, { connection, directory: this.directory });
      try {
        for await (const chunk of response) {
          await this.consume(job, parser.push(chunk as Buffer), progress);
          if (parser.alive) kick();
        }
        await this.consume(job, parser.end(), progress);
      } catch (error) {
        response.destroy();
        await this.consume(job, parser.end(), progress).catch(() => undefined);
        const cause = attemptAbort.signal.aborted ? attemptAbort.signal.reason : error;
        throw started(cause instanceof SlipwayError ? cause : transportError(connection, cause, 'build'));
      }
      // The builder has said all it will say (it may refuse a build before reading the whole upload):
      // what it did not read of the body is moot, and waiting for it could wait forever.
      let cutShort = false;
      if (!sent.done) {
        // The last body bytes' acknowledgement may trail the builder's last message by a moment.
        const grace = new AbortController();
        await Promise.race([sent.settled, delay(UPLOAD_GRACE_MS, undefined, { signal: grace.signal }).catch(() => 0)]);
        grace.abort();
        cutShort = !sent.done;
        if (cutShort) attemptAbort.abort();
      }
      const uploadError = cutShort ? null : await sent.settled;
      await sent.settled;
      this.abort.signal.throwIfAborted();
      progress.flush();
      if (isContextError(uploadError)) throw started(uploadError);
      const failure = parser.failure();
      // A context the driver sends itself whose transfer broke before the builder's first step: nothing
      // was built yet, so the job may still move to the next region, as after a reset tar upload.
      const cutBeforeBuild =
        context.sentByDriver && failure?.code === 'E_UPLOAD_RESET' && job.tasks[0]?.state.phase === 'uploading';
      if (failure) throw cutBeforeBuild ? failure : started(failure);
      if (uploadError) throw started(transportError(connection, uploadError, 'upload'));
      try {
        return parser.result({ cutShort });
      } catch (error) {
        throw started(error);
      }
    } finally {
      clearTimeout(watchdog);
      clearTimeout(stallTimer);
      progress.cancel();
      response?.destroy();
      attemptAbort.abort();
      // Wait for the pipeline to close its files, so a cancelled task leaves no descriptor open.
      await upload?.settled;
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  /** Spools a batch of records and follows their steps and releases. */
  private async consume(job: BuildJob, records: DriverRecord[], progress: Coalescer<TaskState>): Promise<void> {
    let lines: LogLine[] = [];
    // Records that name no log are the task's (a job of one task) or the job's own.
    const ownLog = job.tasks.length === 1 ? (job.tasks[0] as BuildTask).task.id : job.logId;
    let linesOf = ownLog;
    const flush = async () => {
      await this.writeLines(linesOf, lines);
      lines = [];
    };
    for (const record of records) {
      if (record.kind === 'line') {
        const logId = record.logId ?? ownLog;
        if (logId !== linesOf) {
          await flush();
          linesOf = logId;
        }
        lines.push(record.line);
      } else if (record.kind === 'run') {
        // A run goes to the spool as it is, after the lines before it.
        await flush();
        linesOf = record.logId ?? ownLog;
        await this.writeLines(linesOf, record.run);
      } else if (record.kind === 'step') {
        const buildTask = record.taskId ? job.tasks.find((candidate) => candidate.task.id === record.taskId) : null;
        const bytesSent = this.contextBytes.get(job);
        const state: TaskState = { phase: 'building', step: record.step, steps: record.steps };
        if (bytesSent !== undefined) state.bytesSent = bytesSent;
        if (buildTask) this.setState(buildTask, state, false);
        else progress.push(state);
      } else if (record.kind === 'vertex') {
        const logId = record.taskId ?? ownLog;
        const spool = this.logs.get(logId)?.spool;
        // The vertex's output starts after the lines still waiting to be written here.
        const line = (spool?.nextLine ?? 0) + (logId === linesOf ? lines.length : 0);
        const { vertex, name, startedMs, completedMs, cached, error } = record;
        spool?.recordStep({ vertex, name, line, startedMs, completedMs, cached, error });
      } else if (record.kind === 'release') {
        this.build.releaseId = record.releaseId;
        void this.record.save(this.build).catch(() => undefined);
      }
    }
    await flush();
  }

  /** The job as the builder is sent it: its tasks with their build args unmasked. */
  private sentJob(job: BuildJob): BuildJob {
    return {
      ...job,
      tasks: job.tasks.map((buildTask) => ({
        ...buildTask,
        task: this.sentTasks.get(buildTask.task.id) ?? buildTask.task,
      })),
    };
  }

  private setJobState(job: BuildJob, state: TaskState, save = true): void {
    for (const buildTask of job.tasks) this.setState(buildTask, state, false);
    if (save) void this.record.save(this.build).catch(() => undefined);
  }

  private setState(buildTask: BuildTask, state: TaskState, save = true): void {
    const phase = buildTask.state.phase;
    // A task that finished (or a building one, for upload progress arriving late) keeps its state.
    if (phase === 'done' || phase === 'failed' || phase === 'cancelled') return;
    if (phase === 'building' && (state.phase === 'uploading' || state.phase === 'packing')) return;
    if (phase === 'building' && state.phase === 'building' && state.step === 0 && buildTask.state.step > 0) return;
    buildTask.state = state;
    // The first moment of each phase before the build: the timeline's queued, packing and upload bars.
    if (state.phase === 'packing' || state.phase === 'uploading' || state.phase === 'building') {
      buildTask.phaseTimes ??= {};
      buildTask.phaseTimes[state.phase] ??= new Date().toISOString();
    }
    this.emit('event', { type: 'task.state', buildId: this.build.id, taskId: buildTask.task.id, state });
    if (save) void this.record.save(this.build).catch(() => undefined);
  }
}

function isContextError(error: unknown): error is SlipwayError {
  return error instanceof SlipwayError && error.code.startsWith('E_CONTEXT');
}

/** Marks an error as happening after the builder started the build: no failover for it. */
function started(error: unknown): unknown {
  if (error && typeof error === 'object') Object.assign(error, { buildStarted: true });
  return error;
}
