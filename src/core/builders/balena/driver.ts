import type { Build, Endpoint } from '../../../shared/domain';
import { type ErrorInfo, SlipwayError } from '../../../shared/errors';
import { BalenaBuildParser, type BalenaRecord } from '../../logs/balena-parser';
import { packBalenaProject, planBalenaPack } from '../../pack/balena-project';
import { BALENA_BUILD_LOG_ID } from '../balena-names';
import type {
  BuilderDriver,
  BuildJob,
  DriverRecord,
  JobContext,
  JobFailure,
  RecordParser,
  SendRequest,
} from '../driver';
import { type Connection, connect } from '../endpoint';
import { allowsFailover } from '../http-errors';
import { type BalenaBuildOptions, balenaApiOrigin, cancelBalenaRelease, checkTokenUrl, startBalenaBuild } from './api';

export interface BalenaDriverOptions {
  token: string;
  build: BalenaBuildOptions;
  /** The builder of each region; their URLs must be https (or http on this machine) to carry the token. */
  endpoints: Endpoint[];
  /** The balena API for cancel; default the one beside the builder (builder.X -> api.X). */
  apiOrigin?: string;
  /** Registry credentials to send as .balena/registry-secrets.json. */
  registrySecretsFile?: string | null;
  /** Slipway's data folder, left out of the push when it lies inside the project. */
  dataDir: string;
}

type Headless = Extract<BalenaRecord, { kind: 'headless' }>;

/**
 * The balena cloud builder: one push of the whole project (balena's packing rules, gzipped) for every
 * service; its one answer is demultiplexed into a log per service and the build's own log. The token
 * is only ever put in request headers: never in the record, a log line or an event.
 */
export class BalenaDriver implements BuilderDriver {
  readonly name = 'balena' as const;
  readonly tagsImages = false;
  /** The project folder: the whole of it is pushed, not a task's context. */
  private root = '';

  constructor(private readonly options: BalenaDriverOptions) {
    for (const endpoint of options.endpoints) checkTokenUrl(endpoint.url);
    if (options.apiOrigin) checkTokenUrl(options.apiOrigin);
  }

  jobs(build: Build): BuildJob[] {
    build.target.fleet = this.options.build.fleet;
    build.releaseId = null;
    build.logId = BALENA_BUILD_LOG_ID;
    this.root = build.projectPath;
    return [
      {
        id: 'project',
        tasks: build.tasks,
        logId: BALENA_BUILD_LOG_ID,
        logIds: [...build.tasks.map((buildTask) => buildTask.task.id), BALENA_BUILD_LOG_ID],
      },
    ];
  }

  /** balena builds each service as its compose file says; options given for the build are not sent. */
  check(job: BuildJob) {
    const warnings: string[] = [];
    const errors: SlipwayError[] = [];
    for (const { task } of job.tasks) {
      const service = `service ${task.service}`;
      const unsent: [string, boolean][] = [
        [
          'build args (--build-arg; use build-variables in .balena/balena.yml)',
          Boolean(task.buildArgs && Object.keys(task.buildArgs).length),
        ],
        ['labels (--label)', Boolean(task.labels && Object.keys(task.labels).length)],
        ['target (--target)', task.target !== undefined],
        ['network (--network)', task.network !== undefined],
        ['platforms (--platform; the fleet decides)', Boolean(task.platforms?.length)],
        ['pull (--pull)', Boolean(task.pull)],
        ['cache_from (--cache-from)', Boolean(task.cacheFrom?.length)],
        ['extra_hosts (--add-host)', Boolean(task.extraHosts?.length)],
        ['shm_size (--shm-size)', task.shmSizeBytes !== undefined],
        ['secrets', Boolean(task.secrets?.length)],
        ['ssh', Boolean(task.ssh?.length)],
        ['additional_contexts', Boolean(task.additionalContexts && Object.keys(task.additionalContexts).length)],
      ];
      for (const [key, given] of unsent) {
        if (given) warnings.push(`${key} of ${service} is not sent: the balena builder does not take it`);
      }
      if (task.noCache && !this.options.build.nocache) {
        warnings.push(`no_cache of ${service} applies to the whole push on balena (--no-cache)`);
      }
      if (task.remoteContext !== undefined) {
        errors.push(
          new SlipwayError(
            'E_BAD_INPUT',
            `The balena builder cannot fetch the remote context ${task.remoteContext} of ${service}`,
            {
              hint: 'balena builds the project folder it is sent; clone the context into it.',
            },
          ),
        );
      }
    }
    return { warnings, errors };
  }

  async context(): Promise<JobContext> {
    const plan = await planBalenaPack(this.root, {
      registrySecretsFile: this.options.registrySecretsFile ?? null,
      dataDir: this.options.dataDir,
    });
    return {
      root: plan.root,
      tarBytes: plan.scan.tarBytes,
      scan: Promise.resolve(plan.scan),
      notes: (scan) =>
        scan.skipped.map((entry) => `Slipway: skipped ${entry.path} (${entry.reason}: tar cannot hold it)`),
      open: async () => packBalenaProject(plan),
      attemptDone: async () => undefined,
      dispose: async () => undefined,
    };
  }

