import { create } from 'zustand';
import type { SlipwayEvent } from '../../../shared/contract';
import type {
  Build,
  BuildSummary,
  ProbeResult,
  Project,
  RecentProject,
  Settings,
  TaskInspection,
  TaskState,
} from '../../../shared/domain';
import { errorCode, errorMessage, isFinished } from '../format';
import { mode, slipway } from '../transport';
import { FrameBatcher } from './frame-batcher';

/** The log "task" that stands for every task of the build at once. */
export const ALL_TASKS = '*';

export type Screen = 'start' | 'project' | 'build' | 'history' | 'settings';

/** A request that answered with an error: kept to be shown calmly where its data would be. */
export interface Failure {
  code: string;
  message: string;
}

export interface BuildOptions {
  tag: string;
  noCache: boolean;
  /** KEY=VALUE, one per line, as the user typed them. */
  buildArgs: string;
  concurrency: number;
}

export interface Notice {
  id: number;
  tone: 'error' | 'info';
  text: string;
}

export interface AppState {
  screen: Screen;
  info: { version: string; dataDir: string; mode: 'electron' | 'browser' } | null;
  recent: RecentProject[];
  project: Project | null;
  opening: boolean;
  inspections: Record<string, TaskInspection> | null;
  inspectFailure: Failure | null;
  probe: ProbeResult | null;
  probing: boolean;
  probeFailure: Failure | null;
  settings: Settings | null;
  /** Why the settings could not be read (E_SETTINGS_INVALID: the Settings screen offers to repair them). */
  settingsFailure: Failure | null;
  options: BuildOptions;
  build: Build | null;
  /** When each task of the shown build left the queue, by this window's clock (for elapsed time). */
  taskStartedMs: Record<string, number>;
  /** Region and reason per task, from task.region events (failover). */
  taskRegions: Record<string, { region: string; reason: string }>;
  logTask: string | null;
  /** Lines of the shown build's own log (balena: the builder's [Info]/[Success]/[Error] output), by build id. */
  buildLogLines: Record<string, number>;
  history: BuildSummary[] | null;
  historyFailure: Failure | null;
  folderPickerOpen: boolean;
  notices: Notice[];
}

const initialOptions: BuildOptions = { tag: '', noCache: false, buildArgs: '', concurrency: 2 };

export const useStore = create<AppState>(() => ({
  screen: 'start',
  info: null,
  recent: [],
  project: null,
  opening: false,
  inspections: null,
  inspectFailure: null,
  probe: null,
  probing: false,
  probeFailure: null,
  settings: null,
  settingsFailure: null,
  options: initialOptions,
  build: null,
  taskStartedMs: {},
  taskRegions: {},
  logTask: null,
  buildLogLines: {},
  history: null,
  historyFailure: null,
  folderPickerOpen: false,
  notices: [],
}));

const set = useStore.setState;
const get = useStore.getState;

function failure(error: unknown): Failure {
  return { code: errorCode(error), message: errorMessage(error) };
}

let noticeId = 0;
/** Shows a short message at the top of the window; errors stay until dismissed. */
export function notify(text: string, tone: Notice['tone'] = 'error'): void {
  noticeId += 1;
  const id = noticeId;
  set((state) => ({ notices: [...state.notices.slice(-3), { id, tone, text }] }));
  if (tone === 'info') setTimeout(() => dismissNotice(id), 4000);
}

export function dismissNotice(id: number): void {
  set((state) => ({ notices: state.notices.filter((notice) => notice.id !== id) }));
}

function notifyFailure(what: string, error: unknown): void {
  notify(`${what}: ${errorCode(error)}: ${errorMessage(error)}`);
}

// --- navigation: the hash keeps the screen (and the open build) across reloads ---

export function go(screen: Screen): void {
  const build = get().build;
  if (screen === 'build' && build) location.hash = `#/build/${build.id}${get().logTask ? `/log/${get().logTask}` : ''}`;
  else location.hash = `#/${screen === 'start' ? '' : screen}`;
}

