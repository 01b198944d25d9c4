import type { Project, ProjectOptions } from '../shared/domain';
import type { Output } from './output';

/** The compose options `inspect` and `build` take, as docker compose spells them. */
export const composeOptions = {
  file: { type: 'string', short: 'f', multiple: true },
  profile: { type: 'string', multiple: true },
  'env-file': { type: 'string' },
  'project-name': { type: 'string', short: 'p' },
} as const;

export const composeUsage = `  -f, --file FILE       a compose file (repeatable, merged in order; default: compose.yaml and its
                        override, or COMPOSE_FILE)
  --profile NAME        activate a profile (repeatable; default: COMPOSE_PROFILES)
  --env-file FILE       read variables from FILE instead of the project's .env
  -p, --project-name N  the project name (default: COMPOSE_PROJECT_NAME, name:, the folder's name)`;

/** The project options given on the command line; an option not given is left to compose's defaults. */
export function projectOptionsFrom(values: {
  file?: string[];
  profile?: string[];
  'env-file'?: string;
  'project-name'?: string;
}): ProjectOptions {
  const options: ProjectOptions = {};
  if (values.file?.length) options.files = values.file;
  if (values.profile?.length) options.profiles = values.profile.flatMap((name) => name.split(','));
  if (values['env-file'] !== undefined) options.envFile = values['env-file'];
  if (values['project-name'] !== undefined) options.projectName = values['project-name'];
  return options;
}

/**
 * Says on stderr, before anything is built, what the compose files made Slipway do otherwise than
 * written: unset variables, refused build keys, inactive services, files found in a sub-folder.
 */
export function printComposeWarnings(project: Project, output: Output): void {
  const compose = project.compose;
  if (!compose) return;
  for (const warning of compose.warnings) output.err(`warning: ${warning}`);
  for (const service of compose.services) {
    for (const warning of service.warnings) output.err(`warning: ${warning}`);
    if (service.state === 'inactive') {
      output.err(`[${service.service}] not built: its profiles (${service.profiles.join(', ')}) are not active`);
    }
  }
}
