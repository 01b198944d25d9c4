import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { BuilderTarget, Endpoint, Project } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { parseFleet } from '../builders/balena';
import { openProject, projectId } from '../project/detect';
import { BalenaSession } from './balena-session';

export interface BalenaStartOptions {
  dataDir: string;
  project: Project;
  target: BuilderTarget;
  token: string;
  noCache?: boolean;
  /** A region the user pinned or chose: tried first. */
  region?: string | null;
}

/** A push of a project to a balena target as the settings describe it (the window's path to balena). */
export function balenaSessionFor(options: BalenaStartOptions): BalenaSession {
  const { target } = options;
  if (!target.fleet) {
    throw new SlipwayError('E_BAD_INPUT', `The balena target ${target.name} names no fleet`, {
      hint: 'Set its fleet (ORG/FLEET) in the settings.',
    });
  }
  const pinned = target.endpoints.find((endpoint) => endpoint.region === options.region);
  const endpoints: Endpoint[] = pinned
    ? [pinned, ...target.endpoints.filter((endpoint) => endpoint !== pinned)]
    : target.endpoints;
  return new BalenaSession({
    dataDir: options.dataDir,
    project: options.project,
    endpoints,
    token: options.token,
    build: {
      fleet: parseFleet(target.fleet),
      dockerfilePath: target.balena?.dockerfilePath ?? null,
      emulated: target.balena?.emulated ?? false,
      draft: target.balena?.draft ?? false,
      nocache: options.noCache ?? false,
    },
    reason: pinned ? `region ${pinned.region} chosen` : `target ${target.name}`,
  });
}

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
    return {
      id: projectId(path),
      path,
      name: basename(path),
      composeFile: null,
      tasks: [{ id: 'main', service: 'main', contextPath: path, dockerfile: 'Dockerfile.template' }],
      external: [],
    };
  }
}