/** Reads the hash and shows what it names. */
export async function route(): Promise<void> {
  const hash = location.hash.replace(/^#\/?/, '');
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'build' && parts[1]) {
    const logTask = parts[2] === 'log' && parts[3] ? parts[3] : null;
    set({ screen: 'build', logTask });
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

// --- requests ---

let initialized = false;

export async function initialize(): Promise<void> {
  // One event stream per window, even when React mounts the app twice (StrictMode in development).
  if (initialized) return;
  initialized = true;
  const batcher = new FrameBatcher(applyEvents, (callback) => requestAnimationFrame(callback));
  slipway.onEvent((event) => batcher.push(event));
  window.addEventListener('hashchange', () => void route());
  const [info, settings] = await Promise.allSettled([slipway['app.info']({}), slipway['settings.get']({})]);
  if (info.status === 'fulfilled') set({ info: info.value });
  else notifyFailure('The engine cannot be reached', info.reason);
  if (settings.status === 'fulfilled') {
    set({ settings: settings.value, options: { ...get().options, concurrency: settings.value.concurrency } });
  } else {
    set({ settingsFailure: failure(settings.reason) });
    notifyFailure('The settings cannot be used', settings.reason);
  }
  await route();
  // Events can be missed (a dropped event stream reconnects); a running build is re-read now and then.
  setInterval(() => {
    const build = get().build;
    if (build?.status === 'running' && document.visibilityState === 'visible') void loadBuild(build.id);
  }, RUNNING_REFRESH_MS);
}

const RUNNING_REFRESH_MS = 5000;

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

export function closeFolderPicker(): void {
  set({ folderPickerOpen: false });
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

export async function startBuild(): Promise<void> {
  const { project, options } = get();
  if (!project) return;
  const buildArgs = parseBuildArgs(options.buildArgs);
  try {
    const { buildId } = await slipway['build.start']({
      projectId: project.id,
      ...(options.tag.trim() ? { tag: options.tag.trim() } : {}),
      ...(options.noCache ? { noCache: true } : {}),
      ...(Object.keys(buildArgs).length > 0 ? { buildArgs } : {}),
      concurrency: options.concurrency,
      // No region: the engine applies the pin or its own probe, and keeps the freedom to fail over.
    });
    set({ logTask: null, taskStartedMs: {}, taskRegions: {} });
    await loadBuild(buildId);
    location.hash = `#/build/${buildId}`;
  } catch (error) {
    notifyFailure('The build did not start', error);
  }
}

export async function loadBuild(buildId: string): Promise<void> {
  try {
    const build = await slipway['build.get']({ buildId });
    const current = get().build;
    // An event may have brought a fresher copy while build.get was on its way.
    if (current?.id === buildId && current.status !== 'running' && build.status === 'running') return;
    set({ build });
  } catch (error) {
    notifyFailure(`Cannot open build ${buildId}`, error);
    if (get().build === null && get().screen === 'build') location.hash = '#/history';
  }
}

export async function cancelBuild(): Promise<void> {
  const build = get().build;
  if (!build) return;
  try {
    const { cancelled } = await slipway['build.cancel']({ buildId: build.id });
    if (!cancelled) notify('That build is no longer running.', 'info');
  } catch (error) {
    notifyFailure('Cannot cancel the build', error);
  }
}

export function openLog(taskId: string | null): void {
  const build = get().build;
  if (!build) return;
  location.hash = taskId ? `#/build/${build.id}/log/${encodeURIComponent(taskId)}` : `#/build/${build.id}`;
}

export async function loadHistory(): Promise<void> {
  try {
    set({ history: await slipway['history.list']({}), historyFailure: null });
  } catch (error) {
    set({ historyFailure: failure(error) });
  }
}

export async function deleteFromHistory(buildId: string): Promise<void> {
  try {
    await slipway['history.delete']({ buildId });
    await loadHistory();
  } catch (error) {
    notifyFailure('Cannot delete the build', error);
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

/** The log viewer read more lines than events announced (a build this window did not start): keep the count. */
export function noteLogLines(buildId: string, taskId: string, lines: number): void {
  const build = get().build;
  if (build?.id === buildId && build.logId === taskId) {
    if ((get().buildLogLines[buildId] ?? 0) < lines)
      set({ buildLogLines: { ...get().buildLogLines, [buildId]: lines } });
    return;
  }
  const task = build?.tasks.find((candidate) => candidate.task.id === taskId);
  if (!build || build.id !== buildId || !task || task.logLines >= lines) return;
  set({ build: withTask(build, taskId, (current) => ({ ...current, logLines: lines })) });
}

// --- events ---

function withTask(build: Build, taskId: string, change: (task: Build['tasks'][number]) => Build['tasks'][number]) {
  return { ...build, tasks: build.tasks.map((task) => (task.task.id === taskId ? change(task) : task)) };
}

function noteStart(startedMs: Record<string, number>, taskId: string, state: TaskState): Record<string, number> {
  if (state.phase === 'queued' || startedMs[taskId] !== undefined || isFinished(state)) return startedMs;
  return { ...startedMs, [taskId]: Date.now() };
}

/** Applies one frame's worth of events to the store in a single update. */
export function applyEvents(events: SlipwayEvent[]): void {
  set((state) => {
    let { build, taskStartedMs, taskRegions, probe, history, buildLogLines } = state;
    let refreshHistory = false;
    for (const event of events) {
      switch (event.type) {
        case 'build.started':
          if (build?.id === event.build.id || (build === null && state.screen === 'build')) build = event.build;
          refreshHistory = true;
          break;
        case 'task.state':
          if (build?.id === event.buildId) {
            build = withTask(build, event.taskId, (task) => ({ ...task, state: event.state }));
            taskStartedMs = noteStart(taskStartedMs, event.taskId, event.state);
          }
          break;
        case 'task.log':
          if (build?.id === event.buildId && build.logId === event.taskId) {
            buildLogLines = { ...buildLogLines, [event.buildId]: event.lines };
          } else if (build?.id === event.buildId) {
            build = withTask(build, event.taskId, (task) => ({ ...task, logLines: event.lines }));
          }
          break;
        case 'task.region':
          if (build?.id === event.buildId) {
            taskRegions = { ...taskRegions, [event.taskId]: { region: event.region, reason: event.reason } };
            build = withTask(build, event.taskId, (task) => ({ ...task, region: event.region }));
          }
          break;
        case 'regions.probed':
          probe = event.result;
          break;
        case 'history.changed':
          refreshHistory = true;
          break;
        case 'build.finished':
          if (build?.id === event.buildId) {
            build = { ...build, status: event.status, error: event.error, finishedAt: new Date().toISOString() };
            void loadBuild(event.buildId);
          }
          refreshHistory = true;
          break;
      }
    }
    if (refreshHistory && state.screen === 'history') void loadHistory();
    else if (refreshHistory) history = null;
    return { build, taskStartedMs, taskRegions, probe, history, buildLogLines };
  });
}
