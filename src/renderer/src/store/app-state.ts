import { create } from 'zustand';
import type {
  Build,
  BuildSummary,
  ProbeResult,
  Project,
  RecentProject,
  Settings,
  TaskInspection,
} from '../../../shared/domain';

/** The log "task" that stands for every task of the build at once. */
export const ALL_TASKS = '*';

/** The log "task" that stands for every task's log read as one, interleaved by time. */
export const ONE_LOG = '+';

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
  /** The network of RUN steps (none, host, a network's name); empty for the engine's default. */
  network: string;
}

export interface Notice {
  id: number;
  tone: 'error' | 'info';
  text: string;
}

/** Where the window is: the screen, and the log it shows (the hash keeps both across reloads). */
export interface NavigationState {
  screen: Screen;
  logTask: string | null;
  folderPickerOpen: boolean;
}

/** What the engine told the window, request by request. */
export interface EngineState {
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
  history: BuildSummary[] | null;
  historyFailure: Failure | null;
  notices: Notice[];
}

/** The build shown, kept current by events. */
export interface BuildState {
  build: Build | null;
  /** When each task of the shown build left the queue, by this window's clock (for elapsed time). */
  taskStartedMs: Record<string, number>;
  /** Region and reason per task, from task.region events (failover). */
  taskRegions: Record<string, { region: string; reason: string }>;
  /**
   * The one count of lines of each log of the shown build (a task's, or the builder's own log), by
   * logKey: from the build record, task.log events and the viewer's reads, whichever knows more.
   */
  logLines: Record<string, number>;
}

export type AppState = NavigationState & EngineState & BuildState;

const initialOptions: BuildOptions = { tag: '', noCache: false, buildArgs: '', concurrency: 2, network: '' };

export const useStore = create<AppState>(() => ({
  screen: 'start',
  logTask: null,
  folderPickerOpen: false,
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
  history: null,
  historyFailure: null,
  notices: [],
  build: null,
  taskStartedMs: {},
  taskRegions: {},
  logLines: {},
}));

export const set = useStore.setState;
export const get = useStore.getState;

/** The key of one log of one build in `logLines`. */
export function logKey(buildId: string, logId: string): string {
  return `${buildId}/${logId}`;
}
