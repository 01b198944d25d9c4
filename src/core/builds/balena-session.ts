import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type { LogLineEvent, SlipwayEvent } from '../../shared/contract';
import type { Build, BuildTask, Endpoint, Project, TaskState } from '../../shared/domain';
import { type ErrorInfo, SlipwayError, toErrorInfo } from '../../shared/errors';
import {
  type BalenaBuildOptions,
  BalenaRejection,
  balenaApiOrigin,
  cancelBalenaRelease,
  checkTokenUrl,
  DEFAULT_BALENA_BUILDER_URL,
  startBalenaBuild,
} from '../builders/balena';
import { BALENA_BUILD_LOG_ID } from '../builders/balena-names';
import { transportError } from '../builders/docker';
import { type Connection, connect } from '../builders/endpoint';
import { redactUrl } from '../builders/endpoint-url';
import { BalenaBuildParser, type BalenaRecord } from '../logs/balena-parser';
import { LineFlag, type LogLine } from '../logs/log-line';
import { SpoolWriter } from '../logs/spool';
import { type BalenaPackPlan, packBalenaProject, planBalenaPack } from '../pack/balena-project';
import { TarLengthGuard } from '../pack/pack';
import { ProgressCounter } from '../pack/progress-counter';
import { BuildRecordWriter, buildDir, newBuildId, recordFinished, recordStarted } from './build-store';
import { Coalescer } from './coalescer';

/** Progress and line-count events are sent at most this often per task, as the docker session does. */
const EVENT_INTERVAL_MS = 100;

/** How long an upload may trail the builder's complete answer before it is taken as cut short. */
const UPLOAD_GRACE_MS = 1000;

export { BALENA_BUILD_LOG_ID };

export interface BalenaSessionOptions {
  dataDir: string;
  /** The project; its tasks (one per service) are known before the upload. */
  project: Project;
  /** The builder of each region, in the order they are tried; default balenaCloud's. */
  endpoints?: Endpoint[];
  /** The balena API for cancel; default the one beside the builder (builder.X -> api.X). */
  apiOrigin?: string;
  token: string;
  build: BalenaBuildOptions;
  /** Registry credentials to send as .balena/registry-secrets.json. */
  registrySecretsFile?: string | null;
  reason?: string;
}

interface SessionEvents {
  event: [SlipwayEvent];
  line: [LogLineEvent];
}

/** Codes that mean the builder never got the project: the next region may. */
const FAILOVER_CODES = new Set(['E_BUILDER_UNREACHABLE', 'E_UPLOAD_RESET']);

/**
 * One push of a project to the balena builder: the whole project is packed with balena's rules,
 * gzipped and streamed in one request; the one response is demultiplexed into a spool per service and
 * one for the build's own log. Emits the same events as the docker session. The token is only ever put
 * in request headers: never in the record, a log line or an event.
 */
export class BalenaSession extends EventEmitter<SessionEvents> {
  readonly build: Build;
  readonly directory: string;
  private readonly abort = new AbortController();
  private readonly record: BuildRecordWriter;
  private readonly endpoints: Endpoint[];
  private readonly tasksByService = new Map<string, BuildTask>();
  private readonly spools = new Map<string, SpoolWriter>();
  private readonly lineCounts = new Map<string, Coalescer<number>>();
  private readonly startedMs = performance.now();
  /** The builder has answered: from then on a failure is the build's, not a reason to change region. */
  private answered = false;

