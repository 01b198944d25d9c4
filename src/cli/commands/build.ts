import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultTarget, targetFromSpecs } from '../../core/builders/targets';
import { guardUnhandledRejections } from '../../core/fault-guard';
import { disposePrepared, type PreparedContext, prepareContext } from '../../core/pack/prepare';
import { openProject } from '../../core/project/detect';
import { loadSettings } from '../../core/settings/settings-store';
import type { SlipwayEvent } from '../../shared/contract';
import type { Settings, TaskState } from '../../shared/domain';
import { SlipwayError, toErrorInfo } from '../../shared/errors';
import { describeTaskState } from '../../shared/task-state';
import { buildOptionFlags, buildOptionUsage, readBuildFlags } from '../build-flags';
import { composeOptions, composeUsage, printComposeWarnings, projectOptionsFrom } from '../compose-options';
import { EXIT_BUILD_FAILED, EXIT_OK, exitCodeFor } from '../exit-codes';
import { cancelOnInterrupt } from '../interrupt';
import { LogPrinter } from '../log-printer';
import { dataDirOption, numberOption } from '../options';
import { flushStdout, type Output, printBytes, printError } from '../output';
import { TerminalProgress } from '../task-progress';
import { balenaUsage } from './balena-usage';

export const buildUsage = `slipway build <dir> [--builder REGION=URL ...] [--region NAME|auto] [--concurrency N] [--json]

  Packs <dir> and builds its tasks on Docker-Engine-API builders, spooling each task's log to disk.
  --builder REGION=URL  a region's endpoint (repeatable); a bare URL is region "local". URLs:
                        unix:///path.sock, tcp://host:port (TLS from DOCKER_CERT_PATH, DOCKER_TLS_VERIFY),
                        http(s)://host:port (default: the settings' target, else the local engine)
  --region NAME|auto    build in this region, or the one with the lowest latency (default: auto)
  --concurrency N       tasks built at once (default 2)
  --fail-fast           stop the other tasks when one fails
  --compress MODE       gzip the context: auto (not for local sockets), always, never (default auto)
  --silence-timeout S   fail a task whose builder says nothing for S seconds (default 1800)
${buildOptionUsage}
  --json                print one JSON event per line
  --data-dir DIR        where logs and history live (default: $XDG_DATA_HOME/slipway)
${composeUsage}
  --balena ORG/FLEET    push to the balena builder instead:

${balenaUsage}`;

/** The line a state change is worth on a plain stderr, given the phase last printed for the task. */
function lineWorthPrinting(state: TaskState, printed: TaskState['phase'] | undefined): string | null {
  const line = describeTaskState(state, 'line');
  switch (state.phase) {
    case 'packing':
      // Bytes sent while the scan runs come every 100 ms; a plain stderr gets the scan's start and result.
      return printed === 'packing' && state.files === 0 ? null : line;
    case 'done':
    case 'failed':
    case 'cancelled':
      return line;
    case 'uploading':
      // The upload may be well under way when its total is known (see BuildSession): print its first state.
      return printed === 'uploading' ? null : line;
    case 'building':
      return state.step === 0 ? 'building' : null;
    default:
      return null;
  }
}

