import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { registriesWithCredentials } from '../../core/builders/registry-auth';
import { inspectProject } from '../../core/pack/inspect';
import { openProject } from '../../core/project/detect';
import type { IgnoreFlavour } from '../../core/project/ignore';
import { isInside } from '../../core/project/paths';
import type { Project, Task, TaskInspection } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import { maskSecretValues, withMaskedArgs } from '../../shared/secret-names';
import { composeOptions, composeUsage, projectOptionsFrom } from '../compose-options';
import { EXIT_OK } from '../exit-codes';
import type { Output } from '../output';

export const inspectUsage = `slipway inspect <dir> [-f FILE ...] [--profile NAME ...] [--env-file F] [-p NAME] [--json]

  Finds the build tasks of <dir> (compose files or a Dockerfile) and scans each context as it would be
  sent: files, bytes, exact upload size, largest files and folders, memory estimate and warnings.
${composeUsage}
  --ignore-flavour F    whose ignore-file rule to apply: classic (.dockerignore, the default), buildkit
                        (<Dockerfile>.dockerignore first) or podman (.containerignore first)
  --json                print one JSON document: { project, tasks, services, folders, registries }`;

const FLAVOURS: IgnoreFlavour[] = ['classic', 'buildkit', 'podman'];

/** A folder the build will send, and whether it lies outside the project directory. */
interface SentFolder {
  path: string;
  services: string[];
  outsideProject: boolean;
}

/** The folders the tasks send (contexts and local additional contexts), each once. */
function sentFolders(project: Project): SentFolder[] {
  const base = project.compose?.projectDir ?? project.path;
  const folders = new Map<string, SentFolder>();
  const add = (path: string, service: string) => {
    const folder = folders.get(path) ?? { path, services: [], outsideProject: !isInside(base, path) };
    if (!folder.services.includes(service)) folder.services.push(service);
    folders.set(path, folder);
  };
  for (const task of project.tasks) {
    if (task.remoteContext === undefined) add(task.contextPath, task.service);
    for (const extra of Object.values(task.additionalContexts ?? {}))
      if (extra.startsWith('/')) add(extra, task.service);
  }
  return [...folders.values()];
}

function dockerfileOf(task: Task): string {
  return task.dockerfileInline !== undefined ? '(inline)' : (task.dockerfileOutside ?? task.dockerfile);
}

/** A task as inspect --json shows it: where it builds from, with what, and what was refused. */
function taskReport(project: Project, task: Task, inspection: TaskInspection | undefined) {
  const service = project.compose?.services.find((entry) => entry.service === task.service);
  return {
    ...inspection,
    service: task.service,
    context: task.remoteContext ?? task.contextPath,
    dockerfile: dockerfileOf(task),
    args: maskSecretValues(task.buildArgs ?? {}),
    target: task.target ?? null,
    tags: task.tags ?? [],
    profiles: service?.profiles ?? [],
    state: service?.state ?? 'built',
    carried: service?.carried ?? [],
    refused: service?.refused ?? [],
    warnings: [...(service?.warnings ?? []), ...(inspection?.warnings ?? [])],
  };
}

/** `slipway inspect`: prints what a build of the folder would send; exits 0, or 2 on bad input. */
export async function inspectCommand(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'ignore-flavour': { type: 'string', default: 'classic' },
      ...composeOptions,
    },
  });
  if (positionals.length !== 1) {
    throw new SlipwayError('E_BAD_INPUT', 'inspect needs exactly one project folder', { hint: inspectUsage });
  }
  const flavour = values['ignore-flavour'] as IgnoreFlavour;
  if (!FLAVOURS.includes(flavour)) {
    throw new SlipwayError('E_BAD_INPUT', `--ignore-flavour takes ${FLAVOURS.join(', ')}, not ${flavour}`);
  }
  const project = await openProject(positionals[0] as string, projectOptionsFrom(values));
  const inspections = await inspectProject(project, flavour);
  const tasks = project.tasks.map((task, index) => taskReport(project, task, inspections[index]));
  const folders = sentFolders(project);
  // Hosts only: which registries a build would send credentials for, never the credentials.
  const registries = await registriesWithCredentials();
  if (values.json) {
    // Build-arg values of secret-looking names never reach the output, not even inside project.
    const shown = withMaskedArgs(project);
    const services = project.compose?.services ?? [];
    output.out(JSON.stringify({ project: shown, tasks, services, folders, registries }));
    return EXIT_OK;
  }
  printProject(project, folders, output);
  printRegistries(registries, output);
  for (const task of tasks) printTask(project, task, output);
  for (const service of project.external) output.out(`\n[${service.service}] pulled, not built: ${service.image}`);
  for (const service of project.compose?.services ?? []) {
    if (service.state === 'inactive') {
      output.out(
        `\n[${service.service}] inactive: profiles ${service.profiles.join(', ')} are off (--profile to build it)`,
      );
    }
  }
  return EXIT_OK;
}

