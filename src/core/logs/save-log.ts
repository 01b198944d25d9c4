import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../../shared/errors';
import { logPath } from './spool';

/** Copies a task's whole log to a file, streaming: the log may be larger than memory. */
export async function copyLog(buildDir: string, taskId: string, destination: string): Promise<void> {
  const source = logPath(buildDir, taskId);
  try {
    await pipeline(createReadStream(source), createWriteStream(destination));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SlipwayError('E_SPOOL_WRITE', `Cannot save ${source} to ${destination}: ${code ?? String(error)}`, {
      cause: error,
    });
  }
}

/** The name a saved log gets: <build>-<task>.log. */
export function savedLogName(buildId: string, taskId: string): string {
  return `slipway-${buildId}-${taskId}.log`;
}
