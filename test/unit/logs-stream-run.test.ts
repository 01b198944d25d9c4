import { describe, expect, it } from 'vitest';
import { DockerBuildParser } from '../../src/core/logs/docker-parser';
import { type LineRun, runLines } from '../../src/core/logs/line-run';
import type { BuildRecord } from '../../src/core/logs/log-line';

/** The records of a response fed in `chunks`, by the parser with runs (expanded to lines) or without. */
function parse(chunks: Buffer[], lineRuns: boolean, maxLineBytes?: number): BuildRecord[] {
  const parser = new DockerBuildParser(maxLineBytes, { lineRuns });
  const records = [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()];
  return records.flatMap((record): BuildRecord[] =>
    record.kind === 'run' ? runLines(record.run).map((line) => ({ kind: 'line', line })) : [record],
  );
}

function runsOf(chunks: Buffer[], maxLineBytes?: number): LineRun[] {
  const parser = new DockerBuildParser(maxLineBytes, { lineRuns: true });
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()].flatMap((record) =>
    record.kind === 'run' ? [record.run] : [],
  );
}

/** Messages as an engine writes them, raw (Go's encoder escapes <, > and & as \u003c, \u003e, \u0026). */
const RAW_MESSAGES = [
  '{"stream":"plain line\\n"}',
  '{"stream":"a \\"quoted\\" C:\\\\path\\\\n and a\\ttab\\n"}',
  '{"stream":"\\u001b[32mgreen\\u001b[0m \\ud83d\\ude80 caf\u00e9\\n"}',
  '{"stream":"\\u003chtml\\u003e \\u0026 \\u2028 \\/ \\u001B \\b\\f\\n"}',
  '{"stream":"two\\nlines in one message\\n"}',
  '{"stream":"a newline as \\u000a too\\n"}',
  '{"stream":"half "}',
  '{"stream":"a line\\n"}',
  '{"stream":"Step 1/2 : FROM scratch\\n"}',
  '{"stream":"[1/2] STEP 1/2: FROM scratch AS base\\n"}',
  '{"stream":"\\u0053tep 2/2 : RUN make (an escaped S)\\n"}',
  '{"stream":"not a step\\nStep 2/3 : after a line\\n"}',
  '{"stream":"Successfully built, an S line that is no step\\n"}',
  '{"stream":"x\\n","other":"key"}',
  '{"other":"key","stream":"y\\n"}',
  '{"stream":"progress 10%\\rprogress 100%\\n"}',
  '{"stream":"a carriage return as \\u000d\\n"}',
  '{"stream":"a lone surrogate \\ud800 here\\n"}',
  '{"stream":"a lone low one \\udc00\\n"}',
  '{"stream":"a bad escape \\x41\\n"}',
  '{"stream":"a short one \\u12\\n"}',
  '{"stream":"raw\tcontrol\\n"}',
  '{"stream":"ends in a backslash-n: \\\\n"}',
  '{"stream":"\\n"}',
  '{"stream":"\\n\\n"}',
  '{"stream":""}',
  '{"stream":"\\n"',
  'not json at all',
  '   ',
  '{"status":"Pulling fs layer","id":"a1b2","progress":"[==\\u003e   ] 1MB/5MB"}',
  '{"aux":{"ID":"sha256:feed"}}',
  '{"stream":"after the aux\\n"}',
  '{"errorDetail":{"message":"it broke"},"error":"it broke"}',
  '{"stream":"\u4e2d\u6587 \u{1F680} multi-byte, raw\\n"}',
];

const response = (messages: (string | Buffer)[], newline = '\r\n') =>
  Buffer.concat(messages.map((message) => Buffer.concat([Buffer.from(message), Buffer.from(newline)])));

