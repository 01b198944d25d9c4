import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerBuildParser } from '../../src/core/logs/docker-parser';
import { runLines } from '../../src/core/logs/line-run';
import type { BuildRecord } from '../../src/core/logs/log-line';
import { readLines } from '../../src/core/logs/reader';
import { indexPath, logPath, SpoolWriter } from '../../src/core/logs/spool';
import { readStepRecords } from '../../src/core/logs/steps-file';
import { tempDir } from '../support/fixtures';
import { spoolRecords } from '../support/spool-records';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A response of plain lines with a step, an escaped line, a redraw and an error among them, in chunks. */
function response(): Buffer[] {
  const messages: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 500 === 0) messages.push(`{"stream":"Step ${i / 500 + 1}/6 : RUN part ${i}\\n"}`);
    else if (i % 7 === 0) messages.push(`{"stream":"\\u001b[32mline ${i}\\u001b[0m \\"quoted\\" \\u003cb\\u003e\\n"}`);
    else if (i % 301 === 0) messages.push(`{"stream":"progress 1%\\rprogress ${i}%\\n"}`);
    else messages.push(`{"stream":"line ${i} caf\u00e9 \u{1F680}\\n"}`);
  }
  messages.push('{"errorDetail":{"message":"it broke"},"error":"it broke"}');
  const bytes = Buffer.from(messages.map((message) => `${message}\r\n`).join(''));
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 4093) chunks.push(bytes.subarray(at, at + 4093));
  return chunks;
}

/** Spools the response as the build session does: runs with writeRun, other lines with write. */
async function spoolResponse(dir: string, lineRuns: boolean, told: string[]): Promise<SpoolWriter> {
  const parser = new DockerBuildParser(undefined, { lineRuns });
  const spool = await SpoolWriter.open(dir, 'web', {
    onStored: (fromLine, lines) => {
      expect(fromLine).toBe(told.length);
      told.push(...lines.map((line) => line.text));
    },
    onStoredRun: (fromLine, run) => {
      expect(fromLine).toBe(told.length);
      told.push(...runLines(run).map((line) => line.text));
    },
  });
  const consume = (records: BuildRecord[]) => spoolRecords(spool, records);
  for (const chunk of response()) await consume(parser.push(chunk));
  await consume(parser.end());
  return spool;
}

describe('runs in the spool', () => {
  it('store the same log, index and steps as the same lines written one by one, and are told in order', async () => {
    const [one, other] = [await tempDir(), await tempDir()];
    cleanups.push(one.cleanup, other.cleanup);
    const byLine: string[] = [];
    const byRun: string[] = [];
    await (await spoolResponse(one.path, false, byLine)).close();
    await (await spoolResponse(other.path, true, byRun)).close();
    for (const path of [logPath, indexPath]) {
      expect(await readFile(path(other.path, 'web'))).toEqual(await readFile(path(one.path, 'web')));
    }
    const steps = async (dir: string) =>
      (await readStepRecords(dir, 'web')).map((record) => ('step' in record ? [record.step, record.line] : null));
    expect(await steps(other.path)).toEqual(await steps(one.path));
    expect((await steps(one.path)).filter(Boolean)).toHaveLength(6);
    expect(byRun).toEqual(byLine);
    const window = await readLines(other.path, 'web', 0, 10_000);
    expect(window.lines).toEqual(byLine);
    expect(window.flags.filter((flags) => flags !== 0)).toHaveLength(1);
  });
});
