import type { ErrorInfo } from './errors';

/** A builder endpoint: where builds are sent, tagged with the region it stands in. */
export interface Endpoint {
  region: string;
  /** unix:///path.sock, tcp://host:port, http(s)://host:port */
  url: string;
  /** TLS material for tcp:// and https:// (paths, as DOCKER_CERT_PATH holds them). Never logged. */
  tls?: { ca?: string; cert?: string; key?: string; verify?: boolean };
}

export type BuilderKind = 'docker' | 'balena';

/** A builder target: a kind of builder and the endpoints it can be reached at. */
export interface BuilderTarget {
  name: string;
  kind: BuilderKind;
  endpoints: Endpoint[];
  /** balena only: the fleet slug (org/fleet). */
  fleet?: string;
  /**
   * docker only: the builder to ask for, classic (1), BuildKit (2), or what suits the engine (auto, the
   * default). Podman always builds with buildah.
   */
  builderVersion?: '1' | '2' | 'auto';
  /** balena only: build options sent with every push. */
  balena?: { dockerfilePath?: string; emulated?: boolean; draft?: boolean };
}

/** What an endpoint said about itself in GET /version. */
export interface EngineInfo {
  product: 'docker' | 'podman' | 'balena' | 'unknown';
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
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
  /** Absolute path of the Dockerfile when it lies outside the context (sent as the docker CLI does). */
  dockerfileOutside?: string;
  /** Inline Dockerfile text (compose dockerfile_inline). */
  dockerfileInline?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  /**
   * Every tag the image gets, the first being its name (compose: `image:`, then `build.tags`). When absent
   * the build picks its default tag.
   */
  tags?: string[];
  /** The network RUN steps use (`build.network`, `--network`): a network name, `none` or `host`. */
  network?: string;
  /** Extra /etc/hosts entries for RUN steps, as `host:ip` (`build.extra_hosts`, `--add-host`). */
  extraHosts?: string[];
  /** Size of /dev/shm for RUN steps, in bytes (`build.shm_size`, `--shm-size`). */
  shmSizeBytes?: number;
  /** Images to use as cache sources (`build.cache_from`, `--cache-from`). */
  cacheFrom?: string[];
  /** Always try to pull newer base images (`build.pull`, `--pull`). */
  pull?: boolean;
  /** Build without the cache (`build.no_cache`, `--no-cache`). */
  noCache?: boolean;
  /** Target platforms, e.g. `linux/amd64` (`build.platforms`, `--platform`). */
  platforms?: string[];
  /** Build secrets: an id and where its value comes from (`build.secrets`, `--secret`). Values never stored. */
  secrets?: { id: string; file?: string; env?: string }[];
  /** SSH agent sockets or keys to forward (`build.ssh`, `--ssh`): `default` or an id with paths. */
  ssh?: { id: string; paths: string[] }[];
  /** Named extra contexts (`build.additional_contexts`): name -> absolute folder, image or URL. */
  additionalContexts?: Record<string, string>;
  /**
   * A context the engine fetches itself (a git URL or a tarball URL), sent as the Docker `remote` build
   * parameter; nothing is uploaded and contextPath is unused.
   */
  remoteContext?: string;
}

/** A compose service that is pulled, not built. */
export interface ExternalService {
  service: string;
  image: string;
}

export interface Project {
  id: string;
  /** The folder that was opened. */
  path: string;
  /** The compose project name (images are `<name>-<service>` unless `image:` says), or the folder's name. */
  name: string;
  /** The first compose file the tasks came from, or null for a lone Dockerfile. */
  composeFile: string | null;
  /** Active tasks only: services of inactive profiles are listed in compose.services, never built. */
  tasks: Task[];
  external: ExternalService[];
  /** How the compose files were read; absent for a lone Dockerfile. */
  compose?: ComposeReport;
}

/** The choices docker compose takes on its command line, for opening a compose project. */
export interface ProjectOptions {
  /** Compose files in merge order (-f), relative to the opened folder; default: compose's own choice. */
  files?: string[];
  /** Active profiles (--profile); default: COMPOSE_PROFILES. An empty list activates none. */
  profiles?: string[];
  /** The env file read instead of the project's .env (--env-file), relative to the opened folder. */
  envFile?: string;
  /** The project name (--project-name); default: COMPOSE_PROJECT_NAME, `name:`, the folder's name. */
  projectName?: string;
}

/** A variable an env file set, as the project screen lists it. */
export interface ComposeVariable {
  name: string;
  /** The file's value; `********` when the name looks secret (TOKEN, SECRET, PASSWORD, KEY). */
  value: string;
  masked: boolean;
  /** The env file that set it. */
  file: string;
  /** The process environment sets it too, and wins. */
  overridden: boolean;
}

/** What became of one compose service. */
export interface ComposeService {
  service: string;
  /** built: a task; inactive: its profiles are off (never checked or packed); pulled: image only. */
  state: 'built' | 'inactive' | 'pulled';
  profiles: string[];
  /** Build keys carried to the builder, and those refused with a warning. */
  carried: string[];
  refused: string[];
  warnings: string[];
}

/** How a compose project was read: files, profiles, variables and what is worth a warning. */
export interface ComposeReport {
  /** Compose files in merge order (real paths). */
  files: string[];
  /** Where the file list came from. */
  filesFrom: 'option' | 'COMPOSE_FILE' | 'default' | 'sub-folder';
  /** The project directory: the first compose file's folder; relative paths start there. */
  projectDir: string;
  /** The options the project was opened with. */
  options: ProjectOptions;
  /** Every profile the services name, and whether it is active. */
  profiles: { name: string; active: boolean }[];
  services: ComposeService[];
  variables: ComposeVariable[];
  /** Project-wide warnings: unset variables, files found, what docker compose would do otherwise. */
  warnings: string[];
}

