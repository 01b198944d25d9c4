import type { Readable } from 'node:stream';
import type { Build, ContextScan } from '../../../shared/domain';
import { SlipwayError } from '../../../shared/errors';
import { formatBytes } from '../../../shared/format';
import type { CompressMode } from '../../builds/upload';
import { shouldGzip } from '../../builds/upload';
import { DockerBuildParser } from '../../logs/docker-parser';
import type { BuildRecord } from '../../logs/log-line';
import { LineFlag } from '../../logs/log-line';
import { packContext } from '../../pack/pack';
import { planContext } from '../../pack/plan';
import { disposePrepared, type PreparedContext, prepareContext } from '../../pack/prepare';
import type { ReadAhead } from '../../pack/read-ahead-host';
import type { ScanSpool } from '../../pack/scan-spool';
import type { AuthSource } from '../buildkit-session/auth';
import { type SessionPlan, sessionExtras, sessionPlan } from '../buildkit-session/context';
import type { SessionAttempt } from '../buildkit-session/send';
import type { BuilderDriver, BuildJob, DriverRecord, JobContext, RecordParser } from '../driver';
import type { Connection } from '../endpoint';
import { allowsFailover } from '../http-errors';
import type { RegistryConfig } from '../registry-auth';
import { registryRefusal } from '../registry-auth/unauthorized';
import { checkDockerTask, type DockerBuilder, dockerBuildQuery, type EngineProduct } from './build-query';
import type { BuildKitParser } from './buildkit-parser';
import { inspectImage } from './image-inspect';
import { startDockerBuild } from './request';

/** A context sent through BuildKit's session, and how to pack it as a tar where the engine refuses one. */
type SessionContext = SessionPlan & { fallback: () => Promise<Readable> };

export interface DockerDriverOptions {
  builder: DockerBuilder;
  /**
   * BuildKit only: send the context through BuildKit's session (only what changed since the last
   * build, secrets, SSH), falling back to the tar body where the engine refuses it (default: on for
   * Docker engines), or always as the tar body.
   */
  session?: boolean;
  /** Registry credentials BuildKit may ask the session for (default: none). */
  auth?: AuthSource;
  /** The engine behind the endpoints, as its /_ping named it (Podman: extra hosts as JSON, and so on). */
  product?: EngineProduct;
  compress?: CompressMode;
  /** Contexts already planned and being scanned, by task id (see prepareContext); the driver disposes of the rest. */
  prepared?: Map<string, Promise<PreparedContext>>;
  /** The classic builder's (and Podman's) registry credentials, as X-Registry-Config (see registry-auth). */
  registryConfig?: () => Promise<RegistryConfig>;
}

/** Records of either parser, as the session takes them. */
interface DockerParser {
  push(chunk: Buffer): BuildRecord[];
  end(): BuildRecord[];
}

/**
 * The Docker Engine API (Docker, Podman, balenaEngine): one POST /build per task, the task's context as
 * the tar body, the classic builder's JSON-lines answer or BuildKit's trace records in it.
 */
export class DockerDriver implements BuilderDriver {
  readonly name: BuilderDriver['name'];
  readonly tagsImages = true;
  private readonly product: EngineProduct;
  /** BuildKit's parser (and the protobuf decoder under it), loaded by the first context of a BuildKit build only. */
  private buildKitParser: typeof BuildKitParser | null = null;
  /** The session plan of each context that goes through BuildKit's session. */
  private readonly sessionPlans = new WeakMap<JobContext, SessionContext>();
  /** The running attempt's session, by job id: its failure explains the build's. */
  private readonly sessionAttempts = new Map<string, SessionAttempt>();
  /** Remarks of the attempt being sent, by job id, for the head of its log (credentials not sent, say). */
  private readonly sendNotes = new Map<string, string[]>();

  constructor(private readonly options: DockerDriverOptions) {
    this.name = options.builder === 'buildkit' ? 'docker-buildkit' : 'docker-classic';
    this.product = options.product ?? 'unknown';
  }

  /** Whether tasks go through BuildKit's session: BuildKit on a Docker engine, unless turned off. */
  private get usesSession(): boolean {
    return this.options.builder === 'buildkit' && this.product !== 'podman' && this.options.session !== false;
  }

  jobs(build: Build): BuildJob[] {
    return build.tasks.map((buildTask) => ({
      id: buildTask.task.id,
      tasks: [buildTask],
      logId: buildTask.task.id,
      logIds: [buildTask.task.id],
    }));
  }

  check(job: BuildJob) {
    return checkDockerTask(
      (job.tasks[0] as BuildJob['tasks'][number]).task,
      this.options.builder,
      this.product,
      this.usesSession,
    );
  }

