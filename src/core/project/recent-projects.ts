import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { projectFile } from '../../shared/contract';
import type { Project, ProjectOptions, RecentProject } from '../../shared/domain';

/** The Start screen shows a short list; older entries fall off. */
export const MAX_RECENT_PROJECTS = 12;

export function recentProjectsPath(dataDir: string): string {
  return join(dataDir, 'recent-projects.json');
}

/** Projects opened before, newest first; an unreadable or missing file is an empty list. */
export async function loadRecentProjects(dataDir: string): Promise<RecentProject[]> {
  try {
    const saved = JSON.parse(await readFile(recentProjectsPath(dataDir), 'utf8')) as unknown;
    return Array.isArray(saved)
      ? saved
          .filter((entry): entry is RecentProject => typeof entry?.path === 'string' && typeof entry?.name === 'string')
          .map((entry) => {
            const options = savedOptions(entry.options);
            const { options: _raw, ...rest } = entry;
            return options ? { ...rest, options } : rest;
          })
      : [];
  } catch {
    return [];
  }
}

/** Keeps only well-formed options from a file written by hand or by another version. */
function savedOptions(value: unknown): ProjectOptions | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const saved = value as Record<string, unknown>;
  const list = (items: unknown) =>
    Array.isArray(items) && items.every((item) => typeof item === 'string') ? (items as string[]) : undefined;
  const options: ProjectOptions = {};
  // Files as the contract takes them from the window: inside the folder, whoever wrote the list.
  const inside = (path: unknown) => projectFile.safeParse(path).success;
  const files = list(saved.files);
  const profiles = list(saved.profiles);
  if (files?.every(inside)) options.files = files;
  if (profiles) options.profiles = profiles;
  if (inside(saved.envFile)) options.envFile = saved.envFile as string;
  if (typeof saved.projectName === 'string') options.projectName = saved.projectName;
  return options;
}

/**
 * The compose options to open a folder with: each option given wins; one not given is the one last
 * chosen for the folder (a profile toggled in the window), else compose's default.
 */
export async function optionsToOpenWith(dataDir: string, path: string, given: ProjectOptions): Promise<ProjectOptions> {
  const folder = resolve(path);
  const remembered = (await loadRecentProjects(dataDir)).find((entry) => entry.path === folder)?.options ?? {};
  const options: ProjectOptions = { ...remembered };
  for (const [key, value] of Object.entries(given) as [keyof ProjectOptions, never][]) {
    if (value !== undefined) options[key] = value;
  }
  return options;
}

/** Puts a project at the top of the recent list, with its compose options (atomically: temp file + rename). */
export async function rememberProject(
  dataDir: string,
  project: Pick<Project, 'path' | 'name'> & { compose?: { options: ProjectOptions } },
  now = new Date(),
) {
  const others = (await loadRecentProjects(dataDir)).filter((entry) => entry.path !== project.path);
  const entry: RecentProject = { path: project.path, name: project.name, openedAt: now.toISOString() };
  const options = project.compose?.options;
  if (options && Object.keys(options).length > 0) entry.options = options;
  const recent = [entry, ...others].slice(0, MAX_RECENT_PROJECTS);
  await mkdir(dataDir, { recursive: true });
  const temporary = join(dataDir, `.recent-projects.json.${process.pid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(recent, null, 2)}\n`);
  await rename(temporary, recentProjectsPath(dataDir));
  return recent;
}