function printProject(project: Project, folders: SentFolder[], output: Output): void {
  const compose = project.compose;
  if (!compose) {
    output.out(`${project.name}: Dockerfile`);
  } else {
    output.out(`${project.name}: ${compose.files.map((file) => relative(project.path, file) || file).join(' + ')}`);
    output.out(`  project directory ${compose.projectDir}`);
    if (compose.profiles.length > 0) {
      output.out(`  profiles: ${compose.profiles.map((p) => `${p.name} (${p.active ? 'on' : 'off'})`).join(', ')}`);
    }
    for (const variable of compose.variables) {
      const note = variable.overridden ? ' (the environment overrides it)' : '';
      output.out(`  ${relative(project.path, variable.file)}: ${variable.name}=${variable.value}${note}`);
    }
    for (const warning of compose.warnings) output.out(`  warning: ${warning}`);
  }
  output.out('  folders sent:');
  for (const folder of folders) {
    const where = folder.outsideProject ? '  (outside the project directory)' : '';
    output.out(`    ${folder.path}  [${folder.services.join(', ')}]${where}`);
  }
}

function printRegistries(found: Awaited<ReturnType<typeof registriesWithCredentials>>, output: Output): void {
  if (found.error) output.out(`  registry credentials: ${found.error.code}: ${found.error.message}`);
  else if (found.registries.length === 0) output.out(`  registry credentials: none (${found.configPath})`);
  else output.out(`  registry credentials (${found.configPath}): ${found.registries.join(', ')}`);
}

function printTask(project: Project, task: ReturnType<typeof taskReport>, output: Output): void {
  const base = project.compose?.projectDir ?? project.path;
  const context = task.context.startsWith('/') ? relative(base, task.context) || '.' : task.context;
  output.out('');
  output.out(
    `[${task.taskId ?? task.service}] context ${context}, Dockerfile ${task.dockerfile}${task.target ? `, target ${task.target}` : ''}`,
  );
  if (task.tags.length > 0) output.out(`  tags: ${task.tags.join(', ')}`);
  const args = Object.entries(task.args);
  if (args.length > 0) output.out(`  args: ${args.map(([name, value]) => `${name}=${value}`).join(' ')}`);
  if (task.refused.length > 0) output.out(`  refused keys: ${task.refused.join(', ')}`);
  const { scan } = task;
  if (scan) {
    output.out(
      `  ${scan.files} files, ${formatBytes(scan.bytes)}; upload ${scan.tarBytes} bytes (${formatBytes(scan.tarBytes)}); a build of it adds about ${formatBytes(task.memoryEstimateBytes ?? 0)} to Slipway's memory`,
    );
  }
  if (task.ignoreFlavour) {
    output.out(`  ignore file (${task.ignoreFlavour}): ${task.ignoreFile ? relative(base, task.ignoreFile) : 'none'}`);
    for (const other of task.otherIgnoreFiles ?? []) {
      output.out(
        `    note: a ${other.flavour} builder reads ${other.file ? relative(base, other.file) : 'no ignore file'} instead`,
      );
    }
  }
  if (task.largestFiles && task.largestFiles.length > 0) {
    output.out('  largest files:');
    for (const file of task.largestFiles) output.out(`    ${formatBytes(file.bytes).padStart(10)}  ${file.path}`);
  }
  if (task.largestFolders && task.largestFolders.length > 0) {
    output.out('  largest folders:');
    for (const folder of task.largestFolders)
      output.out(`    ${formatBytes(folder.bytes).padStart(10)}  ${folder.path}/`);
  }
  for (const warning of task.warnings) output.out(`  warning: ${warning}`);
  if (task.suggestedIgnores && task.suggestedIgnores.length > 0) {
    output.out(`  suggested .dockerignore lines: ${task.suggestedIgnores.join('  ')}`);
  }
}

/** The command as the CLI's table loads it. */
export const command = { run: inspectCommand, usage: inspectUsage };
