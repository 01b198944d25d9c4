import { get, type Screen, set } from './app-state';
import { loadBuild, loadHistory } from './build-actions';
import { targetLine } from './log-view';
import { loadRecent, openProject } from './project-actions';

// The hash keeps the screen (and the open build and log) across reloads; every move goes through it.

export function go(screen: Screen): void {
  const { build, logTask } = get();
  if (screen === 'build' && build) location.hash = `#/build/${build.id}${logTask ? `/log/${logTask}` : ''}`;
  else location.hash = `#/${screen === 'start' ? '' : screen}`;
}

/** Shows a log of the shown build (null: none). */
export function openLog(taskId: string | null): void {
  const build = get().build;
  if (!build) return;
  location.hash = taskId ? `#/build/${build.id}/log/${encodeURIComponent(taskId)}` : `#/build/${build.id}`;
}

export function closeFolderPicker(): void {
  set({ folderPickerOpen: false });
}

/** Reads the hash and shows what it names. */
export async function route(): Promise<void> {
  const hash = location.hash.replace(/^#\/?/, '');
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'build' && parts[1]) {
    // A line's link: #build/<id>/<task>/<n>, n counted from 1 as the gutter shows it.
    const link = parts.length === 4 && parts[2] !== 'log' && /^[1-9]\d{0,15}$/.test(parts[3] as string);
    const logTask = link ? (parts[2] as string) : parts[2] === 'log' && parts[3] ? parts[3] : null;
    set({ screen: 'build', logTask });
    if (link) targetLine(parts[1], logTask as string, Number(parts[3]) - 1);
    if (get().build?.id !== parts[1]) await loadBuild(parts[1]);
    return;
  }
  if (parts[0] === 'history') {
    set({ screen: 'history' });
    void loadHistory();
    return;
  }
  if (parts[0] === 'settings') {
    set({ screen: 'settings' });
    return;
  }
  if (parts[0] === 'project') {
    if (get().project) set({ screen: 'project' });
    else {
      const path = sessionStorage.getItem('slipway.projectPath');
      if (path) await openProject(path);
      else set({ screen: 'start' });
    }
    return;
  }
  set({ screen: 'start' });
  void loadRecent();
}
