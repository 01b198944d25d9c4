import type { BuilderTarget, Endpoint, Project } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { parseFleet } from '../builders/balena';
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
