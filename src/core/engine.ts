import { EventEmitter } from 'node:events';
import {
  parseRequest,
  type RequestInput,
  type RequestName,
  type RequestResult,
  type SlipwayEvent,
} from '../shared/contract';
import type { BuilderTarget, ProbeResult, Project } from '../shared/domain';
import { SlipwayError } from '../shared/errors';
import { LineFlag } from '../shared/log-line';
import { MASKED_VALUE, maskSecretValues, withMaskedArgs } from '../shared/secret-names';
import { readBalenaToken } from './builders/balena-token';
import { registriesWithCredentials } from './builders/registry-auth';
import { defaultTarget, targetFromSpecs } from './builders/targets';
import { assertPlainIds } from './builds/build-ids';
import { buildDir, readBuild } from './builds/build-store';
import { applyHistoryQuota, deleteBuild, listHistory, recoverInterrupted } from './builds/history';
import type { BuildSession } from './builds/session';
import { startBuild } from './builds/start';
import { readTimeline } from './builds/timeline';
import { interleavedPosition, readInterleaved, readLineTimes, searchInterleaved } from './logs/interleave';
import { DEFAULT_SEARCH_LIMIT_LINES, firstLineWithFlags, readLines, readSteps, searchLog } from './logs/reader';
import { copyLog, savedLogName } from './logs/save-log';
import { inspectProject } from './pack/inspect';
import { collectGarbage } from './process-memory';
import { noTasks, openProject } from './project/detect';
import { listFolders } from './project/folders';
import { loadRecentProjects, optionsToOpenWith, rememberProject } from './project/recent-projects';
import { RegionProber } from './regions/probe';
import { fileSecretStore, type SecretStore } from './settings/secret-store';
import { loadSettings, repairSettings, saveSettings } from './settings/settings-store';
import { validateSettings } from './settings/settings-validate';

/** What only a shell can do (a native dialog); the engine asks its shell through these. */
export interface ShellDialogs {
  openFolder(): Promise<string | null>;
  /** Asks where to save a file; null when the user cancelled. */
  saveFile(suggestedName: string): Promise<string | null>;
}

export interface EngineOptions {
  dataDir: string;
  mode: 'electron' | 'browser';
  version: string;
  builderUrl?: string;
  dialogs?: ShellDialogs;
  /** The API token of a balena target; default: the token stored for it, else BALENA_TOKEN or ~/.balena/token. */
  balenaToken?: (target: string) => Promise<string>;
  /** Where targets' tokens are kept (Electron: encrypted with safeStorage); default a 0600 file per target. */
  secrets?: SecretStore;
  /** How long a regular expression search of a log may run (default SEARCH_TIMEOUT_MS, 30 s). */
  searchTimeoutMs?: number;
}

/**
 * What a build's run does if it ever rejects (sessions resolve with failures in the build): the build
 * is over either way, and the process must not go down with an unhandled rejection.
 */
