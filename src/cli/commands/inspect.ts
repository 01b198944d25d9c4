import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { inspectProject } from '../../core/pack/inspect';
import { openProject } from '../../core/project/detect';
import { SlipwayError } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import { EXIT_OK } from '../exit-codes';
import type { Output } from '../output';

export const inspectUsage = `slipway inspect <dir> [--json]

  Finds the build tasks of <dir> (compose file or Dockerfile) and scans each context as it would be
  sent: files, bytes, exact upload size, largest files and folders, memory estimate and warnings.
  --json  print one JSON document: { project, tasks }`;

/** `slipway inspect`: prints what a build of the folder would send; exits 0, or 2 on bad input. */
export async function inspectCommand(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) {
    throw new SlipwayError('E_BAD_INPUT', 'inspect needs exactly one project folder', { hint: inspectUsage });
  }
  const project = await openProject(positionals[0] as string);
  const tasks = await inspectProject(project);
  if (values.json) {
    output.out(JSON.stringify({ project, tasks }));
    return EXIT_OK;
  }
  output.out(`${project.name}: ${project.composeFile ? relative(project.path, project.composeFile) : 'Dockerfile'}`);
  for (const [index, task] of project.tasks.entries()) {
    const inspection = tasks[index];
    if (!inspection) continue;
    const { scan } = inspection;
    const context = relative(project.path, task.contextPath) || '.';
    const dockerfile = task.dockerfileInline !== undefined ? '(inline)' : (task.dockerfileOutside ?? task.dockerfile);
    output.out('');
    output.out(
      `[${task.id}] context ${context}, Dockerfile ${dockerfile}${task.target ? `, target ${task.target}` : ''}`,
    );
    output.out(
      `  ${scan.files} files, ${formatBytes(scan.bytes)}; upload ${scan.tarBytes} bytes (${formatBytes(scan.tarBytes)}); the pipeline holds at most ${formatBytes(inspection.memoryEstimateBytes)}`,
    );
    if (inspection.largestFiles.length > 0) {
      output.out('  largest files:');
      for (const file of inspection.largestFiles)
        output.out(`    ${formatBytes(file.bytes).padStart(10)}  ${file.path}`);
    }
    if (inspection.largestFolders.length > 0) {
      output.out('  largest folders:');
      for (const folder of inspection.largestFolders)
        output.out(`    ${formatBytes(folder.bytes).padStart(10)}  ${folder.path}/`);
    }
    for (const warning of inspection.warnings) output.out(`  warning: ${warning}`);
    if (inspection.suggestedIgnores.length > 0) {
      output.out(`  suggested .dockerignore lines: ${inspection.suggestedIgnores.join('  ')}`);
    }
  }
  for (const service of project.external) output.out(`\n[${service.service}] pulled, not built: ${service.image}`);
  return EXIT_OK;
}

/** The command as the CLI's table loads it. */
export const command = { run: inspectCommand, usage: inspectUsage };
