import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { Project, ProjectOptions } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { readComposeProject } from './compose';
import { type ComposeFileChoice, chooseComposeFiles, findNestedComposeFiles } from './compose-files';
import { loadEnvironment } from './env-file';
import { absoluteFrom } from './paths';

/** A stable id for a project folder, so reopening it finds the same project. */
export function projectId(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 16);
}

/** A project of one Dockerfile at the root of `path` (read from `contextPath`), built as the task "main". */
export function singleDockerfileProject(path: string, contextPath: string, dockerfile: string): Project {
  return {
    id: projectId(path),
    path,
    name: basename(path),
    composeFile: null,
    tasks: [{ id: 'main', service: 'main', contextPath, dockerfile }],
    external: [],
  };
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new SlipwayError('E_CONTEXT_UNREADABLE', `Cannot read ${path}: ${code}`, { cause: error });
  }
}

export interface OpenOptions {
  /** The process environment compose variables come from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Return a compose project whose services are all inactive (the window lets the user turn profiles on). */
  allowNoTasks?: boolean;
}

/**
 * Opens a project folder and finds its build tasks: its compose files' active services (read as
 * docker compose reads them, with `options` as its command line would give them), else a root
 * Dockerfile, else a compose file found in a sub-folder (said in a warning).
 */
export async function openProject(
  folder: string,
  options: ProjectOptions = {},
  open: OpenOptions = {},
): Promise<Project> {
  const path = resolve(folder);
  const folderStat = await statOrNull(path);
  if (!folderStat) {
    throw new SlipwayError('E_PROJECT_NOT_FOUND', `No such folder: ${path}`, { hint: 'Check the path and try again.' });
  }
  if (!folderStat.isDirectory()) {
    throw new SlipwayError('E_PROJECT_NOT_A_FOLDER', `Not a folder: ${path}`, {
      hint: 'Give the folder that holds the Dockerfile, not a file in it.',
    });
  }
  // Every outside-the-project decision compares real paths: a folder opened through a link is its target.
  const real = await realpath(path);
  const processEnv = open.env ?? process.env;
  const envFiles =
    options.envFile !== undefined
      ? [{ path: absoluteFrom(real, options.envFile), required: true }]
      : [{ path: join(real, '.env'), required: false }];
  const environment = await loadEnvironment(processEnv, envFiles);
  let choice = await chooseComposeFiles(real, options.files, environment.lookup);
  if (!choice) {
    const dockerfile = join(path, 'Dockerfile');
    if ((await statOrNull(dockerfile))?.isFile()) return singleDockerfileProject(path, real, 'Dockerfile');
    choice = await nestedChoice(real, path);
  }
  const compose = await readComposeProject({ folder: real, choice, options, processEnv, environment });
  const inactive = compose.report.services.some((service) => service.state === 'inactive');
  if (compose.tasks.length === 0 && !(open.allowNoTasks && inactive)) {
    throw noTasks(choice.files[0] as string, { external: compose.external, compose: compose.report });
  }
  return {
    id: projectId(path),
    path,
    name: compose.name,
    composeFile: choice.files[0] as string,
    tasks: compose.tasks,
    external: compose.external,
    compose: compose.report,
  };
}

/** The error for a compose project with nothing to build, saying which profiles would build something. */
export function noTasks(file: string, compose: Pick<Project, 'external' | 'compose'>) {
  const inactive = compose.compose?.services.filter((service) => service.state === 'inactive') ?? [];
  if (inactive.length > 0) {
    const profiles = [...new Set(inactive.flatMap((service) => service.profiles))];
    return new SlipwayError('E_NO_DOCKERFILE', `${file}: no active service has a build section`, {
      hint: `The services ${inactive.map((s) => s.service).join(', ')} need a profile: ${profiles.map((p) => `--profile ${p}`).join(' or ')}.`,
    });
  }
  return new SlipwayError('E_NO_DOCKERFILE', `${file} has no service with a build section`, {
    hint: `Its services only pull images (${compose.external.map((service) => service.service).join(', ')}); nothing to build.`,
  });
}

/** The compose file of a folder opened one level too high (docker/compose.yml), said as such. */
async function nestedChoice(real: string, shown: string): Promise<ComposeFileChoice> {
  const nested = await findNestedComposeFiles(real);
  const names = nested.map((file) => relative(real, file));
  if (nested.length === 0) {
    throw new SlipwayError('E_NO_DOCKERFILE', `No compose file and no Dockerfile in ${shown}`, {
      hint: `Add ${join(shown, 'Dockerfile')}, or open the folder that holds the compose file.`,
    });
  }
  if (nested.length > 1) {
    throw new SlipwayError(
      'E_NO_DOCKERFILE',
      `No compose file and no Dockerfile in ${shown}; sub-folders hold ${names.join(', ')}`,
      { hint: `Open one of those folders, or choose a file with -f (for example -f ${names[0]}).` },
    );
  }
  const folder = dirname(nested[0] as string);
  const inner = await chooseComposeFiles(folder, undefined, () => undefined);
  const files = inner?.files ?? nested;
  return {
    files,
    source: 'sub-folder',
    warnings: [
      `${shown} has no compose file; using ${files.map((file) => relative(real, file)).join(' + ')} from a sub-folder (docker compose needs -f ${names[0]} for this)`,
    ],
  };
}
