import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerBuildParser } from '../../src/core/logs/docker-parser';
import type { BuildRecord } from '../../src/core/logs/log-line';
import { readLines } from '../../src/core/logs/reader';
import { indexPath, logPath, SpoolWriter } from '../../src/core/logs/spool';
import { readStepRecords } from '../../src/core/logs/steps-file';
import { tempDir } from '../support/fixtures';
import { spoolRecords, tellInto } from '../support/spool-records';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A response of plain lines with a step, an escaped line, a redraw and an error among them, in chunks. */
function response(tag = '', count = 3000): Buffer[] {
  const messages: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 500 === 0) messages.push(`{"stream":"Step ${i / 500 + 1}/${count / 500} : RUN part ${i}${tag}\\n"}`);
    else if (i % 7 === 0)
      messages.push(`{"stream":"\\u001b[32mline ${i}${tag}\\u001b[0m \\"quoted\\" \\u003cb\\u003e\\n"}`);
    else if (i % 301 === 0) messages.push(`{"stream":"progress 1%\\rprogress ${i}%${tag}\\n"}`);
    else messages.push(`{"stream":"line ${i} caf\u00e9 \u{1F680}${tag}\\n"}`);
  }
  messages.push(`{"errorDetail":{"message":"it broke${tag}"},"error":"it broke${tag}"}`);
  const bytes = Buffer.from(messages.map((message) => `${message}\r\n`).join(''));
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 4093) chunks.push(bytes.subarray(at, at + 4093));
  return chunks;
}

/** Spools the response as the build session does: runs with writeRun, other lines with write. */
async function spoolResponse(
  dir: string,
  lineRuns: boolean,
  told: string[],
  tag = '',
  count = 3000,
): Promise<SpoolWriter> {
  const parser = new DockerBuildParser(undefined, { lineRuns });
  const spool = await SpoolWriter.open(dir, 'web', tellInto(told));
  const consume = (records: BuildRecord[]) => spoolRecords(spool, records);
  for (const chunk of response(tag, count)) await consume(parser.push(chunk));
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

  it("share their buffers among spools written at once, none of them with another's bytes", async () => {
    // The spools' text and index buffers, and the runs' slabs, are pooled for every log of the process:
    // a buffer back in the pool too early would put one build's lines in another's log.
    // Three by runs, one line by line; each log takes several slabs.
    const LINES = 20_000;
    const tags = [' (a)', ' (b)', ' (c)', ' (d)'];
    const dirs = await Promise.all(tags.map(() => tempDir()));
    const alone = await tempDir();
    cleanups.push(...dirs.map((dir) => dir.cleanup), alone.cleanup);
    const told = tags.map(() => [] as string[]);
    const spools = await Promise.all(
      tags.map((tag, at) =>
        spoolResponse((dirs[at] as { path: string }).path, at !== 3, told[at] as string[], tag, LINES),
      ),
    );
    await Promise.all(spools.map((spool) => spool.close()));
    for (const [at, tag] of tags.entries()) {
      const dir = (dirs[at] as { path: string }).path;
      const window = await readLines(dir, 'web', 0, LINES * 2);
      expect(window.lines).toEqual(told[at]);
      expect(window.lines.length).toBeGreaterThan(LINES - 100);
      expect(window.lines.filter((line) => !line.includes(tag))).toEqual([]);
    }
    // And byte for byte what one spool writes on its own.
    await (await spoolResponse(alone.path, false, [], tags[1], LINES)).close();
    for (const path of [logPath, indexPath]) {
      expect(await readFile(path((dirs[1] as { path: string }).path, 'web'))).toEqual(
        await readFile(path(alone.path, 'web')),
      );
    }
  });
});