export interface RecentProject {
  path: string;
  name: string;
  openedAt: string;
  /** The compose options last chosen for it (profiles toggled in the window), used when it is opened again. */
  options?: ProjectOptions;
}

/** A path and its size, for the largest files and folders of a context. */
export interface SizedPath {
  path: string;
  bytes: number;
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

/** A scan with what a person needs to decide before building. */
export interface TaskInspection {
  taskId: string;
  scan: ContextScan;
  largestFiles: SizedPath[];
  largestFolders: SizedPath[];
  /**
   * Bytes a build of this task adds to the engine while it runs (its pipeline's buffers and its pack
   * worker): independent of the context's size. 0 for a context the engine fetches itself.
   */
  memoryEstimateBytes: number;
  warnings: string[];
  /** .dockerignore lines that would remove what dominates a large context. */
  suggestedIgnores: string[];
  /** The builder whose ignore-file rule was applied, and the file it read (absolute; null: none). */
  ignoreFlavour: 'classic' | 'buildkit' | 'podman';
  ignoreFile: string | null;
  /** The other builders that would read another ignore file, and which (null: none). */
  otherIgnoreFiles: { flavour: 'classic' | 'buildkit' | 'podman'; file: string | null }[];
}

/** The latency of one endpoint, as probed. */
export interface RegionProbe {
  region: string;
  url: string;
  /** Median round trip of GET /_ping over a warm connection, or null when it failed. */
  medianMs: number | null;
  /** Spread of the round trips (max - min). */
  spreadMs: number | null;
  /** Connect (and TLS) time of the first request, apart from the round trips. */
  handshakeMs: number | null;
  samples: number[];
  engine: EngineInfo | null;
  error: ErrorInfo | null;
}

export interface ProbeResult {
  probes: RegionProbe[];
  /** The chosen region's name, or null when none answered. */
  chosen: string | null;
  reason: string;
  durationMs: number;
}

/** The state of a task: a discriminated union with the figures of each phase. */
export type TaskState =
  | { phase: 'queued' }
  | {
      phase: 'packing';
      files: number;
      bytes: number;
      /** Tar bytes already sent while the scan still runs: the upload starts before the scan ends. */
      bytesSent?: number;
    }
  | {
      phase: 'uploading';
      bytesSent: number;
      bytesTotal: number;
      bytesPerSecond: number;
      /** Bytes on the wire so far when the body is gzipped (balena): a running total, its end unknown. */
      compressedBytesSent?: number;
    }
  | {
      phase: 'building';
      step: number;
      steps: number;
      /** Context bytes on the wire so far, where the builder fetches them while it builds (BuildKit's session). */
      bytesSent?: number;
    }
  | {
      phase: 'done';
      imageId: string | null;
      durationMs: number;
      /** Context bytes that crossed the wire: the body's (gzipped, when it was), or what BuildKit's session fetched. */
      bytesSent?: number;
    }
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
  /** The region the task runs (or ran) in; it changes on failover. */
  region?: string;
  /** The builder protocol that ran the task: docker-classic, docker-buildkit or balena. */
  builder?: 'docker-classic' | 'docker-buildkit' | 'balena';
  startedAt?: string | null;
  finishedAt?: string | null;
  /** When the task first entered each phase before it ended (ISO times): the timeline's first bars. */
  phaseTimes?: Partial<Record<'packing' | 'uploading' | 'building', string>>;
  /** The image the task produced, as the engine describes it after the build (docker only). */
  image?: BuiltImage | null;
  /** Why the engine could not describe the image, when it could not. */
  imageError?: ErrorInfo;
}

/** A built image as the engine describes it (GET /images/{id}/json). */
export interface BuiltImage {
  id: string;
  tags: string[];
  sizeBytes: number;
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
  /** balena: the release id the builder reported. */
  releaseId?: string | null;
  /** balena: the id of the build's own log (the builder's general output), read like a task's log. */
  logId?: string;
  /** The options the window started the build with (secret-looking build-arg values masked), to run it again. */
  startOptions?: BuildStartOptions;
}

/** A build's options as the window gives them (build.start without the project and region). */
export interface BuildStartOptions {
  tag?: string;
  noCache?: boolean;
  buildArgs?: Record<string, string>;
  network?: string;
  concurrency?: number;
}

/**
 * A build as listed in history. A build whose build.json cannot be read or fails its schema is listed
 * as `damaged` with the error saying why (its figures are then unknown); it is never deleted for it.
 */
export interface BuildSummary {
  id: string;
  projectPath: string;
  status: BuildStatus | 'damaged';
  /** Why a damaged build cannot be read; absent for a readable one. */
  damage?: ErrorInfo;
  region: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  tasks: { id: string; service: string; phase: TaskPhase }[];
}

/** A build step as found in a task's log, so a viewer can fold steps. */
export interface LogStep {
  step: number;
  steps: number;
  /** Line number of the step's first line. */
  line: number;
  text: string;
  /** Time from this step's start to the next one's (or to the end), when known. */
  durationMs: number | null;
}

export interface Settings {
  targets: BuilderTarget[];
  /** The target builds go to, by name. */
  defaultTarget: string | null;
  /** A pinned region wins over the probe's choice. */
  pinnedRegion: string | null;
  concurrency: number;
  compress: 'auto' | 'always' | 'never';
  quota: { maxBuilds: number; maxBytes: number };
}
