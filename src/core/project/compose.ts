import { basename, dirname, join, relative } from 'node:path';
import type {
  ComposeReport,
  ComposeService,
  ComposeVariable,
  ExternalService,
  ProjectOptions,
  Task,
} from '../../shared/domain';
import { isSecretName, MASKED_VALUE } from '../../shared/secret-names';
import { taskFromService } from './build-task';
import type { ComposeFileChoice } from './compose-files';
import { type LoadContext, loadComposeModel } from './compose-model';
import { invalid, type Plain } from './compose-yaml';
import { type ComposeEnvironment, loadEnvironment } from './env-file';
import { activeProfiles, isServiceActive, serviceProfiles } from './profiles';
import { chooseProjectName } from './project-name';

export { COMPOSE_FILE_NAMES, findComposeFile } from './compose-files';

/** A compose project read for building. */
export interface ComposeProject {
  name: string;
  tasks: Task[];
  external: ExternalService[];
  report: ComposeReport;
}

export interface ComposeLoadInput {
  /** The opened folder, real path. */
  folder: string;
  choice: ComposeFileChoice;
  options: ProjectOptions;
  processEnv: Record<string, string | undefined>;
  /** The environment read from the opened folder's env file (to find COMPOSE_FILE). */
  environment: ComposeEnvironment;
}

/**
 * Reads a compose project as docker compose does (see loadComposeModel), then makes one task per
 * active service with a build section; inactive services are listed, never checked.
 */
export async function readComposeProject(input: ComposeLoadInput): Promise<ComposeProject> {
  const { folder, choice, options, processEnv } = input;
  const projectDir = dirname(choice.files[0] as string);
  // The project's .env lives in the project directory; --env-file replaces it.
  const environment =
    options.envFile !== undefined || projectDir === folder
      ? input.environment
      : await loadEnvironment(processEnv, [{ path: join(projectDir, '.env'), required: false }]);
  const warnings = [...choice.warnings];
  const context: LoadContext = {
    lookup: environment.lookup,
    processEnv,
    warnings,
    includedVariables: [],
    folder,
    stack: choice.files,
  };
  const model = await loadComposeModel(choice.files, projectDir, context);
  const shownFile = relative(folder, choice.files[0] as string) || (choice.files[0] as string);
  const named = chooseProjectName(
    {
      option: options.projectName,
      env: environment.lookup('COMPOSE_PROJECT_NAME'),
      field: model.name,
      folder: basename(projectDir),
    },
    shownFile,
  );
  if (named.warning) warnings.push(named.warning);
  const active = activeProfiles(options.profiles, environment.lookup('COMPOSE_PROFILES'));

  const tasks: Task[] = [];
  const external: ExternalService[] = [];
  const services: ComposeService[] = [];
  const info = {
    projectName: named.name,
    projectDir,
    roots: [...new Set([folder, projectDir])],
    lookup: environment.lookup,
    secrets: model.secrets,
    file: shownFile,
  };
  const activeNames = new Set<string>();
  for (const [service, definition] of Object.entries(model.services)) {
    const profiles = serviceProfiles(definition);
    const report: ComposeService = { service, state: 'built', profiles, carried: [], refused: [], warnings: [] };
    services.push(report);
    const hasBuild = definition.build !== undefined && definition.build !== null;
    if (!isServiceActive(definition, active)) {
      report.state = 'inactive';
      continue;
    }
    activeNames.add(service);
    if (!hasBuild) {
      if (typeof definition.image !== 'string')
        throw invalid(shownFile, `service "${service}" has neither build nor image`);
      report.state = 'pulled';
      external.push({ service, image: definition.image });
      continue;
    }
    const built = await taskFromService(service, definition, info);
    tasks.push(built.task);
    Object.assign(report, { carried: built.carried, refused: built.refused, warnings: built.warnings });
  }
  for (const [service, definition] of Object.entries(model.services)) {
    if (!activeNames.has(service)) continue;
    for (const needed of dependencies(definition)) {
      if (model.services[needed] && !activeNames.has(needed)) {
        warnings.push(
          `service "${service}" depends on "${needed}", whose profiles are not active; docker compose refuses this model`,
        );
      }
    }
  }
  const allProfiles = [...new Set([...services.flatMap((service) => service.profiles), ...active])].filter(
    (name) => name !== '*',
  );
  const variables: ComposeVariable[] = [...environment.fromFiles, ...context.includedVariables].map((entry) => {
    const masked = isSecretName(entry.name);
    return {
      name: entry.name,
      value: masked ? MASKED_VALUE : entry.value,
      masked,
      file: entry.file,
      overridden: processEnv[entry.name] !== undefined,
    };
  });
  return {
    name: named.name,
    tasks,
    external,
    report: {
      files: choice.files,
      filesFrom: choice.source,
      projectDir,
      options,
      profiles: allProfiles.map((name) => ({ name, active: active.includes(name) || active.includes('*') })),
      services,
      variables,
      warnings,
    },
  };
}

/** The services a definition depends on (`depends_on` as a list or a mapping). */
function dependencies(definition: Plain): string[] {
  const needs = definition.depends_on;
  if (Array.isArray(needs)) return needs.map(String);
  if (needs && typeof needs === 'object') return Object.keys(needs);
  return [];
}
