/**
 * The contract between the engine and its shells: every request (name, input schema, result type) and
 * every event. The Electron and browser transports are generated from this table.
 */
import { z } from 'zod';
import type { Build, BuildStatus, Project, TaskState } from './domain';
import type { ErrorInfo } from './errors';

/** Declares a request: its input schema, and (as a phantom) its result type. */
function request<Result>() {
  return <Input extends z.ZodType>(input: Input): { input: Input; result: Result } => ({
    input,
    result: undefined as Result,
  });
}

const id = z.string().min(1).max(200);

export const requests = {
  /** Facts about the running engine, for the window's title bar and about box. */
  'app.info': request<{ version: string; dataDir: string; mode: 'electron' | 'browser' }>()(z.object({})),
  /** Opens a project folder the user chose (dialog or drop) and finds its tasks. */
  'project.open': request<Project>()(z.object({ path: z.string().min(1).max(4096) })),
  /** Starts a build of an opened project. */
  'build.start': request<{ buildId: string }>()(z.object({ projectId: id, tag: z.string().max(256).optional() })),
  /** Cancels a running build: every stream is destroyed, every socket closed. */
  'build.cancel': request<{ cancelled: boolean }>()(z.object({ buildId: id })),
  /** Reads a window of lines of one task's log. */
  'logs.read': request<{ fromLine: number; lines: string[]; totalLines: number }>()(
    z.object({
      buildId: id,
      taskId: id,
      fromLine: z.number().int().min(0),
      count: z.number().int().min(1).max(5000),
    }),
  ),
} as const;

export type RequestTable = typeof requests;
export type RequestName = keyof RequestTable;
export type RequestInput<N extends RequestName> = z.infer<RequestTable[N]['input']>;
export type RequestResult<N extends RequestName> = RequestTable[N]['result'];

/** The whole contract as functions, which is what window.slipway exposes. */
export type SlipwayApi = {
  [N in RequestName]: (input: RequestInput<N>) => Promise<RequestResult<N>>;
} & {
  onEvent(listener: (event: SlipwayEvent) => void): () => void;
};

/** Events the engine sends. Progress is coalesced; log events carry line counts, never lines. */
export type SlipwayEvent =
  | { type: 'build.started'; build: Build }
  | { type: 'task.state'; buildId: string; taskId: string; state: TaskState }
  | { type: 'task.log'; buildId: string; taskId: string; lines: number }
  | { type: 'build.finished'; buildId: string; status: BuildStatus; error: ErrorInfo | null };

/**
 * A log line as the CLI prints it with --json. It stays in the process that runs the build: the window
 * transports never carry lines, they send task.log counts and the window reads the lines it shows.
 */
export interface LogLineEvent {
  type: 'task.line';
  buildId: string;
  taskId: string;
  line: number;
  text: string;
}

/** Method names as the HTTP transport spells them: POST /api/<name>. */
export const requestNames = Object.keys(requests) as RequestName[];

/** Validates a request's input at a transport boundary; throws a zod error on bad input. */
export function parseRequest<N extends RequestName>(name: N, input: unknown): RequestInput<N> {
  return requests[name].input.parse(input) as RequestInput<N>;
}

export function isRequestName(name: string): name is RequestName {
  return Object.hasOwn(requests, name);
}