  constructor(private readonly options: BalenaSessionOptions) {
    super();
    const id = newBuildId();
    this.directory = buildDir(options.dataDir, id);
    this.record = new BuildRecordWriter(this.directory);
    this.endpoints = options.endpoints?.length
      ? options.endpoints
      : [{ region: 'balena-cloud', url: DEFAULT_BALENA_BUILDER_URL }];
    for (const endpoint of this.endpoints) checkTokenUrl(endpoint.url);
    if (options.apiOrigin) checkTokenUrl(options.apiOrigin);
    const first = this.endpoints[0] as Endpoint;
    this.build = {
      id,
      projectPath: options.project.path,
      target: {
        name: 'balena',
        kind: 'balena',
        // Credentials in a URL stay out of the record, as for docker targets.
        endpoints: this.endpoints.map((endpoint) => ({ region: endpoint.region, url: redactUrl(endpoint.url) })),
        fleet: options.build.fleet,
      },
      region: first.region,
      reason: options.reason ?? (this.endpoints.length === 1 ? 'the only builder' : 'the first builder given'),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      status: 'running',
      tasks: options.project.tasks.map((task) => ({
        task,
        state: { phase: 'queued' },
        tag: null,
        scan: null,
        logLines: 0,
        region: first.region,
      })),
      error: null,
      releaseId: null,
      logId: BALENA_BUILD_LOG_ID,
    };
    for (const buildTask of this.build.tasks) this.tasksByService.set(buildTask.task.service, buildTask);
  }

  /** Stops the push: the upload or the response stream is dropped, and a known release is marked cancelled. */
  cancel(): void {
    this.abort.abort(new SlipwayError('E_CANCELLED', 'The build was cancelled.'));
  }

  get cancelled(): boolean {
    return this.abort.signal.aborted;
  }

  /** Runs the push; resolves with the finished build. Never rejects: failures are in the build. */
  async run(): Promise<Build> {
    if (!(await recordStarted(this.build, this.record, (event) => this.emit('event', event)))) return this.build;
    try {
      for (const buildTask of this.build.tasks) await this.openSpool(buildTask.task.id);
      await this.openSpool(BALENA_BUILD_LOG_ID);
      const outcome = await this.push();
      await this.finish(outcome);
    } catch (error) {
      await this.finish({ kind: 'failed', error: this.cancelled ? null : toErrorInfo(error) });
    } finally {
      const closing = [...this.spools.values()].map((spool) =>
        spool.close().then(
          () => null,
          (error: unknown) => error,
        ),
      );
      // A release whose log could not all be stored is not reported as a success with a short log.
      const lost = (await Promise.all(closing)).find((error) => error !== null);
      if (lost && this.build.status === 'succeeded') {
        this.build.status = 'failed';
        this.build.error = toErrorInfo(lost);
      }
      for (const coalescer of this.lineCounts.values()) coalescer.flush();
    }
    return recordFinished(this.build, this.record, (event) => this.emit('event', event));
  }

  private async openSpool(logId: string): Promise<void> {
    // Lines are counted and shown once the spool holds them (see BuildSession).
    const onStored = (first: number, lines: readonly LogLine[]) => {
      const buildTask = this.build.tasks.find((candidate) => candidate.task.id === logId);
      if (buildTask) buildTask.logLines = first + lines.length;
      for (const [offset, line] of lines.entries()) {
        this.emit('line', {
          type: 'task.line',
          buildId: this.build.id,
          taskId: logId,
          line: first + offset,
          text: line.text,
        });
      }
      this.lineCounts.get(logId)?.push(first + lines.length);
    };
    this.spools.set(logId, await SpoolWriter.open(this.directory, logId, { onStored }));
    this.lineCounts.set(
      logId,
      new Coalescer<number>(EVENT_INTERVAL_MS, (lines) =>
        this.emit('event', { type: 'task.log', buildId: this.build.id, taskId: logId, lines }),
      ),
    );
  }

