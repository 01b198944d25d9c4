/**
 * The contract between the engine and its shells: every request (name, input schema, result type) and
 * every event. The Electron and browser transports are generated from this table.
 */
import { z } from 'zod';
import type {
  Build,
  BuildStatus,
  BuildSummary,
  BuildTask,
  LogStep,
  ProbeResult,
  Project,
  RecentProject,
  Settings,
  TaskInspection,
  TaskState,
} from './domain';
import type { ErrorInfo } from './errors';
import { bounds } from './numbers';
import { quotaSchema, settingsSchema, targetSchema, wholeNumber } from './schemas';
import type { BuildTimeline } from './timeline';

/** Declares a request: its input schema, and (as a phantom) its result type. */
function request<Result>() {
  return <Input extends z.ZodType>(input: Input): { input: Input; result: Result } => ({
    input,
    result: undefined as Result,
  });
}

const id = z.string().min(1).max(200);
/** The tasks of one build whose logs are read as one. */
const taskIdList = z.array(id).min(1).max(64);

/** A window of the interleaved log (logs.interleave): parallel arrays, one entry a row. */
export interface InterleavedWindow {
  fromPosition: number;
  totalPositions: number;
  /** Each row's task, as an index into the request's taskIds. */
  tasks: number[];
  /** Each row's line in its task's log. */
  lines: number[];
  /** When each row was spooled, ms since the epoch (0 for a build from before times were kept). */
  atMs: number[];
  texts: string[];
  flags: number[];
}

/**
 * A file of an opened project named by the window: relative, never leaving the folder (an env file's
 * values are shown in the window, so the window must not name one elsewhere).
 */
export const projectFile = z
  .string()
  .min(1)
  .max(4096)
  .refine((path) => !path.startsWith('/') && !path.split(/[\\/]/).includes('..'), {
    message: 'must be a path inside the project folder',
  });