  private async loadParser(): Promise<void> {
    if (this.options.builder === 'buildkit') this.buildKitParser ??= (await import('./buildkit-parser')).BuildKitParser;
  }

  async context(job: BuildJob): Promise<JobContext> {
    const { task } = job.tasks[0] as BuildJob['tasks'][number];
    await this.loadParser();
    if (task.remoteContext !== undefined) return remoteContext(task.remoteContext);
    const flavour = this.product === 'podman' ? 'podman' : this.options.builder === 'buildkit' ? 'buildkit' : 'classic';
    const early = this.options.prepared?.get(task.id);
    this.options.prepared?.delete(task.id);
    let prepared = early ? await early : await prepareContext(task, flavour);
    // Planned before the builder was known, as the classic builder reads ignore files: planned again
    // when this builder reads another one in this context (BuildKit's <Dockerfile>.dockerignore,
    // Podman's .containerignore).
    if (early && (await planContext(task, flavour)).ignoreFile !== prepared.plan.ignoreFile) {
      await disposePrepared([Promise.resolve(prepared)]);
      prepared = await prepareContext(task, flavour);
    }
    const { plan, scan: scanRun, readAhead: first } = prepared;
    // The read-ahead started with the scan serves the first attempt only; a failover reads the spool anew.
    let readAhead: ReadAhead | null = first;
    const scan = scanRun.result.then(
      ({ largestFiles: _files, largestFolders: _folders, ...figures }): ContextScan => figures,
    );
    const session = this.usesSession ? sessionPlan(task, plan, scanRun, sessionExtras(task)) : null;
    if (session) {
      // BuildKit asks for the files it lacks; the tar read-ahead would read them all.
      await readAhead?.stop();
      readAhead = null;
    }
    const context: JobContext = {
      root: task.contextPath,
      dockerfile: plan.dockerfile,
      tarBytes: scan.then((figures) => figures.tarBytes),
      scan,
      notes: (figures) =>
        figures.skipped.map((entry) => `Slipway: skipped ${entry.path} (${entry.reason}: tar cannot hold it)`),
      sentByDriver: session !== null,
      open: async () => (session ? null : packContext(plan, scanRun.spool as ScanSpool, readAhead ?? undefined)),
      attemptDone: async () => {
        const attempt = this.sessionAttempts.get(job.id);
        this.sessionAttempts.delete(job.id);
        await Promise.all([attempt?.close(), readAhead?.stop()]);
        readAhead = null;
      },
      dispose: async () => {
        await Promise.all([readAhead?.stop(), scanRun.dispose()]);
      },
    };
    if (session)
      this.sessionPlans.set(context, { ...session, fallback: () => packContext(plan, scanRun.spool as ScanSpool) });
    return context;
  }

  gzip(connection: Connection): boolean {
    return shouldGzip(this.options.compress ?? 'auto', connection);
  }

  /**
   * `planner`: the driver that planned the job's context, when it is another region's (a failover to
   * another engine): a context it planned for BuildKit's session goes to this engine as the tar body.
   */
  async send(job: BuildJob, connection: Connection, request: Parameters<BuilderDriver['send']>[2], planner = this) {
    const buildTask = job.tasks[0] as BuildJob['tasks'][number];
    const dockerfile = request.context.dockerfile ?? buildTask.task.dockerfile;
    const query = dockerBuildQuery(buildTask, dockerfile, this.options.builder, this.product);
    // A region's driver that a job failed over to planned no context: its parser is loaded here.
    await this.loadParser();
    // BuildKit asks for credentials through its session instead; it does not read this header.
    const classic = this.options.builder === 'classic' && this.options.registryConfig;
    const config = classic ? await classic() : null;
    const registryConfig = config?.header ?? null;
    if (config?.warning) this.sendNotes.set(job.id, [config.warning]);
    const session = planner.sessionPlans.get(request.context);
    if (!session) return startDockerBuild(connection, query, { ...request, registryConfig });
    const foreign = planner !== this ? `the context was planned for ${planner.name} in another region` : undefined;
    // The session (HTTP/2, gRPC, protobuf) is loaded by the first context it carries: a build with a
    // tar body, the classic builder's or Podman's, never pays for it.
    const { startSessionBuild } = await import('../buildkit-session/send');
    return startSessionBuild(connection, query, request, session, {
      auth: this.options.auth,
      fallback: session.fallback,
      // Another engine's builder (Podman's, the classic one) takes the tar the session falls back to.
      withoutSession: foreign ?? (this.usesSession ? undefined : `${this.name} at ${connection.label} has no session`),
      registryConfig,
    }).then(({ response, attempt }) => {
      // The planner's context ends the attempt; this driver's parser reads what the attempt says.
      planner.sessionAttempts.set(job.id, attempt);
      this.sessionAttempts.set(job.id, attempt);
      return response;
    });
  }

