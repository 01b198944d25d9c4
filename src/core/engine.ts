import { EventEmitter } from 'node:events';
import {
  parseRequest,
  type RequestInput,
  type RequestName,
  type RequestResult,
  type SlipwayEvent,
} from '../shared/contract';
import type { Project } from '../shared/domain';
import { SlipwayError } from '../shared/errors';
import { localEngineUrl } from './builders/endpoint';
import { buildDir } from './builds/build-store';
import { BuildSession } from './builds/session';
import { readLines } from './logs/reader';
import { openProject } from './project/detect';

export interface EngineOptions {
  dataDir: string;
  mode: 'electron' | 'browser';
  version: string;
  builderUrl?: string;
}

type Handlers = { [N in RequestName]: (input: RequestInput<N>) => Promise<RequestResult<N>> };

/**
 * The engine behind every shell: it holds opened projects and running builds and answers the
 * contract's requests. Shells validate nothing themselves: `call` checks every input against its schema.
 */
export class Engine extends EventEmitter<{ event: [SlipwayEvent] }> {
  private readonly projects = new Map<string, Project>();
  private readonly sessions = new Map<string, BuildSession>();
  private readonly runs = new Set<Promise<unknown>>();

  constructor(private readonly options: EngineOptions) {
    super();
  }

  /** Answers one request of the contract, after validating its input. */
  async call<N extends RequestName>(name: N, input: unknown): Promise<RequestResult<N>> {
    let parsed: RequestInput<N>;
    try {
      parsed = parseRequest(name, input);
    } catch (error) {
      throw new SlipwayError('E_BAD_INPUT', `Invalid input for ${name}: ${(error as Error).message}`, { cause: error });
    }
    const handler = this.handlers[name] as (input: RequestInput<N>) => Promise<RequestResult<N>>;
    return handler(parsed);
  }

  /** Cancels every running build; resolves when they have all stopped. */
  async close(): Promise<void> {
    for (const session of this.sessions.values()) session.cancel();
    await Promise.all(this.runs);
  }

  private readonly handlers: Handlers = {
    'app.info': async () => ({ version: this.options.version, dataDir: this.options.dataDir, mode: this.options.mode }),
    'project.open': async ({ path }) => {
      const project = await openProject(path);
      this.projects.set(project.id, project);
      return project;
    },
    'build.start': async ({ projectId, tag }) => {
      const project = this.projects.get(projectId);
      if (!project) throw new SlipwayError('E_BAD_INPUT', `No open project with id ${projectId}`);
      const url = this.options.builderUrl ?? localEngineUrl();
      const session = new BuildSession({
        dataDir: this.options.dataDir,
        project,
        endpoint: { region: 'local', url },
        tag: tag ?? null,
        reason: this.options.builderUrl ? 'configured builder' : 'the local engine',
      });
      this.sessions.set(session.build.id, session);
      session.on('event', (event) => this.emit('event', event));
      const run = session.run().finally(() => {
        this.sessions.delete(session.build.id);
        this.runs.delete(run);
      });
      this.runs.add(run);
      return { buildId: session.build.id };
    },
    'build.cancel': async ({ buildId }) => {
      const session = this.sessions.get(buildId);
      session?.cancel();
      return { cancelled: session !== undefined };
    },
    'logs.read': async ({ buildId, taskId, fromLine, count }) => {
      if (!/^[\w.-]+$/.test(buildId) || !/^[\w.-]+$/.test(taskId)) {
        throw new SlipwayError('E_BAD_INPUT', 'Build and task ids are plain names');
      }
      const window = await readLines(buildDir(this.options.dataDir, buildId), taskId, fromLine, count);
      return { fromLine: window.fromLine, lines: window.lines, totalLines: window.totalLines };
    },
  };
}
