import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { buildDir } from '../../core/builds/build-store';
import { chooseTask, followTaskLog, openBuild, readTaskLines, recoverBuild } from '../../core/builds/history';
import type { LineWindow } from '../../core/logs/reader';
import { createLogStream, searchLog } from '../../core/logs/reader';
import type { LogLineEvent } from '../../shared/contract';
import { SlipwayError } from '../../shared/errors';
import { EXIT_OK } from '../exit-codes';
import { onInterrupt } from '../interrupt';
import { dataDirOption, numberOption } from '../options';
import { type Output, processOutput } from '../output';

export const logsUsage = `slipway logs <build-id> [--task T] [--follow] [--from N] [--grep TEXT [--regex]] [--json] [--data-dir DIR]

  Prints a task's log from disk, a window at a time. Lines count from 0, as in --json.
  --task T        the task (service) whose log to print; needed when the build has several
  --follow        keep printing lines as they arrive until the task ends
  --from N        start at line N
  --grep TEXT     print only the lines that contain TEXT, each after its line number
  --regex         read --grep as a regular expression
  --json          print one JSON object per line: {type, buildId, taskId, line, text}
  --data-dir DIR  where logs and history live (default: $XDG_DATA_HOME/slipway)`;

/** Lines handed to the terminal at a time. */
const WINDOW_LINES = 2000;

/**
 * Waits for stdout to drain so a slow reader (a pager, a pipe) never makes the log pile up in memory.
 * Resolves false when the reader has gone away.
 */
function drained(output: Output): Promise<boolean> {
  const stdout = process.stdout;
  if (output !== processOutput || !stdout.writableNeedDrain) return Promise.resolve(!stdout.destroyed);
  return new Promise((resolve) => {
    const settle = (open: boolean) => () => {
      stdout.off('drain', onDrain);
      stdout.off('close', onGone);
      stdout.off('error', onGone);
      resolve(open);
    };
    const onDrain = settle(true);
    const onGone = settle(false);
    stdout.on('drain', onDrain);
    stdout.on('close', onGone);
    stdout.on('error', onGone);
  });
}

interface LogRequest {
  dataDir: string;
  buildId: string;
  taskId: string;
  fromLine: number;
  follow: boolean;
  grep: string | undefined;
  regex: boolean;
  json: boolean;
}

/** `slipway logs`: reads a kept build's log; with --follow, waits for lines of a running one. */
export async function logsCommand(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      task: { type: 'string' },
      follow: { type: 'boolean', default: false },
      from: { type: 'string' },
      grep: { type: 'string' },
      regex: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    throw new SlipwayError('E_BAD_INPUT', 'logs needs exactly one build id', { hint: logsUsage });
  }
  if (values.grep !== undefined && values.follow) {
    throw new SlipwayError('E_BAD_INPUT', '--grep and --follow do not go together');
  }
  const buildId = positionals[0] as string;
  const dataDir = dataDirOption(values);
  const fromLine = numberOption(values.from, 'from', 'line') ?? 0;
  await openBuild(dataDir, buildId);
  await recoverBuild(dataDir, buildId);
  const build = await openBuild(dataDir, buildId);
  const request: LogRequest = {
    dataDir,
    buildId,
    taskId: chooseTask(build, values.task),
    fromLine,
    follow: values.follow,
    grep: values.grep,
    regex: values.regex,
    json: values.json,
  };
  // A reader that goes away (`slipway logs ID | head`) ends the command quietly, not with a crash.
  const abort = new AbortController();
  let stdoutError: Error | null = null;
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') stdoutError = error;
    abort.abort();
  };
  if (output === processOutput) process.stdout.on('error', onStdoutError);
  const stopListening = onInterrupt(() => abort.abort());
  try {
    await printLog(request, output, abort);
    if (stdoutError) throw stdoutError;
    return EXIT_OK;
  } finally {
    process.stdout.off('error', onStdoutError);
    stopListening();
  }
}

async function printLog(request: LogRequest, output: Output, abort: AbortController): Promise<void> {
  const { dataDir, buildId, taskId } = request;
  const signal = abort.signal;
  const print = async (window: LineWindow, only?: ReadonlySet<number>) => {
    const texts: string[] = [];
    for (const [offset, text] of window.lines.entries()) {
      const line = window.fromLine + offset;
      if (only && !only.has(line)) continue;
      if (request.json) {
        const event: LogLineEvent = { type: 'task.line', buildId, taskId, line, text };
        texts.push(JSON.stringify(event));
      } else texts.push(request.grep === undefined ? text : `${line}:${text}`);
    }
    try {
      if (texts.length > 0) output.out(texts.join('\n'));
    } catch (error) {
      // Writes to a pipe are synchronous on Linux: a reader gone away shows up here.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      abort.abort();
      return;
    }
    if (!(await drained(output))) abort.abort();
  };

  if (request.grep !== undefined) {
    const found = await searchLog(buildDir(dataDir, buildId), taskId, request.grep, { regex: request.regex });
    const matches = found.matches.filter((line) => line >= request.fromLine);
    // Neighbouring matches are read together: one window per run of close lines.
    for (let i = 0; i < matches.length && !signal.aborted; ) {
      const first = matches[i] as number;
      let j = i;
      while (j + 1 < matches.length && (matches[j + 1] as number) - first < WINDOW_LINES) j += 1;
      const last = matches[j] as number;
      const window = await readTaskLines(dataDir, buildId, taskId, first, last - first + 1);
      await print(window, new Set(matches.slice(i, j + 1)));
      i = j + 1;
    }
    if (found.truncated) output.err(`Only the first ${found.matches.length} matching lines are shown.`);
    return;
  }

  if (request.follow) {
    for await (const window of followTaskLog(dataDir, buildId, taskId, { fromLine: request.fromLine, signal })) {
      await print(window);
    }
    return;
  }

  if (!request.json && output === processOutput) {
    // The log's own bytes are the output: streamed from the file, never split into lines.
    const text = await createLogStream(buildDir(dataDir, buildId), taskId, request.fromLine);
    // Ctrl-C or a reader gone away stops the copy; stdout itself stays open (errors are still reported).
    const stop = () => text.destroy();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await pipeline(text, process.stdout);
    } catch (error) {
      if (!signal.aborted && (error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    } finally {
      signal.removeEventListener('abort', stop);
    }
    return;
  }

  for (let line = request.fromLine; !signal.aborted; ) {
    const window = await readTaskLines(dataDir, buildId, taskId, line, WINDOW_LINES);
    if (window.lines.length === 0) break;
    await print(window);
    line = window.fromLine + window.lines.length;
  }
}

/** The command as the CLI's table loads it. */
export const command = { run: logsCommand, usage: logsUsage };
