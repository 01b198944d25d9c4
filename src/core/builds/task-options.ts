import type { BuildTask, Project, Task } from '../../shared/domain';

/**
 * Build options given for the whole build (the CLI's flags, the window's form), merged into each
 * task's own fields (from compose): a flag's value wins over the task's for single values; lists and
 * maps are joined, the flag's entries last so they override.
 */
export interface BuildOptions {
  /** Image tags; with several tasks each gets "-<service>" added to its repository. */
  tags?: string[];
  /** One tag, as the window and older callers give it (the same as tags: [tag]). */
  tag?: string | null;
  noCache?: boolean;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  /** The stage of a multi-stage Dockerfile to build (a task's `target`). */
  targetStage?: string;
  network?: string;
  platforms?: string[];
  pull?: boolean;
  cacheFrom?: string[];
  extraHosts?: string[];
  shmSizeBytes?: number;
  /** Build secrets (`--secret`), by id: a flag's wins over the task's of the same id. */
  secrets?: Task['secrets'];
  /** SSH agents to forward (`--ssh`), by id, the same way. */
  ssh?: Task['ssh'];
}

function imageName(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '') || 'slipway'
  );
}

/** A tag given for the whole build, as one task of several gets it: "<repo>-<service>[:<version>]". */
function serviceTag(tag: string, service: string): string {
  const colon = tag.lastIndexOf(':');
  const hasVersion = colon > tag.lastIndexOf('/');
  const repository = hasVersion ? tag.slice(0, colon) : tag;
  return `${repository}-${imageName(service)}${hasVersion ? tag.slice(colon) : ''}`;
}

const unique = (values: string[]) => values.filter((value, index) => values.indexOf(value) === index);

function joined(own: string[] | undefined, given: string[] | undefined): string[] | undefined {
  if (!given?.length) return own;
  return unique([...(own ?? []), ...given]);
}

/** Entries with an id, the given ones replacing the task's of the same id. */
function byId<T extends { id: string }>(own: T[] | undefined, given: T[] | undefined): T[] | undefined {
  if (!given?.length) return own;
  return [...(own ?? []).filter((entry) => !given.some((other) => other.id === entry.id)), ...given];
}

function merged(own: Record<string, string> | undefined, given: Record<string, string> | undefined) {
  if (!given || Object.keys(given).length === 0) return own;
  return { ...own, ...given };
}

/** A task with the build's options merged in; `many`: the project has several tasks. */
export function withBuildOptions(task: Task, options: BuildOptions, many: boolean): Task {
  const given = [...(options.tags ?? []), ...(options.tag ? [options.tag] : [])];
  const tags = unique([...given.map((tag) => (many ? serviceTag(tag, task.service) : tag)), ...(task.tags ?? [])]);
  const result: Task = {
    ...task,
    buildArgs: merged(task.buildArgs, options.buildArgs),
    labels: merged(task.labels, options.labels),
    extraHosts: joined(task.extraHosts, options.extraHosts),
    cacheFrom: joined(task.cacheFrom, options.cacheFrom),
    secrets: byId(task.secrets, options.secrets),
    ssh: byId(task.ssh, options.ssh),
  };
  if (tags.length > 0) result.tags = tags;
  if (options.platforms?.length) result.platforms = options.platforms;
  if (options.targetStage !== undefined) result.target = options.targetStage;
  if (options.network !== undefined) result.network = options.network;
  if (options.shmSizeBytes !== undefined) result.shmSizeBytes = options.shmSizeBytes;
  if (options.noCache) result.noCache = true;
  if (options.pull) result.pull = true;
  for (const key of Object.keys(result) as (keyof Task)[]) if (result[key] === undefined) delete result[key];
  return result;
}

/** The default name of a task's image: the project's for a lone task, "<project>-<service>" for several. */
function defaultTag(project: Project, service: string): string {
  if (project.tasks.length === 1) return imageName(project.name);
  return `${imageName(project.name)}-${imageName(service)}`;
}

/** The build's tasks, queued, with the options merged in; `tagsImages`: the builder names images by tag. */
export function buildTasks(
  project: Project,
  options: BuildOptions,
  tagsImages: boolean,
): Omit<BuildTask, 'region' | 'builder'>[] {
  const many = project.tasks.length > 1;
  return project.tasks.map((own) => {
    const task = withBuildOptions(own, options, many);
    return {
      task,
      state: { phase: 'queued' },
      tag: tagsImages ? (task.tags?.[0] ?? defaultTag(project, task.service)) : null,
      scan: null,
      logLines: 0,
      startedAt: null,
      finishedAt: null,
    };
  });
}
