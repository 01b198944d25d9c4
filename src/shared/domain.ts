import type { ErrorInfo } from './errors';

/** A builder endpoint: where builds are sent, tagged with the region it stands in. */
export interface Endpoint {
  region: string;
  /** unix:///path.sock, tcp://host:port, http(s)://host:port */
  url: string;
}

export type BuilderKind = 'docker' | 'balena';

/** A builder target: a kind of builder and the endpoints it can be reached at. */
export interface BuilderTarget {
  kind: BuilderKind;
  endpoints: Endpoint[];
}

/** One build task: one image built from one context. */
export interface Task {
  id: string;
  /** The service name, or "main" for a lone Dockerfile. */
  service: string;
  /** Absolute path of the build context. */
  contextPath: string;
  /** The Dockerfile's path relative to the context, as sent to the builder. */
  dockerfile: string;
}

export interface Project {
  id: string;
  path: string;
  name: string;
  tasks: Task[];
}

/** The size of a context as it will be sent. */
export interface ContextScan {
  files: number;
  /** Bytes of file content. */
  bytes: number;
  /** Exact length of the tar stream that will be uploaded. */
  tarBytes: number;
  /** Entries skipped (FIFOs, sockets) with the reason. */
  skipped: { path: string; reason: string }[];
}

/** The state of a task: a discriminated union with the figures of each phase. */
export type TaskState =
  | { phase: 'queued' }
  | { phase: 'packing'; files: number; bytes: number }
  | {
      phase: 'uploading';
      bytesSent: number;
      bytesTotal: number;
      bytesPerSecond: number;
    }
  | { phase: 'building'; step: number; steps: number }
  | { phase: 'done'; imageId: string | null; durationMs: number }
  | { phase: 'failed'; error: ErrorInfo; durationMs: number }
  | { phase: 'cancelled'; durationMs: number };

export type TaskPhase = TaskState['phase'];

export type BuildStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/** A task as recorded in a build. */
export interface BuildTask {
  task: Task;
  state: TaskState;
  tag: string | null;
  scan: ContextScan | null;
  logLines: number;
}

/** A build: the tasks of one project sent to one builder, as kept in build.json. */
export interface Build {
  id: string;
  projectPath: string;
  target: BuilderTarget;
  region: string;
  reason: string;
  startedAt: string;
  finishedAt: string | null;
  status: BuildStatus;
  tasks: BuildTask[];
  error: ErrorInfo | null;
}