  /** Packs, uploads and follows the response, trying the next region if one cannot be reached. */
  private async push(): Promise<Outcome> {
    for (const buildTask of this.build.tasks) this.setState(buildTask, { phase: 'packing', files: 0, bytes: 0 });
    const plan = await planBalenaPack(this.options.project.path, {
      registrySecretsFile: this.options.registrySecretsFile ?? null,
      dataDir: this.options.dataDir,
    });
    this.abort.signal.throwIfAborted();
    await this.note(
      plan.scan.skipped.map((entry) => `Slipway: skipped ${entry.path} (${entry.reason}: tar cannot hold it)`),
    );
    for (const buildTask of this.build.tasks) {
      buildTask.scan = plan.scan;
      this.setState(buildTask, { phase: 'packing', files: plan.scan.files, bytes: plan.scan.bytes });
    }
    for (const [index, endpoint] of this.endpoints.entries()) {
      const connection = connect(endpoint);
      try {
        if (endpoint.region !== this.build.region) {
          this.build.region = endpoint.region;
          for (const buildTask of this.build.tasks) {
            buildTask.region = endpoint.region;
            this.emit('event', {
              type: 'task.region',
              buildId: this.build.id,
              taskId: buildTask.task.id,
              region: endpoint.region,
              reason: this.build.reason,
            });
          }
        }
        return await this.attempt(connection, plan);
      } catch (error) {
        const info = toErrorInfo(error);
        const next = this.endpoints[index + 1];
        const serverError = error instanceof BalenaRejection && error.statusCode >= 500;
        if (this.cancelled || this.answered || !next || !(FAILOVER_CODES.has(info.code) || serverError)) throw error;
        this.build.reason = `${endpoint.region} failed before the build started (${info.code}); moved to ${next.region}`;
        await this.note([
          `Slipway: ${info.code}: ${info.message}; trying region ${next.region} (${redactUrl(next.url)})`,
        ]);
      } finally {
        await connection.dispatcher.destroy().catch(() => undefined);
      }
    }
    throw new SlipwayError('E_INTERNAL', 'No builder endpoint to push to');
  }

