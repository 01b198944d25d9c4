import type { Project, SizedPath, Task, TaskInspection } from '../../shared/domain';
import { formatBytes } from '../../shared/format';
import { DEFAULT_MAX_LINE_BYTES } from '../logs/line-splitter';
import { chooseIgnoreFile, type IgnoreFlavour } from '../project/ignore';
import { PACK_MEMORY_BYTES } from './pack';
import { planContext } from './plan';
import { scanContext } from './scan';

/** A context past either of these is worth a warning before it is uploaded. */
export const LARGE_CONTEXT_BYTES = 256 << 20;
export const LARGE_CONTEXT_FILES = 20_000;
/** A folder (or file) holding at least this share of a large context is said to dominate it. */
const DOMINANT_SHARE = 0.1;
/** Userland bytes between the counter and the kernel: undici writes a chunk at a time and awaits drain. */
const SOCKET_USER_BYTES = 256 * 1024;

/**
 * Bytes one task's pipeline can hold at once: the pack (PACK_MEMORY_BYTES), the request's socket
 * writes, and the log parser's longest line with the chunk it is cut from. Independent of the context.
 */
export const TASK_MEMORY_BYTES = PACK_MEMORY_BYTES + SOCKET_USER_BYTES + 2 * DEFAULT_MAX_LINE_BYTES;

/**
 * What the pack worker of a task's context costs while it runs: an isolate of its own, with the walk's
 * and the tar writer's code and heap. Measured, not derived: an empty worker adds about 10 MiB to the
 * engine's RSS, the pack worker about 14 (one build at a time of bench/memory/serve-builds.mjs adds at
 * most 21-23 MiB to the idle engine, against 7.6 for the pipeline alone).
 */
export const PACK_WORKER_BYTES = 14 << 20;

/** What a task's build adds to the engine while it runs, whatever its context's size. */
export const TASK_ENGINE_BYTES = TASK_MEMORY_BYTES + PACK_WORKER_BYTES;

/** Folder names that are build outputs, caches or VCS data, and the .dockerignore line that drops them. */
const KNOWN_FOLDERS: Record<string, string> = {
  node_modules: '**/node_modules',
  '.git': '.git',
  '.hg': '.hg',
  '.svn': '.svn',
  dist: 'dist',
  build: 'build',
  out: 'out',
  target: 'target',
  '.next': '.next',
  '.nuxt': '.nuxt',
  coverage: 'coverage',
  '.cache': '**/.cache',
  __pycache__: '**/__pycache__',
  '.venv': '.venv',
  venv: 'venv',
  '.terraform': '**/.terraform',
  '.gradle': '.gradle',
  tmp: 'tmp',
  logs: 'logs',
};

/** File suffixes of disk images, archives and dumps, which are rarely meant for an image. */
const KNOWN_SUFFIXES = [
  '.img',
  '.iso',
  '.qcow2',
  '.vmdk',
  '.vdi',
  '.raw',
  '.tar',
  '.tgz',
  '.gz',
  '.zip',
  '.7z',
  '.dump',
  '.log',
];

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The .dockerignore line that would drop a path, when the path is a known kind of clutter. */
function ignoreLineFor(entry: SizedPath, isFolder: boolean): string | null {
  const name = baseName(entry.path);
  if (isFolder) {
    const known = KNOWN_FOLDERS[name];
    if (!known) return null;
    // A root-level folder is named as such; a nested one by its path, unless the line already reaches it.
    return known.startsWith('**/') || !entry.path.includes('/') ? known : entry.path;
  }
  const suffix = KNOWN_SUFFIXES.find((candidate) => name.endsWith(candidate));
  return suffix ? `**/*${suffix}` : null;
}

/** Folders that dominate a context, outermost first, a nested one left out when its parent is listed. */
function dominantFolders(folders: SizedPath[], totalBytes: number): SizedPath[] {
  const chosen: SizedPath[] = [];
  for (const folder of folders) {
    if (folder.bytes < totalBytes * DOMINANT_SHARE) continue;
    chosen.push(folder);
  }
  // Prefer the deepest folder that still dominates: "node_modules" says more than "frontend".
  return chosen.filter(
    (folder) =>
      !chosen.some(
        (other) => other !== folder && other.path.startsWith(`${folder.path}/`) && other.bytes >= folder.bytes * 0.8,
      ),
  );
}

const FLAVOURS: IgnoreFlavour[] = ['classic', 'buildkit', 'podman'];

