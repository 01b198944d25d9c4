import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Project, Task } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { findComposeFile, readComposeProject } from './compose';

/** A stable id for a project folder, so reopening it finds the same project. */
export function projectId(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 16);
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

/** Opens a project folder and finds its build tasks: a compose file's services, else a root Dockerfile. */
export async function openProject(folder: string): Promise<Project> {
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
  const composeFile = await findComposeFile(path);
  if (composeFile) {
    const { tasks, external } = await readComposeProject(path, composeFile);
    if (tasks.length === 0) {
      throw new SlipwayError('E_NO_DOCKERFILE', `${composeFile} has no service with a build section`, {
        hint: `Its services only pull images (${external.map((service) => service.service).join(', ')}); nothing to build.`,
      });
    }
    return { id: projectId(path), path, name: basename(path), composeFile, tasks, external };
  }
  const tasks: Task[] = [];
  const dockerfile = join(path, 'Dockerfile');
  if ((await statOrNull(dockerfile))?.isFile()) {
    tasks.push({ id: 'main', service: 'main', contextPath: path, dockerfile: 'Dockerfile' });
  }
  if (tasks.length === 0) {
    throw new SlipwayError('E_NO_DOCKERFILE', `No Dockerfile in ${path}`, {
      hint: `Add ${dockerfile}, or open the folder that holds it.`,
    });
  }
  return { id: projectId(path), path, name: basename(path), composeFile: null, tasks, external: [] };
}
