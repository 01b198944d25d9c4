import { parseArgs } from 'node:util';
import { ping } from '../../core/builders/docker';
import { connect, localEngineUrl } from '../../core/builders/endpoint';
import { applyHistoryQuota } from '../../core/builds/history';
import { BuildSession } from '../../core/builds/session';
import { defaultDataDir } from '../../core/data-dir';
import { formatBytes, formatDuration } from '../../core/format';
import { openProject } from '../../core/project/detect';
import type { SlipwayEvent } from '../../shared/contract';
import type { TaskState } from '../../shared/domain';
import { SlipwayError, toErrorInfo } from '../../shared/errors';
import { EXIT_BUILD_FAILED, EXIT_OK, exitCodeFor } from '../exit-codes';
import { type Output, printError } from '../output';

export const buildUsage = `slipway build <dir> [--builder URL] [--tag T] [--json] [--data-dir DIR]

  Packs <dir> and builds it on a Docker-Engine-API builder, spooling the log to disk.
  --builder URL   unix:///path.sock, tcp://host:port or http(s)://host:port (default: the local engine)
  --tag T         tag of the image
  --json          print one JSON event per line
  --data-dir DIR  where logs and history live (default: $XDG_DATA_HOME/slipway)`;

function describeState(state: TaskState): string | null {
  switch (state.phase) {
    case 'packing':
      return state.files > 0 ? `scanned ${state.files} files, ${formatBytes(state.bytes)}` : 'scanning the context';
    case 'uploading':
      return state.bytesSent === 0 ? `uploading ${formatBytes(state.bytesTotal)}` : null;
    case 'building':
      return state.step === 0 ? 'building' : null;
    case 'done':
      return `done in ${formatDuration(state.durationMs)}${state.imageId ? `: ${state.imageId}` : ''}`;
    case 'failed':
      return `failed: ${state.error.code}`;
    case 'cancelled':
      return 'cancelled';
    default:
      return null;
  }
}

/** `slipway build`: exits 0 when every task built, 1 when a build failed, 2 on bad input. */
export async function buildCommand(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      builder: { type: 'string' },
      tag: { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    throw new SlipwayError('E_BAD_INPUT', 'build needs exactly one project folder', { hint: buildUsage });
  }
  const project = await openProject(positionals[0] as string);
  const endpoint = { region: 'local', url: values.builder ?? localEngineUrl() };
  const connection = connect(endpoint);
  try {
    await ping(connection);
  } finally {
    await connection.dispatcher.destroy();
  }

  const dataDir = values['data-dir'] ?? defaultDataDir();
  const session = new BuildSession({
    dataDir,
    project,
    endpoint,
    tag: values.tag ?? null,
    reason: values.builder ? 'given with --builder' : 'the local engine',
  });
  const json = values.json;
  const many = project.tasks.length > 1;
  session.on('event', (event: SlipwayEvent) => {
    if (json) {
      output.out(JSON.stringify(event));
      return;
    }
    if (event.type === 'build.started') {
      output.err(`Building ${project.name} on ${endpoint.url} (build ${event.build.id})`);
    } else if (event.type === 'task.state') {
      const text = describeState(event.state);
      if (text) output.err(`[${event.taskId}] ${text}`);
      if (event.state.phase === 'failed') printError(output, event.state.error);
    }
  });
  session.on('line', (line) => {
    output.out(json ? JSON.stringify(line) : many ? `[${line.taskId}] ${line.text}` : line.text);
  });

  let interrupts = 0;
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    output.err('Cancelling (Ctrl-C again to quit at once)');
    session.cancel();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    const build = await session.run();
    // The oldest builds past the quota go now that this one is kept.
    await applyHistoryQuota(dataDir).catch((error: unknown) => printError(output, toErrorInfo(error)));
    if (!json) output.err(`Build ${build.status}; logs in ${session.directory}`);
    if (build.status === 'succeeded') return EXIT_OK;
    if (build.status === 'cancelled') return 130;
    const codes = build.tasks.flatMap((task) => (task.state.phase === 'failed' ? [task.state.error.code] : []));
    const code = codes[0] ?? build.error?.code;
    if (!json && build.error && codes.length === 0) printError(output, toErrorInfo(build.error));
    return code ? Math.max(...codes.map(exitCodeFor), exitCodeFor(code)) : EXIT_BUILD_FAILED;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}
