import { describe, expect, it } from 'vitest';
import { DockerBuildParser } from '../../src/core/logs/docker-parser';
import { type BuildRecord, LineFlag, type LogLine } from '../../src/core/logs/log-line';

const jsonLines = (messages: unknown[], newline = '\n') =>
  Buffer.from(messages.map((message) => `${JSON.stringify(message)}${newline}`).join(''));

function parse(chunks: Buffer[], maxLineBytes?: number): BuildRecord[] {
  const parser = new DockerBuildParser(maxLineBytes);
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()];
}

const lines = (records: BuildRecord[]): LogLine[] =>
  records.flatMap((record) => (record.kind === 'line' ? [record.line] : []));

describe('the Docker build protocol (JSON lines)', () => {
  const response = jsonLines([
    { stream: 'STEP 1/2: FROM scratch\n' },
    { stream: 'STEP 2/2: RUN echo\n' },
    { stream: 'caf\u00e9 \u2713 \u{1F680} \u4e2d\u6587\n' },
    { status: 'Pulling fs layer', id: 'a1b2', progress: '[==>   ] 1MB/5MB' },
    { aux: { ID: 'sha256:feed' } },
  ]);

  it('reads the engine’s "\\r\\n"-ended messages as "\\n"-ended ones, escapes, quotes and half lines included', () => {
    const messages = [
      { stream: 'plain line\n' },
      { stream: 'a "quoted" C:\\path\\n and a\ttab\n' },
      { stream: '\u001b[32mgreen\u001b[0m \u{1F680}\n' },
      { stream: 'half ' },
      { stream: 'a line\n' },
      { stream: 'ends in a backslash-n: \\n' },
      { stream: 'Step 1/2 : FROM scratch\n' },
      { stream: 'x', other: 'key' },
      { stream: '\n' },
    ];
    const crlf = parse([jsonLines(messages, '\r\n')]);
    expect(crlf).toEqual(parse([jsonLines(messages)]));
    expect(lines(crlf).map((line) => line.text)).toEqual([
      'plain line',
      'a "quoted" C:\\path\\n and a\ttab',
      '\u001b[32mgreen\u001b[0m \u{1F680}',
      'half a line',
      'ends in a backslash-n: \\nStep 1/2 : FROM scratch',
      'x',
    ]);
    expect(lines(crlf).every((line) => line.flags === 0)).toBe(true);
  });

  it('gives the same records whatever byte the socket splits the response at, multi-byte text included', () => {
    const whole = parse([response]);
    expect(lines(whole).map((line) => line.text)).toEqual([
      'STEP 1/2: FROM scratch',
      'STEP 2/2: RUN echo',
      'caf\u00e9 \u2713 \u{1F680} \u4e2d\u6587',
      'a1b2: Pulling fs layer [==>   ] 1MB/5MB',
    ]);
    expect(whole).toContainEqual({ kind: 'image', imageId: 'sha256:feed' });
    for (let cut = 1; cut < response.length; cut++) {
      expect(parse([response.subarray(0, cut), response.subarray(cut)])).toEqual(whole);
    }
    // And byte by byte.
    expect(parse([...response].map((byte) => Buffer.from([byte])))).toEqual(whole);
  });

  it('reads messages ended by CRLF as well as LF', () => {
    expect(lines(parse([jsonLines([{ stream: 'a\n' }, { stream: 'b\n' }], '\r\n')])).map((line) => line.text)).toEqual([
      'a',
      'b',
    ]);
  });

  it('collapses carriage-return progress redraws, even across messages, into the last state', () => {
    const records = parse([
      jsonLines([
        { stream: 'Downloading  10%\r' },
        { stream: 'Downloading  60%\rDownloading' },
        { stream: ' 100%\n' },
        { stream: 'done\r\n' },
      ]),
    ]);
    expect(lines(records)).toEqual([
      { text: 'Downloading 100%', flags: 0 },
      { text: 'done', flags: 0 },
    ]);
  });

  it('keeps text that is not JSON (or not an object) as lines flagged invalid, and goes on parsing', () => {
    const records = parse([
      Buffer.from(
        '{"stream":"before\\n"}\n<html>502 Bad Gateway</html>\n42\n{"stream": broken\n\n{"stream":"after\\n"}\n',
      ),
    ]);
    expect(lines(records)).toEqual([
      { text: 'before', flags: 0 },
      { text: '<html>502 Bad Gateway</html>', flags: LineFlag.invalid },
      { text: '42', flags: LineFlag.invalid },
      { text: '{"stream": broken', flags: LineFlag.invalid },
      { text: 'after', flags: 0 },
    ]);
  });

  it('cuts a line longer than the cap into marked pieces, without splitting a character', () => {
    const long = `ab${'\u00e9\u{1F680}x'.repeat(3000)}`; // 'ab' puts the cap inside a surrogate pair
    // The builder sends it in several messages (each shorter than the cap), as a RUN step printing
    // without newlines would.
    const messages = [];
    for (let at = 0; at < long.length; ) {
      let end = Math.min(long.length, at + 300);
      if (/[\ud800-\udbff]/.test(long[end - 1] ?? '')) end += 1;
      messages.push({ stream: long.slice(at, end) });
      at = end;
    }
    messages.push({ stream: '\nnext\n' });
    const records = lines(parse([jsonLines(messages)], 1024));
    const pieces = records.slice(0, -1);
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.every((piece) => piece.text.length <= 1024)).toBe(true);
    expect(pieces.slice(0, -1).every((piece) => piece.flags & LineFlag.continued)).toBe(true);
    expect(pieces.at(-1)?.flags).toBe(0);
    expect(pieces.map((piece) => piece.text).join('')).toBe(long);
    expect(pieces.some((piece) => /^[\udc00-\udfff]|[\ud800-\udbff]$/.test(piece.text))).toBe(false);
    expect(records.at(-1)).toEqual({ text: 'next', flags: 0 });
  });

  it('holds a message longer than the cap in pieces, flagged invalid because it cannot be parsed', () => {
    const records = lines(parse([Buffer.from(`{"stream":"${'y'.repeat(10_000)}\\n"}\n{"stream":"ok\\n"}\n`)], 4096));
    expect(records.slice(0, 3).every((line) => line.flags & LineFlag.invalid)).toBe(true);
    expect(records.slice(0, 2).every((line) => line.flags & LineFlag.continued)).toBe(true);
    expect(records.at(-1)).toEqual({ text: 'ok', flags: 0 });
  });

  it('ends a half-printed line before the error the builder reports, and flags the error line', () => {
    const records = parse([
      jsonLines([
        { stream: 'compiling...' },
        { errorDetail: { code: 1, message: 'The command returned a non-zero code: 2' }, error: 'x' },
      ]),
    ]);
    expect(lines(records)).toEqual([
      { text: 'compiling...', flags: 0 },
      { text: 'The command returned a non-zero code: 2', flags: LineFlag.error },
    ]);
    expect(records).toContainEqual({ kind: 'error', message: 'The command returned a non-zero code: 2' });
  });

  it('keeps the last line of a response that ends without a newline', () => {
    expect(lines(parse([Buffer.from('{"stream":"no newline at the end"}')]))).toEqual([
      { text: 'no newline at the end', flags: 0 },
    ]);
  });

  it('reads steps as Docker ("Step n/m :") and Podman ("STEP n/m:") print them', () => {
    const records = parse([jsonLines([{ stream: 'Step 3/7 : RUN make\n' }, { stream: 'STEP 4/7: COPY . .\n' }])]);
    expect(records.filter((record) => record.kind === 'step')).toEqual([
      { kind: 'step', step: 3, steps: 7 },
      { kind: 'step', step: 4, steps: 7 },
    ]);
  });
});
