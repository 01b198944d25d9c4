import { limitProcessMemory } from '../core/process-memory';
import { SlipwayError, toErrorInfo } from '../shared/errors';
import { buildCommand, buildUsage } from './commands/build';
import { historyCommand, historyUsage } from './commands/history';
import { inspectCommand, inspectUsage } from './commands/inspect';
import { logsCommand, logsUsage } from './commands/logs';
import { probeCommand, probeUsage } from './commands/probe';
import { serveCommand, serveUsage } from './commands/serve';
import { EXIT_BAD_INPUT, exitCodeFor } from './exit-codes';
import { type Output, printError, processOutput } from './output';

const usage = `Slipway: build container images from a project folder, streaming contexts and logs.

Usage:
  ${buildUsage.split('\n')[0]}
  ${inspectUsage.split('\n')[0]}
  ${probeUsage.split('\n')[0]}
  ${serveUsage.split('\n')[0]}
  ${historyUsage.split('\n')[0]}
  ${logsUsage.split('\n')[0]}

Run "slipway <command> --help" for a command's options.`;

const commands: Record<string, { run: (args: string[], output: Output) => Promise<number>; usage: string }> = {
  build: { run: buildCommand, usage: buildUsage },
  inspect: { run: inspectCommand, usage: inspectUsage },
  probe: { run: probeCommand, usage: probeUsage },
  serve: { run: serveCommand, usage: serveUsage },
  history: { run: historyCommand, usage: historyUsage },
  logs: { run: logsCommand, usage: logsUsage },
};

/** Runs the CLI with its arguments; resolves with the exit code. */
export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  limitProcessMemory();
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    output.out(usage);
    return name ? 0 : EXIT_BAD_INPUT;
  }
  const command = commands[name];
  if (!command) {
    printError(output, { code: 'E_BAD_INPUT', message: `Unknown command: ${name}`, hint: 'Run "slipway --help".' });
    return EXIT_BAD_INPUT;
  }
  if (args.includes('--help') || args.includes('-h')) {
    output.out(command.usage);
    return 0;
  }
  const json = args.includes('--json');
  try {
    return await command.run(args, output);
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
  }
}
