import type { BuildRecord, LogLine } from '../../src/core/logs/log-line';
import type { SpoolWriter } from '../../src/core/logs/spool';

/**
 * Spools one parser's records as the build session does for a task's log: lines in one write per
 * batch, a run as it is (writeRun) after the lines before it, in order; other records are ignored.
 */
export async function spoolRecords(spool: SpoolWriter, records: BuildRecord[]): Promise<void> {
  let lines: LogLine[] = [];
  for (const record of records) {
    if (record.kind === 'line') lines.push(record.line);
    else if (record.kind === 'run') {
      await spool.write(lines);
      lines = [];
      await spool.writeRun(record.run);
    }
  }
  await spool.write(lines);
}
