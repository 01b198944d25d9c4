import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Project, RecentProject } from '../../shared/domain';

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
      ? saved.filter(
          (entry): entry is RecentProject => typeof entry?.path === 'string' && typeof entry?.name === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

/** Puts a project at the top of the recent list (atomically: temp file + rename). */
export async function rememberProject(dataDir: string, project: Pick<Project, 'path' | 'name'>, now = new Date()) {
  const others = (await loadRecentProjects(dataDir)).filter((entry) => entry.path !== project.path);
  const recent = [{ path: project.path, name: project.name, openedAt: now.toISOString() }, ...others].slice(
    0,
    MAX_RECENT_PROJECTS,
  );
  await mkdir(dataDir, { recursive: true });
  const temporary = join(dataDir, `.recent-projects.json.${process.pid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(recent, null, 2)}\n`);
  await rename(temporary, recentProjectsPath(dataDir));
  return recent;
}
