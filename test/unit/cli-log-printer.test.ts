import { describe, expect, it } from 'vitest';
import { LogPrinter } from '../../src/cli/log-printer';
import { LineBatch } from '../../src/cli/output';
import type { StoredLines } from '../../src/core/builds/session';
import { DockerBuildParser } from '../../src/core/logs/docker-parser';
import { type LineRun, runLines } from '../../src/core/logs/line-run';
import type { LogLineEvent } from '../../src/shared/contract';

const BUILD_ID = '20261202-000000-abcdef';

/** The run a builder's raw messages make (Go's encoder escapes <, > and &; control characters as \u00XX). */
function runOf(messages: string[]): LineRun {
  const [record, more] = new DockerBuildParser(undefined, { lineRuns: true }).push(
    Buffer.from(messages.map((message) => `${message}\r\n`).join('')),
  );
  if (record?.kind !== 'run' || more) throw new Error('expected one run');
  return record.run;
}

const RUN = runOf([
  '{"stream":"plain\\n"}',
  '{"stream":"a \\"quoted\\" \\\\ path\\n"}',
  '{"stream":"tab\\tand \\u001b[32mcolour\\u001b[0m\\n"}',
  '{"stream":"\\u0000 \\u0001 \\u001f \\b \\f \\u007f del\\n"}',
  '{"stream":"\\u003chtml\\u003e \\u0026 \\u2028 \\/ \u00e9t\u00e9 \\ud83d\\ude80\\n"}',
  '{"stream":"\\n"}',
  '{"stream":"raw caf\u00e9 \u{1F680}\\n"}',
]);

describe('printing stored lines', () => {
  it('prints a run of plain lines as the spool holds it', () => {
    const printer = new LogPrinter(BUILD_ID, 'plain');
    const printed = printer.render({ taskId: 'api', fromLine: 0, run: RUN }).bytes;
    expect(printed).toBe(RUN.bytes);
    expect(printed.toString()).toBe(
      `${runLines(RUN)
        .map((line) => line.text)
        .join('\n')}\n`,
    );
  });

  it('prints each line of a run as a task.line event, byte for byte what JSON.stringify gives', () => {
    for (const taskId of ['api', 'w"eb']) {
      for (const fromLine of [0, 9, 99_999, 2 ** 40]) {
        const printed = new LogPrinter(BUILD_ID, 'json').render({ taskId, fromLine, run: RUN }).bytes;
        const expected = runLines(RUN).map((line, i) => {
          const event: LogLineEvent = {
            type: 'task.line',
            buildId: BUILD_ID,
            taskId,
            line: fromLine + i,
            text: line.text,
          };
          return `${JSON.stringify(event)}\n`;
        });
        expect(printed.toString()).toBe(expected.join(''));
      }
    }
  });

  it('prefixes each line with its task when a build has several, for runs and single lines alike', () => {
    const printer = new LogPrinter(BUILD_ID, 'prefixed');
    const lines: StoredLines = { taskId: 'web', fromLine: 3, lines: [{ text: 'Step 1/2 : FROM scratch', flags: 0 }] };
    expect(printer.render(lines).bytes.toString()).toBe('[web] Step 1/2 : FROM scratch\n');
    const texts = runLines(RUN).map((line) => `[api] ${line.text}\n`);
    expect(printer.render({ taskId: 'api', fromLine: 4, run: RUN }).bytes.toString()).toBe(texts.join(''));
  });

  it('prints single lines as JSON events as it prints runs, a lone surrogate included', () => {
    const printer = new LogPrinter(BUILD_ID, 'json');
    const texts = ['Step 1/2 : FROM scratch', '\ud800 lone', 'a "quoted" \\'];
    const printed = printer.render({
      taskId: 'api',
      fromLine: 7,
      lines: texts.map((text) => ({ text, flags: 0 })),
    }).bytes;
    const expected = texts.map(
      (text, i) => `${JSON.stringify({ type: 'task.line', buildId: BUILD_ID, taskId: 'api', line: 7 + i, text })}\n`,
    );
    expect(printed.toString()).toBe(expected.join(''));
  });

  it('reuses a print buffer only once its write completed', () => {
    const printer = new LogPrinter(BUILD_ID, 'json');
    const first = printer.render({ taskId: 'api', fromLine: 0, run: RUN });
    const text = first.bytes.toString();
    const second = printer.render({ taskId: 'api', fromLine: 0, run: RUN });
    expect(second.bytes.buffer).not.toBe(first.bytes.buffer);
    expect(first.bytes.toString()).toBe(text);
    first.release();
    first.release();
    const third = printer.render({ taskId: 'api', fromLine: 0, run: RUN });
    expect(third.bytes.buffer).toBe(first.bytes.buffer);
    expect(printer.render({ taskId: 'api', fromLine: 0, run: RUN }).bytes.buffer).not.toBe(first.bytes.buffer);
  });

  it('writes bytes after the lines held before them, and decodes them for a writer of text only', async () => {
    const writes: (string | Buffer)[] = [];
    const batch = new LineBatch(
      (text) => writes.push(text),
      (bytes) => writes.push(bytes),
    );
    batch.add('before');
    batch.addBytes(Buffer.from('run 1\nrun 2\n'));
    batch.add('after');
    batch.flush();
    expect(writes.map(String)).toEqual(['before\n', 'run 1\nrun 2\n', 'after\n']);

    const texts: string[] = [];
    const textOnly = new LineBatch((text) => texts.push(text));
    textOnly.add('before');
    textOnly.addBytes(Buffer.from('run 1\n'));
    textOnly.add('after');
    await new Promise((resolve) => setImmediate(resolve));
    expect(texts).toEqual(['before\nrun 1\nafter\n']);
  });
});