/**
 * Scans one task's context as a builder of `flavour` would have it sent: sizes, exact tar size,
 * largest paths, memory estimate, warnings, and the ignore file other builders would read instead.
 */
export async function inspectTask(task: Task, flavour: IgnoreFlavour = 'classic'): Promise<TaskInspection> {
  if (task.remoteContext !== undefined) return remoteInspection(task, flavour);
  const plan = await planContext(task, flavour);
  const otherIgnoreFiles: TaskInspection['otherIgnoreFiles'] = [];
  if (task.remoteContext === undefined) {
    const dockerfilePath =
      task.dockerfileInline !== undefined ? null : (task.dockerfileOutside ?? `${task.contextPath}/${task.dockerfile}`);
    for (const other of FLAVOURS) {
      if (other === flavour) continue;
      const file = (await chooseIgnoreFile(task.contextPath, dockerfilePath, other)).path;
      if (file !== plan.ignoreFile) otherIgnoreFiles.push({ flavour: other, file });
    }
  }
  const { largestFiles, largestFolders, ...scan } = await scanContext(plan);
  const warnings: string[] = [];
  const suggestedIgnores: string[] = [];
  const suggest = (line: string | null) => {
    if (line && !suggestedIgnores.includes(line) && !plan.ignore.lines.some((written) => written.trim() === line)) {
      suggestedIgnores.push(line);
    }
  };
  // A folder that holds the Dockerfile is never worth ignoring, whatever its name ("build/", say).
  for (const folder of largestFolders) {
    if (!plan.dockerfile.startsWith(`${folder.path}/`)) suggest(ignoreLineFor(folder, true));
  }
  for (const file of largestFiles) {
    if (file.bytes >= scan.bytes * DOMINANT_SHARE) suggest(ignoreLineFor(file, false));
  }
  if (scan.tarBytes >= LARGE_CONTEXT_BYTES || scan.files >= LARGE_CONTEXT_FILES) {
    const share = (bytes: number) => `${Math.round((100 * bytes) / Math.max(1, scan.bytes))}%`;
    const dominant = [
      ...dominantFolders(largestFolders, scan.bytes).map(
        (folder) => `${folder.path}/ ${formatBytes(folder.bytes)} (${share(folder.bytes)})`,
      ),
      ...largestFiles
        .filter((file) => file.bytes >= scan.bytes * DOMINANT_SHARE)
        .map((file) => `${file.path} ${formatBytes(file.bytes)} (${share(file.bytes)})`),
    ];
    warnings.push(
      `The context of ${task.service} is large: ${scan.files} files, ${formatBytes(scan.tarBytes)} to upload.` +
        (dominant.length > 0 ? ` Most of it is ${dominant.join(', ')}.` : '') +
        (suggestedIgnores.length > 0
          ? ` .dockerignore lines that would remove it: ${suggestedIgnores.join(', ')}.`
          : ''),
    );
  }
  for (const skipped of scan.skipped)
    warnings.push(`${skipped.path} is skipped: ${skipped.reason} (tar cannot hold it).`);
  return {
    taskId: task.id,
    scan,
    largestFiles,
    largestFolders,
    memoryEstimateBytes: TASK_ENGINE_BYTES,
    warnings,
    suggestedIgnores,
    ignoreFlavour: flavour,
    ignoreFile: plan.ignoreFile,
    otherIgnoreFiles,
  };
}

/** A context the engine fetches itself: nothing is scanned or uploaded. */
function remoteInspection(task: Task, flavour: IgnoreFlavour): TaskInspection {
  return {
    taskId: task.id,
    scan: { files: 0, bytes: 0, tarBytes: 0, skipped: [] },
    largestFiles: [],
    largestFolders: [],
    memoryEstimateBytes: 0,
    warnings: [`The context of ${task.service} is ${task.remoteContext}: the engine fetches it, nothing is uploaded.`],
    suggestedIgnores: [],
    ignoreFlavour: flavour,
    ignoreFile: null,
    otherIgnoreFiles: [],
  };
}

/** Inspects every task of a project, one after the other (the scans share the disk). */
export async function inspectProject(project: Project, flavour: IgnoreFlavour = 'classic'): Promise<TaskInspection[]> {
  const inspections: TaskInspection[] = [];
  for (const task of project.tasks) inspections.push(await inspectTask(task, flavour));
  return inspections;
}