  gzip(): boolean {
    return true;
  }

  send(_job: BuildJob, connection: Connection, request: SendRequest) {
    return startBalenaBuild(connection, {
      ...this.options.build,
      token: this.options.token,
      body: request.body as NonNullable<SendRequest['body']>,
      signal: request.signal,
    });
  }

  parser(job: BuildJob, attempt: { connection: Connection; directory: string }): RecordParser {
    const taskOf = new Map(job.tasks.map((buildTask) => [buildTask.task.service, buildTask.task.id]));
    const parser = new BalenaBuildParser(new Set(taskOf.keys()));
    const errors: { service: string | null; message: string }[] = [];
    let headless: Headless | null = null;
    let releaseId: string | null = null;
    let alive = false;
    const translate = (records: BalenaRecord[]): DriverRecord[] => {
      alive = records.length > 0;
      const out: DriverRecord[] = [];
      for (const record of records) {
        if (record.kind === 'line') {
          out.push({ kind: 'line', logId: logOf(record.service), line: record.line });
        } else if (record.kind === 'step') {
          out.push({ kind: 'step', taskId: taskOf.get(record.service), step: record.step, steps: record.steps });
        } else if (record.kind === 'release') {
          releaseId = record.releaseId;
          out.push(record);
        } else if (record.kind === 'error') {
          errors.push({ service: record.service, message: record.message });
        } else {
          headless = record;
        }
      }
      return out;
    };
    const logOf = (service: string | null) =>
      service === null ? BALENA_BUILD_LOG_ID : (taskOf.get(service) ?? BALENA_BUILD_LOG_ID);
    return {
      push: (chunk) => translate(parser.push(chunk)),
      end: () => translate(parser.end()),
      get alive() {
        return alive;
      },
      failure: () => {
        const answer = headless as Headless | null;
        if (answer && !answer.started) {
          const message = answer.message ?? answer.error ?? 'the builder did not start the build';
          return new SlipwayError('E_BUILDER_REJECTED', `The balena builder refused: ${message}`);
        }
        // Errors in an answer that stopped short are not the whole story: the answer's end is the failure.
        if (!parser.complete || errors.length === 0) return null;
        const taskErrors = new Map<string, ErrorInfo>();
        for (const error of errors) {
          const taskId = error.service === null ? undefined : taskOf.get(error.service);
          if (taskId && !taskErrors.has(taskId)) {
            taskErrors.set(taskId, { code: 'E_BUILD_FAILED', message: `${error.service}: ${error.message}` });
          }
        }
        const general = errors.find((error) => error.service === null) ?? (errors[0] as { message: string });
        const failure: JobFailure = new SlipwayError('E_BUILD_FAILED', general.message, {
          hint: `The release failed${releaseId ? ` (release ${releaseId})` : ''}; the logs are in ${attempt.directory}.`,
        });
        failure.taskErrors = taskErrors;
        return failure;
      },
      result: ({ cutShort }) => {
        const answer = headless as Headless | null;
        if (!parser.complete) {
          throw new SlipwayError(
            'E_BUILDER_PROTOCOL',
            `The balena builder at ${attempt.connection.label} ended its answer before the build finished`,
            { hint: 'The builder may have restarted; look for the release on the balena dashboard, then push again.' },
          );
        }
        if (cutShort && !answer) {
          throw new SlipwayError(
            'E_BUILDER_PROTOCOL',
            `The balena builder at ${attempt.connection.label} finished its answer before it had the whole project`,
          );
        }
        const imageIds = new Map(job.tasks.map((buildTask) => [buildTask.task.id, null]));
        if (!answer) return { imageIds, notes: [] };
        return {
          imageIds,
          releaseId: answer.releaseId ?? releaseId,
          notes: [
            `Slipway: the builder started release ${answer.releaseId ?? '(no id given)'} and builds on without this client (detached)`,
          ],
        };
      },
    };
  }

  failover(error: unknown, started: boolean): boolean {
    return allowsFailover(error, started);
  }

  /** Marks the release cancelled on the balena API, when the builder named one. */
  async cancel(job: BuildJob, build: Build): Promise<string[]> {
    const releaseId = build.releaseId ?? null;
    if (!releaseId) return ['Slipway: cancelled before the builder named a release; dropping the upload stops it'];
    const region = job.tasks[0]?.region;
    const builder = this.options.endpoints.find((endpoint) => endpoint.region === region) ?? this.options.endpoints[0];
    const apiOrigin = this.options.apiOrigin ?? balenaApiOrigin((builder as Endpoint).url);
    const connection = connect({ region: 'api', url: apiOrigin });
    try {
      await cancelBalenaRelease(connection, apiOrigin, this.options.token, releaseId);
      return [`Slipway: release ${releaseId} marked cancelled`];
    } catch (error) {
      const cause = error instanceof SlipwayError ? error : new SlipwayError('E_INTERNAL', String(error));
      throw new SlipwayError(cause.code, `Release ${releaseId} could not be marked cancelled: ${cause.message}`, {
        hint: 'Cancel it on the balena dashboard; the builder may still finish it.',
        cause: error,
      });
    } finally {
      await connection.dispatcher.destroy().catch(() => undefined);
    }
  }
}