  private async attempt(connection: Connection, plan: BalenaPackPlan): Promise<Outcome> {
    const attemptAbort = new AbortController();
    const onCancel = () => attemptAbort.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onCancel);
    const progress = new Coalescer<TaskState>(EVENT_INTERVAL_MS, (state) => this.setAllStates(state, false));
    const parser = new BalenaBuildParser(new Set(this.tasksByService.keys()));
    let releaseId: string | null = null;
    try {
      const uploadStartMs = performance.now();
      const guard = new TarLengthGuard(plan.scan.tarBytes, plan.root);
      const uploading = (compressedBytesSent: number): TaskState => ({
        phase: 'uploading',
        // The tar bytes gzip has taken, against the exact tar size: a percentage that is exact.
        bytesSent: guard.bytes,
        bytesTotal: plan.scan.tarBytes,
        bytesPerSecond: Math.round(compressedBytesSent / Math.max(0.001, (performance.now() - uploadStartMs) / 1000)),
        compressedBytesSent,
      });
      this.setAllStates(uploading(0));
      const wire = new ProgressCounter((bytes) => progress.push(uploading(bytes)));
      let uploadSettled = false;
      const uploaded = pipeline(packBalenaProject(plan), guard, createGzip(), wire, {
        signal: attemptAbort.signal,
      }).then(
        () => {
          uploadSettled = true;
          progress.flush();
          if (!this.cancelled) this.setAllStates({ phase: 'building', step: 0, steps: 0 });
          return null;
        },
        (error: unknown) => {
          uploadSettled = true;
          return error;
        },
      );
      let body: Readable;
      try {
        body = await startBalenaBuild(connection, {
          ...this.options.build,
          token: this.options.token,
          body: wire,
          signal: attemptAbort.signal,
        });
      } catch (error) {
        attemptAbort.abort(error);
        const packError = await uploaded;
        throw packError instanceof SlipwayError ? packError : error;
      }
      this.answered = true;

      const errors: { service: string | null; message: string }[] = [];
      let headless: Extract<BalenaRecord, { kind: 'headless' }> | null = null;
      const consume = async (records: BalenaRecord[]) => {
        const lines = new Map<string, LogLine[]>();
        for (const record of records) {
          if (record.kind === 'line') {
            const logId = this.logIdOf(record.service);
            const list = lines.get(logId);
            if (list) list.push(record.line);
            else lines.set(logId, [record.line]);
          } else if (record.kind === 'step') {
            const buildTask = this.tasksByService.get(record.service);
            if (buildTask)
              this.setState(buildTask, { phase: 'building', step: record.step, steps: record.steps }, false);
          } else if (record.kind === 'release') {
            releaseId = record.releaseId;
            this.build.releaseId = releaseId;
            void this.record.save(this.build).catch(() => undefined);
          } else if (record.kind === 'error') {
            errors.push({ service: record.service, message: record.message });
          } else {
            headless = record;
          }
        }
        for (const [logId, list] of lines) await this.writeLines(logId, list);
      };
      try {
        for await (const chunk of body) await consume(parser.push(chunk as Buffer));
        await consume(parser.end());
      } catch (error) {
        body.destroy();
        await consume(parser.end()).catch(() => undefined);
        if (this.cancelled) return { kind: 'cancelled', releaseId };
        throw transportError(connection, error, 'build');
      }
      // The builder has said all it will say (it may refuse a build before reading the whole upload):
      // what it did not read of the body is moot, and waiting for it could wait forever.
      if (!uploadSettled) {
        // The last body bytes' acknowledgement may trail the builder's last message by a moment.
        const grace = new AbortController();
        await Promise.race([
          uploaded,
          delay(UPLOAD_GRACE_MS, undefined, { signal: grace.signal }).catch(() => undefined),
        ]);
        grace.abort();
      }
      const answeredEarly = !uploadSettled;
      if (answeredEarly) attemptAbort.abort();
      const packError = answeredEarly ? null : await uploaded;
      if (answeredEarly) await uploaded;
      if (this.cancelled) return { kind: 'cancelled', releaseId };
      // A builder that refused the build says why; that beats the upload it cut short.
      if (parser.complete && errors.length > 0) return this.outcomeOf(headless, errors, releaseId);
      if (packError)
        throw packError instanceof SlipwayError ? packError : transportError(connection, packError, 'upload');
      if (!parser.complete) {
        throw new SlipwayError(
          'E_BUILDER_PROTOCOL',
          `The balena builder at ${connection.label} ended its answer before the build finished`,
          { hint: 'The builder may have restarted; look for the release on the balena dashboard, then push again.' },
        );
      }
      if (answeredEarly && !headless) {
        throw new SlipwayError(
          'E_BUILDER_PROTOCOL',
          `The balena builder at ${connection.label} finished its answer before it had the whole project`,
        );
      }
      return this.outcomeOf(headless, errors, releaseId);
    } catch (error) {
      if (this.cancelled) return { kind: 'cancelled', releaseId };
      throw error;
    } finally {
      progress.cancel();
      this.abort.signal.removeEventListener('abort', onCancel);
      attemptAbort.abort();
    }
  }

  private outcomeOf(
    headless: Extract<BalenaRecord, { kind: 'headless' }> | null,
    errors: { service: string | null; message: string }[],
    releaseId: string | null,
  ): Outcome {
    if (headless) {
      if (!headless.started) {
        const message = headless.message ?? headless.error ?? 'the builder did not start the build';
        return {
          kind: 'failed',
          error: { code: 'E_BUILDER_REJECTED', message: `The balena builder refused: ${message}` },
        };
      }
      if (headless.releaseId) this.build.releaseId = headless.releaseId;
      return { kind: 'detached', releaseId: headless.releaseId };
    }
    if (errors.length === 0) return { kind: 'succeeded' };
    const taskErrors = new Map<string, string>();
    for (const error of errors) {
      if (error.service !== null && !taskErrors.has(error.service)) taskErrors.set(error.service, error.message);
    }
    const general = errors.find((error) => error.service === null) ?? (errors[0] as { message: string });
    return {
      kind: 'failed',
      error: {
        code: 'E_BUILD_FAILED',
        message: general.message,
        hint: `The release failed${releaseId ? ` (release ${releaseId})` : ''}; the logs are in ${this.directory}.`,
      },
      taskErrors,
    };
  }

  private async finish(outcome: Outcome): Promise<void> {
    const durationMs = Math.round(performance.now() - this.startedMs);
    switch (outcome.kind) {
      case 'succeeded':
      case 'detached':
        this.build.status = 'succeeded';
        if (outcome.kind === 'detached') {
          await this.note([
            `Slipway: the builder started release ${outcome.releaseId ?? '(no id given)'} and builds on without this client (detached)`,
          ]);
        }
        this.setAllStates({ phase: 'done', imageId: null, durationMs });
        return;
      case 'cancelled':
        this.build.status = 'cancelled';
        this.setAllStates({ phase: 'cancelled', durationMs });
        await this.cancelRelease(outcome.releaseId);
        return;
      case 'failed': {
        if (this.cancelled) {
          this.build.status = 'cancelled';
          this.setAllStates({ phase: 'cancelled', durationMs });
          await this.cancelRelease(this.build.releaseId ?? null);
          return;
        }
        const error = outcome.error ?? { code: 'E_INTERNAL', message: 'The build failed' };
        this.build.status = 'failed';
        this.build.error = error;
        await this.note([`Slipway: ${error.code}: ${error.message}`], LineFlag.error);
        for (const buildTask of this.build.tasks) {
          const own = outcome.taskErrors?.get(buildTask.task.service);
          const taskError: ErrorInfo = own
            ? { code: 'E_BUILD_FAILED', message: `${buildTask.task.service}: ${own}` }
            : error;
          this.setState(buildTask, { phase: 'failed', error: taskError, durationMs }, false);
        }
        return;
      }
    }
  }

  /** Marks the release cancelled on the balena API; a failure is reported in the build's log and record. */
  private async cancelRelease(releaseId: string | null): Promise<void> {
    if (!releaseId) {
      await this.note(['Slipway: cancelled before the builder named a release; dropping the upload stops it']);
      return;
    }
    const builder = this.endpoints.find((endpoint) => endpoint.region === this.build.region) ?? this.endpoints[0];
    const apiOrigin = this.options.apiOrigin ?? balenaApiOrigin((builder as Endpoint).url);
    const connection = connect({ region: 'api', url: apiOrigin });
    try {
      await cancelBalenaRelease(connection, apiOrigin, this.options.token, releaseId);
      await this.note([`Slipway: release ${releaseId} marked cancelled`]);
    } catch (error) {
      const info = toErrorInfo(error);
      this.build.error = {
        code: info.code,
        message: `Release ${releaseId} could not be marked cancelled: ${info.message}`,
        hint: 'Cancel it on the balena dashboard; the builder may still finish it.',
      };
      await this.note([`Slipway: ${info.code}: ${this.build.error.message}`], LineFlag.error);
    } finally {
      await connection.dispatcher.destroy().catch(() => undefined);
    }
  }

  private logIdOf(service: string | null): string {
    if (service === null) return BALENA_BUILD_LOG_ID;
    return this.tasksByService.get(service)?.task.id ?? BALENA_BUILD_LOG_ID;
  }

  /** Writes Slipway's own remarks to the build's log. */
  private async note(texts: string[], flags = 0): Promise<void> {
    await this.writeLines(
      BALENA_BUILD_LOG_ID,
      texts.map((text) => ({ text, flags })),
    ).catch(() => undefined);
  }

  private async writeLines(logId: string, lines: LogLine[]): Promise<void> {
    const spool = this.spools.get(logId);
    if (!spool || lines.length === 0) return;
    await spool.write(lines);
  }

  private setAllStates(state: TaskState, save = true): void {
    for (const buildTask of this.build.tasks) this.setState(buildTask, state, false);
    if (save) void this.record.save(this.build).catch(() => undefined);
  }

  private setState(buildTask: BuildTask, state: TaskState, save = true): void {
    const phase = buildTask.state.phase;
    // A task that finished (or a building one, for upload progress arriving late) keeps its state.
    if (phase === 'done' || phase === 'failed' || phase === 'cancelled') return;
    if (phase === 'building' && state.phase === 'uploading') return;
    if (phase === 'building' && state.phase === 'building' && state.step === 0) return;
    if (buildTask.startedAt === undefined && state.phase !== 'queued') buildTask.startedAt = new Date().toISOString();
    if (state.phase === 'done' || state.phase === 'failed' || state.phase === 'cancelled') {
      buildTask.finishedAt = new Date().toISOString();
    }
    buildTask.state = state;
    this.emit('event', { type: 'task.state', buildId: this.build.id, taskId: buildTask.task.id, state });
    if (save) void this.record.save(this.build).catch(() => undefined);
  }
}

type Outcome =
  | { kind: 'succeeded' }
  | { kind: 'detached'; releaseId: string | null }
  | { kind: 'cancelled'; releaseId: string | null }
  | { kind: 'failed'; error: ErrorInfo | null; taskErrors?: Map<string, string> };
