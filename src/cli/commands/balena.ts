import { parseArgs } from 'node:util';
import { checkTokenUrl, parseFleet } from '../../core/builders/balena/api';
import { openBalenaProject } from '../../core/builders/balena/project';
import { BALENA_BUILD_LOG_ID } from '../../core/builders/balena-names';
import { readBalenaToken } from '../../core/builders/balena-token';
import type { SlipwayEvent } from '../../shared/contract';
import type { Endpoint, TaskState } from '../../shared/domain';
import { SlipwayError } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import { describeTaskState } from '../../shared/task-state';
import { EXIT_BUILD_FAILED, EXIT_OK, exitCodeFor } from '../exit-codes';
import { cancelOnInterrupt } from '../interrupt';
import { dataDirOption } from '../options';
import { type Output, printError } from '../output';
import { balenaUsage } from './balena-usage';

export { balenaUsage };

/** Reads `--builder REGION=URL` (a bare URL gets the region "default"). */
function parseBuilders(values: string[] | undefined): Endpoint[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((value) => {
    const equals = value.indexOf('=');
    const region = equals > 0 && !value.slice(0, equals).includes(':') ? value.slice(0, equals) : 'default';
    const url = region === 'default' && equals <= 0 ? value : value.slice(equals + 1);
    checkTokenUrl(url);
    return { region, url };
  });
}

/** Whether a state change is worth a line of its own (uploads have their own lines, by tenths). */
function worthALine(state: TaskState): boolean {
  return (
    (state.phase === 'packing' && state.files > 0) ||
    state.phase === 'done' ||
    state.phase === 'failed' ||
    state.phase === 'cancelled'
  );
}

/** `slipway build --balena`: exits 0 when the release was built (or started, detached), 1 when not. */
export async function balenaBuildCommand(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      balena: { type: 'string' },
      builder: { type: 'string', multiple: true },
      detached: { type: 'boolean', default: false },
      dockerfile: { type: 'string' },
      emulated: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      draft: { type: 'boolean', default: false },
      'registry-secrets': { type: 'string' },
      'token-file': { type: 'string' },
      api: { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    throw new SlipwayError('E_BAD_INPUT', 'build needs exactly one project folder', { hint: balenaUsage });
  }
  const fleet = parseFleet(values.balena ?? '');
  const endpoints = parseBuilders(values.builder);
  const project = await openBalenaProject(positionals[0] as string);
  const token = await readBalenaToken({ tokenFile: values['token-file'] ?? null });
  const { startBuild } = await import('../../core/builds/start');
  const session = await startBuild({
    dataDir: dataDirOption(values),
    project,
    target: { name: 'balena', kind: 'balena', endpoints: endpoints ?? [], fleet },
    noCache: values['no-cache'],
    balena: {
      token,
      apiOrigin: values.api ? new URL(values.api).origin : undefined,
      registrySecretsFile: values['registry-secrets'] ?? null,
      build: {
        fleet,
        dockerfilePath: values.dockerfile ?? null,
        emulated: values.emulated,
        nocache: values['no-cache'],
        draft: values.draft,
        headless: values.detached,
      },
    },
  });
  const json = values.json;
  let uploadedBytes = 0;
  let shownTenths = 0;
  session.on('event', (event: SlipwayEvent) => {
    if (json) {
      output.out(JSON.stringify(event));
      return;
    }
    if (event.type === 'build.started') {
      const names = project.tasks.map((task) => task.service).join(', ');
      output.err(`Pushing ${project.name} (${names}) to ${fleet} (build ${event.build.id})`);
    } else if (event.type === 'task.state') {
      if (event.state.phase === 'uploading' && event.taskId === project.tasks[0]?.id) {
        const { bytesSent, bytesTotal } = event.state;
        uploadedBytes = event.state.compressedBytesSent ?? uploadedBytes;
        // One progress line per tenth: enough to see it move, few enough for a log file.
        const tenths = Math.floor((bytesSent / Math.max(1, bytesTotal)) * 10);
        if (tenths > shownTenths && tenths < 10) {
          shownTenths = tenths;
          output.err(
            `uploaded ${tenths * 10}% of ${formatBytes(bytesTotal)} (${formatBytes(uploadedBytes)} gzipped so far)`,
          );
        }
      }
      if (event.state.phase === 'building' && event.state.step === 0 && event.taskId === project.tasks[0]?.id) {
        output.err(`uploaded ${formatBytes(uploadedBytes)} gzipped; building`);
      }
      if (worthALine(event.state)) output.err(`[${event.taskId}] ${describeTaskState(event.state, 'line')}`);
    } else if (event.type === 'task.region') {
      if (event.taskId === project.tasks[0]?.id) output.err(`region ${event.region}: ${event.reason}`);
    }
  });
  session.on('line', (line) => {
    if (json) output.out(JSON.stringify(line));
    else output.out(line.taskId === BALENA_BUILD_LOG_ID ? line.text : `[${line.taskId}] ${line.text}`);
  });

  const stopListening = cancelOnInterrupt(session);
  try {
    const build = await session.run();
    if (!json) {
      if (build.releaseId) output.err(`Release ${build.releaseId}`);
      output.err(`Build ${build.status}; logs in ${session.directory}`);
      if (build.error) printError(output, build.error);
    }
    if (build.status === 'succeeded') return EXIT_OK;
    if (build.status === 'cancelled') return 130;
    return build.error ? exitCodeFor(build.error.code) : EXIT_BUILD_FAILED;
  } finally {
    stopListening();
  }
}
