import { SlipwayError } from '../../shared/errors';

/** A name Compose accepts as given (-p, COMPOSE_PROJECT_NAME): lowercase letters, digits, '-' and '_'. */
const VALID_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A folder's name made into a project name as compose-go's NormalizeProjectName does it. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

/**
 * The compose project name, by Compose's precedence: --project-name, then COMPOSE_PROJECT_NAME, then
 * the top-level `name:`, then the project folder's name normalized. A name given explicitly must
 * already be valid; returns the name and a warning when `name:` had to be normalized.
 */
export function chooseProjectName(
  given: { option?: string; env?: string; field?: string; folder: string },
  file: string,
): { name: string; warning: string | null } {
  const explicit = given.option
    ? ['--project-name', given.option]
    : given.env
      ? ['COMPOSE_PROJECT_NAME', given.env]
      : null;
  if (explicit) {
    const [source, name] = explicit as [string, string];
    if (!VALID_NAME.test(name)) {
      throw new SlipwayError('E_COMPOSE_INVALID', `${source} "${name}" is not a valid project name`, {
        hint: 'A project name has lowercase letters, digits, dashes and underscores, and starts with a letter or digit.',
      });
    }
    return { name, warning: null };
  }
  const source = given.field ?? given.folder;
  const name = normalizeProjectName(source);
  if (name === '') {
    throw new SlipwayError('E_COMPOSE_INVALID', `${file}: no project name can be made from "${source}"`, {
      hint: 'Set name: in the compose file, or give --project-name.',
    });
  }
  const warning =
    given.field !== undefined && name !== given.field ? `${file}: name "${given.field}" is used as "${name}"` : null;
  return { name, warning };
}

/** The image a built service gets when it has no `image:`: `<project>-<service>`, as docker compose names it. */
export function defaultImageName(project: string, service: string): string {
  return `${project}-${service.toLowerCase()}`;
}