/** `slipway build`: exits 0 when every task built, 1 when a build failed, 2 on bad input. */
export async function buildCommand(args: string[], output: Output): Promise<number> {
  if (args.some((arg) => arg === '--balena' || arg.startsWith('--balena='))) {
    const { balenaBuildCommand } = await import('./balena');
    return balenaBuildCommand(args, output);
  }
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      builder: { type: 'string', multiple: true },
      region: { type: 'string' },
      concurrency: { type: 'string' },
      'fail-fast': { type: 'boolean', default: false },
      compress: { type: 'string' },
      'silence-timeout': { type: 'string' },
      ...buildOptionFlags,
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      ...composeOptions,
    },
  });
  if (positionals.length !== 1) {
    throw new SlipwayError('E_BAD_INPUT', 'build needs exactly one project folder', { hint: buildUsage });
  }
  const compress = values.compress ?? undefined;
  if (compress !== undefined && compress !== 'auto' && compress !== 'always' && compress !== 'never') {
    throw new SlipwayError('E_BAD_INPUT', `--compress takes auto, always or never, not ${compress}`);
  }
  const concurrency = numberOption(values.concurrency, 'concurrency', 'concurrency');
  const silenceSeconds = numberOption(values['silence-timeout'], 'silence-timeout', 'silenceTimeoutSeconds');
  const dataDir = dataDirOption(values);
  const project = await openProject(positionals[0] as string, projectOptionsFrom(values));
  printComposeWarnings(project, output);
  const settings: Settings = await loadSettings(dataDir);
  const target = values.builder?.length ? targetFromSpecs(values.builder) : defaultTarget(settings);
  const { options: buildOptions, builderVersion, buildkitSession } = readBuildFlags(values);
  const json = values.json;
  // The first tasks' scans start now, in workers, while this thread loads the engine's code and picks a
  // region: on a context of many files the scan is what the upload waits for. They are planned as the
  // classic builder reads ignore files; a driver that reads others plans its context again.
  const prepared = new Map<string, Promise<PreparedContext>>();
  for (const task of project.tasks.slice(0, concurrency ?? settings.concurrency ?? 2)) {
    const preparing = prepareContext(task);
    preparing.catch(() => undefined);
    prepared.set(task.id, preparing);
  }
  let session: import('../../core/builds/session').BuildSession;
  try {
    const { startBuild } = await import('../../core/builds/start');
    session = await startBuild({
      ...buildOptions,
      dataDir,
      project,
      target,
      region: values.region,
      pinnedRegion: settings.pinnedRegion,
      builderVersion,
      buildkitSession,
      onProbed: (probe) => {
        // No region answered: the error says so, and nothing else is printed.
        if (!probe.chosen) return;
        const chosen = probe.probes.find((entry) => entry.region === probe.chosen);
        if (json) output.out(JSON.stringify({ type: 'regions.probed', result: probe } satisfies SlipwayEvent));
        else output.err(`Region ${probe.chosen} (${probe.reason}) at ${chosen?.url}`);
      },
      onBuilder: (choice) => {
        if (!json) output.err(`Builder ${choice.builder === 'buildkit' ? 'BuildKit' : 'classic'} (${choice.reason})`);
      },
      concurrency: concurrency ?? settings.concurrency,
      failFast: values['fail-fast'],
      compress: compress ?? settings.compress,
      silenceTimeoutMs: silenceSeconds === undefined ? undefined : silenceSeconds * 1000,
      // Writes to a pipe are asynchronous in Node: past 1 MiB queued, wait for the reader to catch up.
      outputReady: () => {
        // The lines of this batch are held for the turn's one write: out they go, then the buffer counts.
        flushStdout();
        return process.stdout.writableLength > 1 << 20
          ? once(process.stdout, 'drain').then(() => undefined)
          : undefined;
      },
      prepared,
    });
  } catch (error) {
    await disposePrepared(prepared.values());
    throw error;
  }
  const many = project.tasks.length > 1;
  const terminal =
    !json && process.stderr.isTTY
      ? new TerminalProgress(
          (text) => process.stderr.write(text),
          project.tasks.map((t) => t.id),
        )
      : null;
  const regionOf = new Map<string, string>();
  const builderOf = new Map<string, string>();
  const printedPhase = new Map<string, TaskState['phase']>();
  session.on('event', (event: SlipwayEvent) => {
    if (json) {
      output.out(JSON.stringify(event));
      return;
    }
    if (event.type === 'build.started') {
      output.err(`Building ${project.name}: ${project.tasks.length} task(s), build ${event.build.id}`);
    } else if (event.type === 'task.region') {
      const moved = regionOf.has(event.taskId);
      const builderBefore = builderOf.get(event.taskId);
      regionOf.set(event.taskId, event.region);
      if (event.builder) builderOf.set(event.taskId, event.builder);
      // A region with another engine builds with another builder (Podman's buildah, BuildKit).
      const builderNote =
        moved && event.builder && event.builder !== builderBefore
          ? `; builder ${event.builder === 'docker-buildkit' ? 'BuildKit' : 'classic'} there`
          : '';
      if (moved)
        (terminal ? terminal.print.bind(terminal) : output.err)(
          `[${event.taskId}] now in ${event.region} (${event.reason}${builderNote})`,
        );
    } else if (event.type === 'task.state') {
      if (terminal) terminal.update(event.taskId, event.state, regionOf.get(event.taskId));
      else {
        const text = lineWorthPrinting(event.state, printedPhase.get(event.taskId));
        if (text) {
          output.err(`[${event.taskId}] ${text}`);
          printedPhase.set(event.taskId, event.state.phase);
        }
      }
      if (event.state.phase === 'failed')
        printError(terminal ? { out: output.out, err: (line) => terminal.print(line) } : output, event.state.error);
    }
  });
  // Lines are printed a stored batch at a time, as bytes: a run of plain lines as the spool holds it.
  const printer = new LogPrinter(session.build.id, json ? 'json' : many ? 'prefixed' : 'plain');
  session.on('lines', (batch) => {
    const printed = printer.render(batch);
    if (terminal) {
      terminal.printText(printed.bytes.toString('utf8'));
      printed.release();
    } else printBytes(output, printed.bytes, printed.release);
  });

  const stopListening = cancelOnInterrupt(session);
  // A promise nobody handled fails this build (the CLI's guard prints it) instead of killing the process.
  const unguard = guardUnhandledRejections((error) => session.fail(error));
  try {
    const build = await session.run();
    terminal?.finish();
    // The oldest builds past the quota go now that this one is kept.
    const { applyHistoryQuota } = await import('../../core/builds/history-quota');
    await applyHistoryQuota(dataDir).catch((error: unknown) => printError(output, toErrorInfo(error)));
    // A build whose first record could not be written has no folder to point at.
    if (!json)
      output.err(`Build ${build.status}${existsSync(session.directory) ? `; logs in ${session.directory}` : ''}`);
    if (build.status === 'succeeded') return EXIT_OK;
    if (build.status === 'cancelled') return 130;
    const codes = build.tasks.flatMap((task) => (task.state.phase === 'failed' ? [task.state.error.code] : []));
    const code = codes[0] ?? build.error?.code;
    if (!json && build.error && codes.length === 0) printError(output, build.error);
    return code ? Math.max(...codes.map(exitCodeFor), exitCodeFor(code)) : EXIT_BUILD_FAILED;
  } finally {
    unguard();
    stopListening();
  }
}

/** The command as the CLI's table loads it. */
export const command = { run: buildCommand, usage: buildUsage };
