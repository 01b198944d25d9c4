import type { Readable } from 'node:stream';
import type { Build, BuildTask, BuiltImage, ContextScan } from '../../shared/domain';
import type { ErrorInfo, SlipwayError } from '../../shared/errors';
import type { LineRun } from '../logs/line-run';
import type { LogLine, VertexTiming } from '../logs/log-line';
import type { Connection } from './endpoint';

/** What one request to a builder builds: one task (docker), or every task of the project (balena). */
export interface BuildJob {
  id: string;
  tasks: BuildTask[];
  /** The log Slipway's own remarks about the job go to: the task's own, or the build's log. */
  logId: string;
  /** Every log the job writes: its tasks' and, for a project job, the build's own. */
  logIds: string[];
}

/** A job's context as one attempt sends it: an exact size (possibly still being scanned) and a tar stream. */
export interface JobContext {
  /** What the context is, for error messages (its root folder). */
  root: string;
  /** The Dockerfile's name as the builder is told it, when planning the context chose one. */
  dockerfile?: string;
  /** The exact tar size, or a promise of it while the scan runs beside the first upload. */
  tarBytes: number | Promise<number>;
  /** The scan's figures, once it has them; a failed scan rejects this. */
  scan: Promise<ContextScan>;
  /** Remarks for the job's log once the scan is done (entries tar cannot hold, say). */
  notes(scan: ContextScan): string[];
  /**
   * The driver sends the context itself while the builder works (BuildKit's session), reporting it
   * through SendRequest.onContextBytes; open() then gives no body.
   */
  sentByDriver?: boolean;
  /** A fresh tar stream of the context for one attempt, or null for a context the builder fetches itself. */
  open(attempt: number): Promise<Readable | null>;
  /** Called after each attempt; stops what served only that attempt. */
  attemptDone(): Promise<void>;
  /** Stops the scan and removes its spool. */
  dispose(): Promise<void>;
}

/** What a driver's parser makes of the builder's answer. Ids name a task or log; absent, the job's own. */
export type DriverRecord =
  | { kind: 'line'; logId?: string; line: LogLine }
  /** Plain lines already in the spool's encoding (see LineRun). */
  | { kind: 'run'; logId?: string; run: LineRun }
  | { kind: 'step'; taskId?: string; step: number; steps: number }
  | { kind: 'image'; taskId?: string; imageId: string }
  | (VertexTiming & { taskId?: string })
  | { kind: 'release'; releaseId: string };

/** What a finished job gives: each task's image id, remarks for the job's log, a release. */
export interface JobResult {
  imageIds: Map<string, string | null>;
  notes: string[];
  releaseId?: string | null;
}

/** A failure of the build itself; `taskErrors` says which tasks failed with what, when the builder said. */
export interface JobFailure extends SlipwayError {
  taskErrors?: Map<string, ErrorInfo>;
}

/** Turns one attempt's answer into records, then into the job's result. */
export interface RecordParser {
  push(chunk: Buffer): DriverRecord[];
  end(): DriverRecord[];
  /** True once a complete message arrived in the last push: a sign of life for the silence watchdog. */
  readonly alive: boolean;
  /** After the answer ended: the build's own failure as the builder reported it (a JobFailure), or null. */
  failure(): JobFailure | null;
  /**
   * After the answer ended without a failure: the job's result. Throws when the answer is not a whole
   * one (it stopped early, or the builder ended it before it had read the whole upload: `cutShort`).
   */
  result(upload: { cutShort: boolean }): JobResult;
}

/** The request of one attempt: the body is the context's tar (gzipped when `gzip`), or null. */
export interface SendRequest {
  body: Readable | null;
  /** Exact length of the body when known: the request then carries Content-Length. */
  contentBytes: number | null;
  gzip: boolean;
  signal: AbortSignal;
  /** The job's context, as planned. */
  context: JobContext;
  /**
   * Called with the context's bytes on the wire so far when the driver sends them itself, not as
   * the body (BuildKit's session asks for files while it builds).
   */
  onContextBytes?: (bytes: number) => void;
}

/**
 * What varies between builder protocols. The one BuildSession (src/core/builds/session.ts) owns the
 * rest: concurrency, failover, cancel, spools, progress, events and the record.
 */
export interface BuilderDriver {
  /** Which protocol this is, kept with each task so the window says which builder ran it. */
  readonly name: 'docker-classic' | 'docker-buildkit' | 'balena';
  /** The builder names images by the tags it is given (docker), so each task gets one. */
  readonly tagsImages: boolean;
  /** Groups the build's tasks into jobs (and may note what the record needs, as balena's log id). */
  jobs(build: Build): BuildJob[];
  /**
   * The task fields and options this builder cannot take, each as a sentence naming the key and the
   * service; checked before anything is built. Refusals (`errors`) stop the build; warnings are logged.
   */
  check(job: BuildJob): { warnings: string[]; errors: SlipwayError[] };
  /** Plans the job's context and starts its scan. */
  context(job: BuildJob, signal: AbortSignal): Promise<JobContext>;
  /**
   * The protocol an attempt on this connection speaks, when it depends on the engine there (a docker
   * target with Podman in one region and BuildKit in another); absent, always `name`.
   */
  builderOn?(connection: Connection, signal: AbortSignal): Promise<BuilderDriver['name']>;
  /** Whether the body is gzipped on this connection. */
  gzip(connection: Connection): boolean;
  /** Starts the build; resolves with the answer once the builder accepted the request. */
  send(job: BuildJob, connection: Connection, request: SendRequest): Promise<Readable>;
  parser(job: BuildJob, attempt: { connection: Connection; directory: string }): RecordParser;
  /** May this error move the job to the next region? `started`: the builder had answered. */
  failover(error: unknown, started: boolean): boolean;
  /** Describes a built image (docker: GET /images/{id}/json) for the build's summary. */
  describeImage?(imageId: string, connection: Connection, signal: AbortSignal): Promise<BuiltImage>;
  /** A step after a cancel (balena: mark the release cancelled); returns remarks for the job's log. */
  cancel?(job: BuildJob, build: Build): Promise<string[]>;
  /** Releases what the driver holds for jobs that never ran; called once when the build ends. */
  close?(): Promise<void>;
}