  parser(job: BuildJob, attempt: { connection: Connection; directory: string }): RecordParser {
    const { task } = job.tasks[0] as BuildJob['tasks'][number];
    const BuildKit = this.buildKitParser;
    if (this.options.builder === 'buildkit' && !BuildKit) throw new Error('A job is parsed after its context');
    const parser: DockerParser = BuildKit ? new BuildKit() : new DockerBuildParser(undefined, { lineRuns: true });
    let imageId: string | null = null;
    let buildError: string | null = null;
    let invalidLines = 0;
    let alive = false;
    const messagesSeen = () => (BuildKit && parser instanceof BuildKit ? parser.messagesRead : 0);
    let messages = 0;
    const translate = (records: BuildRecord[]): DriverRecord[] => {
      const out: DriverRecord[] = [];
      alive = messagesSeen() > messages;
      messages = messagesSeen();
      for (const record of records) {
        if (record.kind === 'line') {
          if (record.line.flags & LineFlag.invalid) invalidLines += 1;
          // A line dripping in a byte at a time is no sign of life; a complete message is.
          if (!(record.line.flags & LineFlag.continued)) alive = true;
          out.push(record);
        } else {
          alive = true;
          if (record.kind === 'image') imageId = record.imageId;
          else if (record.kind === 'error') buildError ??= record.message;
          else out.push(record);
        }
      }
      return out;
    };
    const session = this.sessionAttempts.get(job.id);
    // What the session says of itself comes first in the log (a refused session, say).
    const remarks = [...(this.sendNotes.get(job.id) ?? []), ...(session?.notes ?? [])];
    this.sendNotes.delete(job.id);
    let notes: DriverRecord[] = remarks.map((text) => ({ kind: 'line', line: { text, flags: 0 } }));
    const withNotes = (records: DriverRecord[]) => {
      if (notes.length === 0) return records;
      const out = [...notes, ...records];
      notes = [];
      return out;
    };
    return {
      push: (chunk) => withNotes(translate(parser.push(chunk))),
      end: () => withNotes(translate(parser.end())),
      get alive() {
        return alive;
      },
      failure: () => {
        // A file that changed or could not be read while BuildKit fetched it explains the build's failure.
        const sent = session?.session?.failure;
        if (sent instanceof SlipwayError && sent.code.startsWith('E_CONTEXT')) return sent;
        if (buildError === null) return null;
        // A failed build whose session connection broke under it: the broken transfer is the cause.
        if (sent instanceof SlipwayError && sent.code === 'E_UPLOAD_RESET') return sent;
        const hint = `The full log is in ${attempt.directory}.`;
        return (
          registryRefusal(task.service, buildError, hint) ??
          new SlipwayError('E_BUILD_FAILED', `${task.service}: ${buildError}`, { hint })
        );
      },
      result: ({ cutShort }) => {
        if (cutShort) {
          throw new SlipwayError(
            'E_BUILDER_PROTOCOL',
            `The builder at ${attempt.connection.label} finished its answer before it had the whole context`,
          );
        }
        if (imageId === null && invalidLines > 0) {
          throw new SlipwayError(
            'E_BUILDER_PROTOCOL',
            `The builder at ${attempt.connection.label} answered ${invalidLines} line(s) that are not the engine's JSON messages, and no image`,
            { hint: 'Check that the URL points at a Docker-compatible engine, not a proxy or another service.' },
          );
        }
        const bytes = session?.session?.contextBytes;
        const sent =
          bytes === undefined ? [] : [`Slipway: ${formatBytes(bytes)} of the context sent through BuildKit's session`];
        return { imageIds: new Map([[task.id, imageId]]), notes: sent };
      },
    };
  }

  describeImage(imageId: string, connection: Connection, signal: AbortSignal) {
    return inspectImage(connection, imageId, signal);
  }

  failover(error: unknown, started: boolean): boolean {
    return allowsFailover(error, started);
  }

  async close(): Promise<void> {
    if (this.options.prepared) await disposePrepared(this.options.prepared.values());
  }
}

/** A context the engine fetches itself (a git or tarball URL): nothing to scan or upload. */
function remoteContext(url: string): JobContext {
  const scan: ContextScan = { files: 0, bytes: 0, tarBytes: 0, skipped: [] };
  return {
    root: url,
    tarBytes: 0,
    scan: Promise.resolve(scan),
    notes: () => [`Slipway: the engine fetches the context itself from ${url}; nothing is uploaded`],
    open: async () => null,
    attemptDone: async () => undefined,
    dispose: async () => undefined,
  };
}