describe('runs of plain stream messages', () => {
  it('give the same lines, steps, errors and image as the line-by-line parser, every escape and fallback included', () => {
    for (const newline of ['\r\n', '\n']) {
      const whole = response(RAW_MESSAGES, newline);
      const expected = parse([whole], false);
      expect(parse([whole], true)).toEqual(expected);
      expect(expected.filter((record) => record.kind === 'step')).toHaveLength(4);
      expect(runsOf([whole]).length).toBeGreaterThan(0);
    }
  });

  it('give the same records wherever the socket splits the response, byte by byte included', () => {
    const whole = response(RAW_MESSAGES);
    const expected = parse([whole], false);
    for (let cut = 1; cut < whole.length; cut++) {
      expect(parse([whole.subarray(0, cut), whole.subarray(cut)], true)).toEqual(expected);
    }
    for (let cut = 1; cut < whole.length - 40; cut += 7) {
      const parts = [whole.subarray(0, cut), whole.subarray(cut, cut + 40), whole.subarray(cut + 40)];
      expect(parse(parts, true)).toEqual(expected);
    }
    expect(
      parse(
        [...whole].map((byte) => Buffer.from([byte])),
        true,
      ),
    ).toEqual(expected);
  });

  it('join a character split across chunks before it is stored', () => {
    const whole = response(['{"stream":"caf\u00e9 \u2713 \u{1F680}\\n"}', '{"stream":"next\\n"}']);
    const at = whole.indexOf(0xe2);
    const parts = [whole.subarray(0, at + 1), whole.subarray(at + 1)];
    expect(parse(parts, true).map((record) => record.kind === 'line' && record.line.text)).toEqual([
      'caf\u00e9 \u2713 \u{1F680}',
      'next',
    ]);
  });

  it('store bytes that are not UTF-8 as the decoding parser does, as U+FFFD', () => {
    const whole = response([
      Buffer.concat([Buffer.from('{"stream":"bad '), Buffer.from([0xff, 0xc3]), Buffer.from(' bytes\\n"}')]),
      '{"stream":"good\\n"}',
    ]);
    expect(parse([whole], true)).toEqual(parse([whole], false));
    const [run] = runsOf([whole]);
    expect(run?.bytes.toString('utf8')).toBe('bad \ufffd\ufffd bytes\ngood\n');
  });

  it('keep a line of exactly the cap whole and leave a longer one to be cut as the line-by-line parser cuts it', () => {
    const cap = 64;
    for (const textBytes of [cap - 1, cap, cap + 1, 2 * cap + 5]) {
      for (const text of ['x'.repeat(textBytes), '\u00e9'.repeat(Math.ceil(textBytes / 2))]) {
        const whole = response([`{"stream":"${text}\\n"}`, '{"stream":"short\\n"}', `{"stream":"${text}\\nand\\n"}`]);
        const expected = parse([whole], false, 256);
        expect(parse([whole], true, 256)).toEqual(expected);
        for (let cut = 1; cut < whole.length; cut += 13) {
          expect(parse([whole.subarray(0, cut), whole.subarray(cut)], true, 256)).toEqual(expected);
        }
        // A message past the splitter's cap is pieces, flagged; the run never takes them.
        const capped = parse([whole], true, cap);
        expect(capped).toEqual(parse([whole], false, cap));
      }
    }
  });

  it('are the spool’s bytes: each line ended by a newline, with its end and whether JSON escapes it', () => {
    const whole = response([
      '{"stream":"one\\n"}',
      '{"stream":"two \\"quoted\\"\\n"}',
      '{"stream":"\\u001b[1mbold\\u001b[0m\\n"}',
      '{"stream":"\\u003cangle\\u003e\\n"}',
    ]);
    const [run, more] = runsOf([whole]);
    expect(more).toBeUndefined();
    expect(run?.bytes.toString()).toBe('one\ntwo "quoted"\n\u001b[1mbold\u001b[0m\n<angle>\n');
    expect([...(run?.ends ?? [])]).toEqual([4, 17, 30, 38]);
    expect([...(run?.escapes ?? [])]).toEqual([0, 1, 1, 0]);
    expect(run?.count).toBe(4);
  });

  it('hold no more than the chunk they were read from, however long the log', () => {
    const chunk = response(Array.from({ length: 1000 }, (_, i) => `{"stream":"line ${i} of a long log\\n"}`));
    const parser = new DockerBuildParser(undefined, { lineRuns: true });
    for (let round = 0; round < 50; round++) {
      const records = parser.push(chunk);
      expect(records).toHaveLength(1);
      const [record] = records;
      if (record?.kind !== 'run') throw new Error('expected a run');
      expect(record.run.count).toBe(1000);
      expect(record.run.bytes.length).toBeLessThan(chunk.length);
      expect(record.run.ends.length).toBe(1000);
    }
  });

  it('reuse a run’s bytes for later runs only once it is released', () => {
    const parser = new DockerBuildParser(undefined, { lineRuns: true });
    const chunk = (tag: string) => response(Array.from({ length: 100 }, (_, i) => `{"stream":"${tag} line ${i}\\n"}`));
    const runOf = (tag: string) => {
      const [record] = parser.push(chunk(tag));
      if (record?.kind !== 'run') throw new Error('expected a run');
      return record.run;
    };
    const first = runOf('first');
    const text = first.bytes.toString();
    // However many runs follow, none is written over an unreleased one.
    const later = Array.from({ length: 200 }, (_, i) => runOf(`later ${i}`));
    expect(first.bytes.toString()).toBe(text);
    for (const run of later) run.release?.();
    first.release?.();
    first.release?.();
    const again = runOf('again');
    expect(again.bytes.buffer).toBe(later.at(-1)?.bytes.buffer);
    expect(again.bytes.toString()).toContain('again line 99\n');
  });
});
