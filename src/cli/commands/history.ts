import { parseArgs } from 'node:util';
import { listHistory, recoverInterrupted } from '../../core/builds/history';
import { SlipwayError } from '../../shared/errors';
import { formatDuration } from '../../shared/format';
import { EXIT_OK } from '../exit-codes';
import { dataDirOption } from '../options';
import type { Output } from '../output';

export const historyUsage = `slipway history [--json] [--data-dir DIR]

  Lists the builds kept on disk, newest first. A build whose process stopped while it ran shows
  as interrupted, its logs kept up to the last complete line.
  --json          print a JSON array of builds, newest first, each with its id
  --data-dir DIR  where logs and history live (default: $XDG_DATA_HOME/slipway)`;

/** `slipway history`: marks cut-off builds interrupted, then lists every build. */
export async function historyCommand(args: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    },
  });
  if (positionals.length > 0) {
    throw new SlipwayError('E_BAD_INPUT', `history takes no arguments, got ${positionals.join(' ')}`, {
      hint: historyUsage,
    });
  }
  const dataDir = dataDirOption(values);
  await recoverInterrupted(dataDir);
  const builds = await listHistory(dataDir);
  if (values.json) {
    output.out(JSON.stringify(builds));
    return EXIT_OK;
  }
  if (builds.length === 0) {
    output.err(`No builds in ${dataDir}`);
    return EXIT_OK;
  }
  for (const build of builds) {
    if (build.damage) {
      output.out(
        `${build.id}  ${build.status.padEnd(11)}  ${build.startedAt}  ${build.damage.code}: ${build.damage.message}`,
      );
      continue;
    }
    const duration = build.durationMs === null ? '-' : formatDuration(build.durationMs);
    const tasks = build.tasks.map((task) => `${task.id}:${task.phase}`).join(' ');
    output.out(
      `${build.id}  ${build.status.padEnd(11)}  ${build.startedAt}  ${duration.padStart(9)}  ${tasks}  ${build.projectPath}`,
    );
  }
  return EXIT_OK;
}

/** The command as the CLI's table loads it. */
export const command = { run: historyCommand, usage: historyUsage };
