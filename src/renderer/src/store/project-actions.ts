import { mode, slipway } from '../transport';
import { type BuildOptions, get, set } from './app-state';
import { failure, notify, notifyFailure } from './notices';

export async function loadRecent(): Promise<void> {
  try {
    set({ recent: await slipway['project.recent']({}) });
  } catch {
    set({ recent: [] });
  }
}

/** Opens a folder; compose options not given are the ones last chosen for it (the engine remembers them). */
export async function openProject(path: string, options: { profiles?: string[] } = {}): Promise<void> {
  set({ opening: true });
  try {
    const project = await slipway['project.open']({ path, ...options });
    sessionStorage.setItem('slipway.projectPath', project.path);
    set({ project, inspections: null, inspectFailure: null, screen: 'project' });
    if (location.hash !== '#/project') location.hash = '#/project';
    void inspectProject(project.id);
    void probeRegions();
  } catch (error) {
    notifyFailure(`Cannot open ${path}`, error);
  } finally {
    set({ opening: false, folderPickerOpen: false });
  }
}

/** Opens the shown project again with these profiles active (a toggle of the project screen). */
export async function reopenWithProfiles(profiles: string[]): Promise<void> {
  const project = get().project;
  if (project) await openProject(project.path, { profiles });
}

export async function inspectProject(projectId: string): Promise<void> {
  const opened = get().project;
  try {
    const { tasks } = await slipway['project.inspect']({ projectId });
    // A project re-opened meanwhile (a profile toggled) has its own inspection coming.
    if (get().project !== opened) return;
    set({ inspections: Object.fromEntries(tasks.map((task) => [task.taskId, task])), inspectFailure: null });
  } catch (error) {
    if (get().project === opened) set({ inspectFailure: failure(error) });
  }
}

export async function probeRegions(): Promise<void> {
  set({ probing: true });
  try {
    set({ probe: await slipway['regions.probe']({}), probeFailure: null });
  } catch (error) {
    set({ probeFailure: failure(error) });
  } finally {
    set({ probing: false });
  }
}

export async function pinRegion(region: string | null): Promise<void> {
  try {
    set({ settings: await slipway['regions.pin']({ region }) });
  } catch (error) {
    notifyFailure('Cannot pin the region', error);
  }
}

/** Opens the folder dialog: the native one in Electron, the engine-fed picker in a browser. */
export async function chooseFolder(): Promise<void> {
  if (mode !== 'electron') {
    set({ folderPickerOpen: true });
    return;
  }
  try {
    const { path } = await slipway['dialog.openFolder']({});
    if (path) await openProject(path);
  } catch (error) {
    notifyFailure('Cannot open the folder dialog', error);
  }
}

export function setOptions(changes: Partial<BuildOptions>): void {
  set((state) => ({ options: { ...state.options, ...changes } }));
}

/** KEY=VALUE lines to an object; blank lines and # comments are skipped. */
export function parseBuildArgs(text: string): Record<string, string> {
  const args: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const equals = trimmed.indexOf('=');
    if (equals <= 0) continue;
    args[trimmed.slice(0, equals).trim()] = trimmed.slice(equals + 1);
  }
  return args;
}

/** Reads the settings; a file that cannot be used is kept as a failure the Settings screen offers to repair. */
export async function loadSettings(): Promise<void> {
  try {
    const settings = await slipway['settings.get']({});
    set({ settings, settingsFailure: null, options: { ...get().options, concurrency: settings.concurrency } });
  } catch (error) {
    // The build options keep their defaults.
    set({ settingsFailure: failure(error) });
    notifyFailure('The settings cannot be used', error);
  }
}

/** Puts a settings.json that cannot be used aside (kept beside it) and starts from the defaults. */
export async function repairSettings(): Promise<void> {
  try {
    const { settings, keptAs } = await slipway['settings.repair']({});
    set({ settings, settingsFailure: null, options: { ...get().options, concurrency: settings.concurrency } });
    notify(
      keptAs ? `Settings reset to the defaults; the old file is kept as ${keptAs}.` : 'The settings were fine.',
      'info',
    );
  } catch (error) {
    notifyFailure('Cannot repair the settings', error);
  }
}

export async function saveSettings(changes: Parameters<(typeof slipway)['settings.update']>[0]): Promise<boolean> {
  try {
    set({ settings: await slipway['settings.update'](changes) });
    notify('Settings saved.', 'info');
    return true;
  } catch (error) {
    notifyFailure('Cannot save the settings', error);
    return false;
  }
}