function runFailed(buildId: string): (error: unknown) => void {
  return (error) => console.error(`Slipway: build ${buildId}: ${(error as Error).message}`);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/** What a shell knows of a request beside its input. */
export interface CallContext {
  /** Aborts when the caller went away (an HTTP client that disconnected): long work stops. */
  signal?: AbortSignal;
}

type Handlers = {
  [N in RequestName]: (input: RequestInput<N>, context: CallContext) => Promise<RequestResult<N>>;
};

/**
 * The engine behind every shell: it holds opened projects and running builds and answers the
 * contract's requests. Shells validate nothing themselves: `call` checks every input against its schema.
 */
export class Engine extends EventEmitter<{ event: [SlipwayEvent] }> {
  private readonly projects = new Map<string, Project>();
  private readonly sessions = new Map<
    string,
    Pick<BuildSession, 'build' | 'cancel'> & { fail?(error: SlipwayError): void }
  >();
  private readonly runs = new Set<Promise<unknown>>();
  private idleCollection: NodeJS.Immediate | undefined;
  /** Builds cut off by an earlier process are marked interrupted once, before history is first read. */
  private recovery: Promise<string[]> | null = null;
  /** Warm connections to the current target's endpoints, and the last choice (so it does not flap). */
  private prober: { key: string; prober: RegionProber; last: ProbeResult | null } | null = null;

  private readonly secrets: SecretStore;

  constructor(private readonly options: EngineOptions) {
    super();
    this.secrets = options.secrets ?? fileSecretStore(options.dataDir);
  }

  /** Answers one request of the contract, after validating its input. */
  async call<N extends RequestName>(name: N, input: unknown, context: CallContext = {}): Promise<RequestResult<N>> {
    let parsed: RequestInput<N>;
    try {
      parsed = parseRequest(name, input);
    } catch (error) {
      throw new SlipwayError('E_BAD_INPUT', `Invalid input for ${name}: ${(error as Error).message}`, { cause: error });
    }
    const handler = this.handlers[name] as (input: RequestInput<N>, context: CallContext) => Promise<RequestResult<N>>;
    return handler(parsed, context);
  }

  /**
   * Once the last build has ended, the engine (a long-running process: browser mode, the Electron app)
   * gives back what the builds left behind, at once rather than whenever V8 next needs to allocate.
   */
  private collectWhenIdle(): void {
    clearImmediate(this.idleCollection);
    this.idleCollection = setImmediate(() => {
      if (this.sessions.size === 0) collectGarbage();
    });
    this.idleCollection.unref();
  }

  /** Cancels every running build; resolves when they have all stopped. */
  async close(): Promise<void> {
    clearImmediate(this.idleCollection);
    for (const session of this.sessions.values()) session.cancel();
    await Promise.all(this.runs);
    await this.prober?.prober.close();
    this.prober = null;
  }

  /**
   * Fails every running build with an error from outside it (the shell's guard against unhandled
   * rejections): each stops and is recorded failed; a session that cannot fail is cancelled.
   */
  failRunning(error: SlipwayError): void {
    for (const session of this.sessions.values()) {
      if (session.fail) session.fail(error);
      else session.cancel();
    }
  }

  /** The target builds go to: --builder given to the shell, else the settings' default, else the local engine. */
  private async currentTarget(): Promise<BuilderTarget> {
    if (this.options.builderUrl) return targetFromSpecs([this.options.builderUrl]);
    return defaultTarget(await loadSettings(this.options.dataDir));
  }

  /** Probes the target's regions over warm connections and announces the result. */
  private async probeRegions(target: BuilderTarget, pinned: string | null, waitForEngine = true): Promise<ProbeResult> {
    const key = JSON.stringify(target.endpoints);
    if (this.prober?.key !== key) {
      await this.prober?.prober.close();
      this.prober = { key, prober: new RegionProber(target.endpoints), last: null };
    }
    const state = this.prober;
    const result = await state.prober.probe({ previous: state.last?.chosen ?? null, pinned, waitForEngine });
    state.last = result;
    this.emit('event', { type: 'regions.probed', result });
    return result;
  }

  /** Resolves once builds cut off by an earlier process are marked interrupted (done once). */
  private recovered(): Promise<string[]> {
    this.recovery ??= recoverInterrupted(this.options.dataDir).catch((error: unknown) => {
      // A failed pass (an unreadable data directory) is tried again on the next request.
      this.recovery = null;
      throw error;
    });
    return this.recovery;
  }

  /** Removes the oldest builds past the settings' quota, then tells the window history changed. */
  private async applyQuota(): Promise<void> {
    try {
      await applyHistoryQuota(this.options.dataDir);
    } catch (error) {
      // The build itself is done; a quota that could not be applied now is applied after the next one.
      console.warn(`Slipway: the history quota was not applied: ${(error as Error).message}`);
    }
    this.emit('event', { type: 'history.changed' });
  }

  private readonly handlers: Handlers = {
    'app.info': async () => ({ version: this.options.version, dataDir: this.options.dataDir, mode: this.options.mode }),
    'app.memory': async () => {
      const usage = process.memoryUsage();
      return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed };
    },
    'project.inspect': async ({ projectId }) => {
      const project = this.projects.get(projectId);
      if (!project) throw new SlipwayError('E_BAD_INPUT', `No open project with id ${projectId}`);
      return { tasks: await inspectProject(project) };
    },
    'project.recent': async () => loadRecentProjects(this.options.dataDir),
    'dialog.openFolder': async () => {
      if (!this.options.dialogs)
        throw new SlipwayError('E_BAD_INPUT', 'No folder dialog in this mode; use folders.list');
      return { path: await this.options.dialogs.openFolder() };
    },
    'folders.list': async ({ path }) => listFolders(path),
    'regions.probe': async () => {
      const settings = await loadSettings(this.options.dataDir);
      return this.probeRegions(await this.currentTarget(), settings.pinnedRegion);
    },
    'regions.pin': async ({ region }) => {
      const settings = { ...(await loadSettings(this.options.dataDir)), pinnedRegion: region };
      await saveSettings(this.options.dataDir, settings);
      return settings;
    },
    'settings.get': async () => loadSettings(this.options.dataDir),
    'settings.update': async (changes) => {
      const settings = { ...(await loadSettings(this.options.dataDir)), ...changes };
      validateSettings(settings);
      await saveSettings(this.options.dataDir, settings);
      return settings;
    },
    'settings.repair': async () => repairSettings(this.options.dataDir),
    'targets.setToken': async ({ target, token }) => {
      if (token === null) await this.secrets.delete(target);
      else if (token !== undefined) await this.secrets.set(target, token);
      return { stored: await this.secrets.has(target) };
    },
    'registries.list': () => registriesWithCredentials(),
    'build.get': async ({ buildId }) => {
      const running = this.sessions.get(buildId)?.build;
      if (running) return running;
      assertPlainIds(buildId);
      await this.recovered();
      return readBuild(this.options.dataDir, buildId);
    },
    'build.timeline': async ({ buildId }) => {
      const build = await this.handlers['build.get']({ buildId }, {});
      return readTimeline(build, buildDir(this.options.dataDir, buildId));
    },
    'build.rerun': async ({ buildId }) => {
      const build = await this.handlers['build.get']({ buildId }, {});
      const given = build.startOptions ?? {};
      const masked = Object.entries(given.buildArgs ?? {}).filter(([, value]) => value === MASKED_VALUE);
      if (masked.length > 0) {
        throw new SlipwayError(
          'E_BAD_INPUT',
          `Build ${buildId} cannot be run again as it was: the value of build arg ${masked.map(([name]) => name).join(', ')} is not kept`,
          { hint: 'Open the project and start the build with that value again.' },
        );
      }
      const project = await this.handlers['project.open']({ path: build.projectPath }, {});
      return this.handlers['build.start']({ ...given, projectId: project.id }, {});
    },
    'history.list': async () => {
      await this.recovered();
      return listHistory(this.options.dataDir);
    },
    'history.delete': async ({ buildId }) => {
      if (this.sessions.has(buildId)) {
        throw new SlipwayError('E_BAD_INPUT', `Build ${buildId} is still running; cancel it before deleting it`);
      }
      const result = await deleteBuild(this.options.dataDir, buildId);
      if (result.deleted) this.emit('event', { type: 'history.changed' });
      return result;
    },
    'logs.search': async ({ buildId, taskId, query, regex, limit }, { signal }) => {
      assertPlainIds(buildId, taskId);
      await readBuild(this.options.dataDir, buildId);
      return searchLog(buildDir(this.options.dataDir, buildId), taskId, query, {
        regex,
        limitLines: limit,
        signal,
        timeoutMs: this.options.searchTimeoutMs,
      });
    },
    'logs.steps': async ({ buildId, taskId }) => {
      assertPlainIds(buildId, taskId);
      await readBuild(this.options.dataDir, buildId);
      return readSteps(buildDir(this.options.dataDir, buildId), taskId);
    },
    'logs.save': async ({ buildId, taskId }) => {
      assertPlainIds(buildId, taskId);
      if (!this.options.dialogs) {
        // Browser mode: the page downloads it from the server, which streams the file.
        const query = new URLSearchParams({ buildId, taskId });
        return { path: null, downloadUrl: `/download/log?${query}` };
      }
      const path = await this.options.dialogs.saveFile(savedLogName(buildId, taskId));
      if (path) await copyLog(buildDir(this.options.dataDir, buildId), taskId, path);
      return { path, downloadUrl: null };
    },
    'project.open': async ({ path, ...given }) => {
      const options = await optionsToOpenWith(this.options.dataDir, path, given);
      const project = await openProject(path, options, { allowNoTasks: true });
      this.projects.set(project.id, project);
      await rememberProject(this.options.dataDir, project).catch(() => undefined); // a recent list is not worth failing an open
      // The engine keeps the values it builds with; the window only shows them.
      return withMaskedArgs(project);
    },
    'build.start': async ({ projectId, tag, region, concurrency, noCache, buildArgs, network }) => {
      const project = this.projects.get(projectId);
      if (!project) throw new SlipwayError('E_BAD_INPUT', `No open project with id ${projectId}`);
      if (project.tasks.length === 0) throw noTasks(project.composeFile ?? project.path, project);
      const settings = await loadSettings(this.options.dataDir);
      const target = await this.currentTarget();
      const session = await startBuild({
        dataDir: this.options.dataDir,
        project,
        target,
        region,
        pinnedRegion: settings.pinnedRegion,
        probe: (probed, pinned) => this.probeRegions(probed, pinned, false),
        balena:
          target.kind === 'balena'
            ? { token: await (this.options.balenaToken ?? ((name) => this.storedBalenaToken(name)))(target.name) }
            : undefined,
        tag: tag ?? null,
        concurrency: concurrency ?? settings.concurrency,
        compress: settings.compress,
        noCache,
        buildArgs,
        network,
      });
      // What the window chose, kept in the record so the build can be run again as it was.
      session.build.startOptions = withoutUndefined({
        tag,
        noCache,
        buildArgs: buildArgs && maskSecretValues(buildArgs),
        network,
        concurrency,
      });
      this.sessions.set(session.build.id, session);
      session.on('event', (event) => this.emit('event', event));
      const run = session
        .run()
        .then(() => this.applyQuota())
        .catch(runFailed(session.build.id))
        .finally(() => {
          this.sessions.delete(session.build.id);
          this.runs.delete(run);
          if (this.sessions.size === 0) this.collectWhenIdle();
        });
      this.runs.add(run);
      return { buildId: session.build.id };
    },
    'build.cancel': async ({ buildId }) => {
      const session = this.sessions.get(buildId);
      session?.cancel();
      return { cancelled: session !== undefined };
    },
    'logs.read': async ({ buildId, taskId, fromLine, count, times }) => {
      assertPlainIds(buildId, taskId);
      const dir = buildDir(this.options.dataDir, buildId);
      const window = await readLines(dir, taskId, fromLine, count);
      if (!times) return window;
      return { ...window, atMs: readLineTimes(dir, taskId, window.fromLine, window.lines.length) };
    },
    'logs.interleave': async ({ buildId, taskIds, fromPosition, count }) => {
      assertPlainIds(buildId, ...taskIds);
      return readInterleaved(buildDir(this.options.dataDir, buildId), taskIds, fromPosition, count);
    },
    'logs.interleavePosition': async ({ buildId, taskIds, at }) => {
      assertPlainIds(buildId, ...taskIds);
      return { position: interleavedPosition(buildDir(this.options.dataDir, buildId), taskIds, at) };
    },
    'logs.interleaveSearch': async ({ buildId, taskIds, query, regex, limit }, { signal }) => {
      assertPlainIds(buildId, ...taskIds);
      await readBuild(this.options.dataDir, buildId);
      return searchInterleaved(buildDir(this.options.dataDir, buildId), taskIds, query, {
        regex,
        limitLines: limit ?? DEFAULT_SEARCH_LIMIT_LINES,
        signal,
        timeoutMs: this.options.searchTimeoutMs,
      });
    },
    'logs.firstError': async ({ buildId, taskId }) => {
      assertPlainIds(buildId, taskId);
      return { line: await firstLineWithFlags(buildDir(this.options.dataDir, buildId), taskId, LineFlag.error) };
    },
  };

  /** The token stored for a target (Settings), else the command line's: BALENA_TOKEN or ~/.balena/token. */
  private async storedBalenaToken(target: string): Promise<string> {
    const stored = await this.secrets.get(target);
    if (stored) return stored;
    try {
      return await readBalenaToken();
    } catch (error) {
      if (!(error instanceof SlipwayError) || error.code !== 'E_TOKEN_MISSING') throw error;
      throw new SlipwayError('E_TOKEN_MISSING', `No API token is stored for the target ${target}. ${error.message}`, {
        hint: `Store the token of ${target} in Settings, or set BALENA_TOKEN.`,
        cause: error,
      });
    }
  }
}
