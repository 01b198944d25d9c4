import { guardUnhandledRejections } from '../core/fault-guard';
import { limitProcessMemory } from '../core/process-memory';
import { SlipwayError, toErrorInfo } from '../shared/errors';
import { EXIT_BAD_INPUT, EXIT_BUILD_FAILED, exitCodeFor } from './exit-codes';
import { installInterruptHandler } from './interrupt';
import { type Output, printError, processOutput } from './output';

interface Command {
  run: (args: string[], output: Output) => Promise<number>;
  usage: string;
}

/**
 * Each command is loaded when it runs: a build need not pay for loading the browser mode's server
 * and its schemas (zod), nor the rest; on a small context, loading the CLI is most of its time.
 */
const commands: Record<string, () => Promise<{ command: Command }>> = {
  build: () => import('./commands/build'),
  inspect: () => import('./commands/inspect'),
  probe: () => import('./commands/probe'),
  serve: () => import('./commands/serve'),
  history: () => import('./commands/history'),
  logs: () => import('./commands/logs'),
};

async function usage(): Promise<string> {
  const loaded = await Promise.all(Object.values(commands).map(async (load) => (await load()).command));
  return `Slipway: build container images from a project folder, streaming contexts and logs.

Usage:
${loaded.map((command) => `  ${command.usage.split('\n')[0]}`).join('\n')}

Run "slipway <command> --help" for a command's options.`;
}

/** Runs the CLI with its arguments; resolves with the exit code. */
export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  // First: a Ctrl-C a moment after the start must not meet Node's default handler (see interrupt.ts).
  installInterruptHandler(output);
  limitProcessMemory();
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    output.out(await usage());
    return name ? 0 : EXIT_BAD_INPUT;
  }
  const load = commands[name];
  if (!load) {
    printError(output, { code: 'E_BAD_INPUT', message: `Unknown command: ${name}`, hint: 'Run "slipway --help".' });
    return EXIT_BAD_INPUT;
  }
  const { command } = await load();
  if (args.includes('--help') || args.includes('-h')) {
    output.out(command.usage);
    return 0;
  }
  const json = args.includes('--json');
  // A promise nobody handled is reported with its code and fails the command, never a bare stack trace
  // and an exit in the middle of a write (a build also records itself failed, see the build command).
  let faulted = false;
  const unguard = guardUnhandledRejections((error) => {
    faulted = true;
    if (json) output.out(JSON.stringify({ type: 'error', error: error.toInfo() }));
    printError(output, error.toInfo());
  });
  try {
    const code = await command.run(args, output);
    return faulted ? Math.max(code, EXIT_BUILD_FAILED) : code;
  } catch (error) {
    const info =
      error instanceof SlipwayError
        ? error.toInfo()
        : (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
          ? { code: 'E_BAD_INPUT' as const, message: (error as Error).message, hint: command.usage }
          : toErrorInfo(error);
    if (json) output.out(JSON.stringify({ type: 'error', error: info }));
    printError(output, info);
    return exitCodeFor(info.code);
  } finally {
    unguard();
  }
}
