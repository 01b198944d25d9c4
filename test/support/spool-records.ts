import { expect } from 'vitest';
import { runLines } from '../../src/core/logs/line-run';
import type { BuildRecord, LogLine } from '../../src/core/logs/log-line';
import type { SpoolOptions, SpoolWriter } from '../../src/core/logs/spool';

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

/**
 * A spool's options that collect the text of every line it says it stored, lines and runs alike, in
 * `told`, and check that each batch is told right after the one before it.
 */
export function tellInto(told: string[]): SpoolOptions {
  return {
    onStored: (fromLine, lines) => {
      expect(fromLine).toBe(told.length);
      told.push(...lines.map((line) => line.text));
    },
    onStoredRun: (fromLine, run) => {
      expect(fromLine).toBe(told.length);
      told.push(...runLines(run).map((line) => line.text));
    },
  };
}