export const requests = {
  /** Facts about the running engine, for the window's title bar and about box. */
  'app.info': request<{ version: string; dataDir: string; mode: 'electron' | 'browser' }>()(z.object({})),
  /** Live memory of the engine's process, shown beside the estimates. */
  'app.memory': request<{ rssBytes: number; heapUsedBytes: number }>()(z.object({})),
  /**
   * Opens a project folder the user chose (dialog or drop) and finds its tasks. The compose options are
   * docker compose's own (-f, --profile, --env-file, --project-name); those not given are the ones last
   * chosen for this folder, else compose's defaults. The choice is remembered per folder.
   */
  'project.open': request<Project>()(
    z.object({
      path: z.string().min(1).max(4096),
      files: z.array(projectFile).max(32).optional(),
      profiles: z.array(z.string().min(1).max(256)).max(64).optional(),
      envFile: projectFile.optional(),
      projectName: z.string().min(1).max(256).optional(),
    }),
  ),
  /** Scans every task of an opened project: sizes, exact tar sizes, largest paths, estimates, warnings. */
  'project.inspect': request<{ tasks: TaskInspection[] }>()(z.object({ projectId: id })),
  /** Projects opened before, newest first. */
  'project.recent': request<RecentProject[]>()(z.object({})),
  /** The native folder dialog (Electron); null when the user cancelled. */
  'dialog.openFolder': request<{ path: string | null }>()(z.object({})),
  /** Browser mode's folder picker: the sub-folders of a folder (home when no path). */
  'folders.list': request<{ path: string; parent: string | null; folders: string[] }>()(
    z.object({ path: z.string().max(4096).optional() }),
  ),
  /** Probes every endpoint of the current target and chooses a region. */
  'regions.probe': request<ProbeResult>()(z.object({})),
  /** Pins a region (or unpins, with null); a pinned region wins over the probe. */
  'regions.pin': request<Settings>()(z.object({ region: z.string().max(64).nullable() })),
  'settings.get': request<Settings>()(z.object({})),
  /** Replaces the settings fields given. */
  'settings.update': request<Settings>()(
    settingsSchema
      .pick({ defaultTarget: true, concurrency: true, compress: true })
      .partial()
      .extend({
        targets: z.array(targetSchema).max(32).optional(),
        quota: quotaSchema.optional(),
      }),
  ),
  /**
   * Puts settings.json that cannot be read (E_SETTINGS_INVALID) aside as settings.json.bad-<time> and
   * starts again from the defaults; nothing else is touched. Answers the new settings and where the old
   * file was kept (null when there was nothing to put aside).
   */
  'settings.repair': request<{ settings: Settings; keptAs: string | null }>()(z.object({})),
  /**
   * Stores (a string) or forgets (null) a target's API token; without a token it only answers whether one
   * is stored. The token itself is never returned by any request.
   */
  'targets.setToken': request<{ stored: boolean }>()(
    z.object({
      target: z.string().min(1).max(64),
      token: z
        .string()
        .min(1)
        .max(16 * 1024)
        .nullable()
        .optional(),
    }),
  ),
  /**
   * Which registries have credentials in the docker CLI's config (config.json's auths, credsStore,
   * credHelpers): hosts only, never a secret. `error` says why the config cannot be used.
   */
  'registries.list': request<{ configPath: string; registries: string[]; error: ErrorInfo | null }>()(z.object({})),
  /** Starts a build of an opened project. */
  'build.start': request<{ buildId: string }>()(
    z.object({
      projectId: id,
      tag: z.string().max(256).optional(),
      noCache: z.boolean().optional(),
      buildArgs: z.record(z.string().max(256), z.string().max(4096)).optional(),
      /** The network of RUN steps (none, host or a network's name), for every task. */
      network: z.string().min(1).max(256).optional(),
      concurrency: wholeNumber(bounds.concurrency).optional(),
      region: z.string().max(64).optional(),
    }),
  ),
  /** Cancels a running build: every stream is destroyed, every socket closed. */
  'build.cancel': request<{ cancelled: boolean }>()(z.object({ buildId: id })),
  /** One build's record (running or from history). */
  'build.get': request<Build>()(z.object({ buildId: id })),
  /** A build's timeline: each task's queued, packing and upload phases and its steps, with their times. */
  'build.timeline': request<BuildTimeline>()(z.object({ buildId: id })),
  /**
   * Starts a build again with the options it was started with (the project opened again from its folder).
   * A build arg whose value the record masks cannot be given again: it is refused, naming it.
   */
  'build.rerun': request<{ buildId: string }>()(z.object({ buildId: id })),
  /** Past builds, newest first. */
  'history.list': request<BuildSummary[]>()(z.object({})),
  'history.delete': request<{ deleted: boolean }>()(z.object({ buildId: id })),
  /**
   * Reads a window of lines of one task's log; with `times`, also when each line was spooled (ms since
   * the epoch; 0 for a build from before times were kept).
   */
  'logs.read': request<{ fromLine: number; lines: string[]; flags: number[]; totalLines: number; atMs?: number[] }>()(
    z.object({
      buildId: id,
      taskId: id,
      fromLine: wholeNumber(bounds.line),
      count: wholeNumber(bounds.windowLines),
      times: z.boolean().optional(),
    }),
  ),
  /**
   * Reads a window of the given tasks' logs as one, in the order their lines were spooled (ties go by
   * the order of `taskIds`): row i is line `lines[i]` of `taskIds[tasks[i]]`. Positions count from 0.
   */
  'logs.interleave': request<InterleavedWindow>()(
    z.object({
      buildId: id,
      taskIds: taskIdList,
      fromPosition: wholeNumber(bounds.line),
      count: wholeNumber(bounds.windowLines),
    }),
  ),
  /** Where the interleaved log shows a task's line, or the first line spooled at or after a time. */
  'logs.interleavePosition': request<{ position: number }>()(
    z.object({
      buildId: id,
      taskIds: taskIdList,
      at: z.union([
        z.object({ taskId: id, line: wholeNumber(bounds.line) }),
        z.object({ atMs: z.number().finite().min(0) }),
      ]),
    }),
  ),
  /** Positions in the interleaved log of the lines that match, as logs.search finds them, up to a limit. */
  'logs.interleaveSearch': request<{ matches: number[]; truncated: boolean }>()(
    z.object({
      buildId: id,
      taskIds: taskIdList,
      query: z.string().min(1).max(1000),
      regex: z.boolean().optional(),
      limit: wholeNumber(bounds.searchLimitLines).optional(),
    }),
  ),
  /** The first line of a task's log that the builder or Slipway marked as an error (null: none). */
  'logs.firstError': request<{ line: number | null }>()(z.object({ buildId: id, taskId: id })),
  /** Line numbers of a task's log that match a text or a regular expression, up to a limit. */
  'logs.search': request<{ matches: number[]; truncated: boolean }>()(
    z.object({
      buildId: id,
      taskId: id,
      query: z.string().min(1).max(1000),
      regex: z.boolean().optional(),
      limit: wholeNumber(bounds.searchLimitLines).optional(),
    }),
  ),
  /** The build steps of a task's log, with their first lines and durations. */
  'logs.steps': request<LogStep[]>()(z.object({ buildId: id, taskId: id })),
  /** Saves a task's whole log to a file the user picks (Electron) or offers it as a download (browser). */
  'logs.save': request<{ path: string | null; downloadUrl: string | null }>()(z.object({ buildId: id, taskId: id })),
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
  | {
      type: 'task.region';
      buildId: string;
      taskId: string;
      region: string;
      reason: string;
      /** The builder the task runs with there (it follows the region's engine). */
      builder?: BuildTask['builder'];
    }
  | { type: 'regions.probed'; result: ProbeResult }
  | { type: 'history.changed' }
  | { type: 'build.finished'; buildId: string; status: BuildStatus; error: ErrorInfo | null }
  /** The desktop app was asked to open a slipway:// address: the window shows the route (a hash). */
  | { type: 'window.route'; hash: string };

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
