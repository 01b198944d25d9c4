import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Task } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import {
  chooseIgnoreFile,
  type IgnoreFlavour,
  type IgnoreRule,
  ignoreRuleFromSource,
  ignoreRuleFromText,
} from '../project/ignore';

/** An entry the packer writes after the walk, from memory (a Dockerfile of a few KiB and a .dockerignore). */
export interface AppendedEntry {
  name: string;
  content: Buffer;
  mode: number;
  mtime: Date;
}

/** How one task's context is sent: its root, its ignore rule, the Dockerfile's name in the tar. */
export interface ContextPlan {
  root: string;
  ignore: IgnoreRule;
  /** The `dockerfile` the builder is told. */
  dockerfile: string;
  /** Entries written after the walk. */
  appended: AppendedEntry[];
  /** The ignore file the rule was read from (absolute), or null when the context has none. */
  ignoreFile: string | null;
}

/** A Dockerfile is text; anything bigger than this is a mistake (and it is held in memory). */
const MAX_DOCKERFILE_BYTES = 1 << 20;

/**
 * Plans a task's context the way the docker CLI sends it, with the ignore file the builder of
 * `flavour` reads (see chooseIgnoreFile). A Dockerfile outside the context (or inline) goes in as
 * ".dockerfile.<20 hex>", and the .dockerignore sent gains that name, so the build cannot COPY it (the
 * CLI's AddDockerfileToBuildContext).
 */
export async function planContext(task: Task, flavour: IgnoreFlavour = 'classic'): Promise<ContextPlan> {
  const root = task.contextPath;
  const dockerfilePath =
    task.dockerfileInline !== undefined ? null : (task.dockerfileOutside ?? resolve(root, task.dockerfile));
  const { path: ignoreFile, text } = await chooseIgnoreFile(root, dockerfilePath, flavour);
  if (task.dockerfileOutside === undefined && task.dockerfileInline === undefined) {
    return {
      root,
      ignore: ignoreRuleFromText(text, task.dockerfile),
      dockerfile: task.dockerfile,
      appended: [],
      ignoreFile,
    };
  }
  let content: Buffer;
  if (task.dockerfileInline !== undefined) {
    content = Buffer.from(task.dockerfileInline);
  } else {
    const path = task.dockerfileOutside as string;
    try {
      if ((await stat(path)).size > MAX_DOCKERFILE_BYTES) {
        throw new SlipwayError('E_NO_DOCKERFILE', `${path} is over 1 MiB: not a Dockerfile`);
      }
      content = await readFile(path);
    } catch (error) {
      if (error instanceof SlipwayError) throw error;
      throw new SlipwayError(
        'E_NO_DOCKERFILE',
        `Cannot read the Dockerfile ${path}: ${(error as NodeJS.ErrnoException).code}`,
        {
          cause: error,
        },
      );
    }
  }
  const now = new Date();
  const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
  // The .dockerignore is replaced by the rewritten one below, so the walk leaves the file on disk out.
  const ignore = ignoreRuleFromSource({ text, dockerfile: null, leaveOutDockerignore: true });
  let ignoreMode = 0o600;
  let ignoreMtime = now;
  let ignoreText = `.dockerignore\n${name}\n`;
  try {
    const stats = await stat(join(root, '.dockerignore'));
    ignoreMode = stats.mode & 0o7777;
    ignoreMtime = stats.mtime;
    ignoreText = `${text}\n${name}\n`;
  } catch {
    // No .dockerignore: the CLI writes one that names itself.
  }
  return {
    root,
    ignore,
    dockerfile: name,
    ignoreFile,
    appended: [
      { name, content, mode: 0o600, mtime: now },
      { name: '.dockerignore', content: Buffer.from(ignoreText), mode: ignoreMode, mtime: ignoreMtime },
    ],
  };
}

/** A plan for a bare folder and .dockerignore text, for tools and tests that have no Task. */
export function planFromText(root: string, ignoreText: string, dockerfile = 'Dockerfile'): ContextPlan {
  return { root, ignore: ignoreRuleFromText(ignoreText, dockerfile), dockerfile, appended: [], ignoreFile: null };
}
