import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Project } from '../../../shared/domain';
import { SlipwayError } from '../../../shared/errors';
import { openProject, singleDockerfileProject } from '../../project/detect';

/**
 * Opens a project for balena: as any project, and also one whose only Dockerfile is a balena template
 * (Dockerfile.template, filled in by the builder), which the builder builds as the service "main".
 */
export async function openBalenaProject(folder: string): Promise<Project> {
  try {
    return await openProject(folder);
  } catch (error) {
    if (!(error instanceof SlipwayError) || error.code !== 'E_NO_DOCKERFILE') throw error;
    const path = resolve(folder);
    const template = await stat(join(path, 'Dockerfile.template')).catch(() => null);
    if (!template?.isFile()) throw error;
    return singleDockerfileProject(path, path, 'Dockerfile.template');
  }
}
