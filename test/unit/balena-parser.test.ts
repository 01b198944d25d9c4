import { describe, expect, it } from 'vitest';
import { BalenaBuildParser, type BalenaRecord } from '../../src/core/logs/balena-parser';
import { LineFlag } from '../../src/core/logs/log-line';

const services = new Set(['main', 'web']);

function parseAll(response: string | Buffer, chunkBytes?: number, maxMessageBytes?: number): BalenaRecord[] {
  const parser = new BalenaBuildParser(services, maxMessageBytes);
  const bytes = typeof response === 'string' ? Buffer.from(response) : response;
  const records: BalenaRecord[] = [];
  const step = chunkBytes ?? bytes.length;
  for (let at = 0; at < bytes.length; at += step) records.push(...parser.push(bytes.subarray(at, at + step)));
  records.push(...parser.end());
  return records;
}

/** The response as the builder streams it: a JSON array, one message per line. */
function builderResponse(messages: object[]): string {
  return `[${messages.map((message) => JSON.stringify(message)).join(',\n')}]\n`;
}

function linesOf(records: BalenaRecord[], service: string | null): string[] {
  return records.flatMap((record) => (record.kind === 'line' && record.service === service ? [record.line.text] : []));
}

const interleaved = [
  { message: '[Info]     Starting build for myorg/myfleet, user me' },
  { type: 'metadata', resource: 'buildLogId', value: '2468013' },
  { message: '[main]     Step 1/3 : FROM scratch' },
  { message: '[web]      Step 1/2 : FROM scratch' },
  { message: '[main]      ---> Running in 1a2b3c' },
  { message: '[web]      Pulling 10%', replace: true },
  { message: '[web]      Pulling 60%', replace: true },
  { message: '[web]      Pulling 100%', replace: true },
  { message: '[web]      Step 2/2 : COPY caf\u00e9 \u2713 /' },
  { message: '[main]     Step 2/3 : RUN ["/bin/busybox","sh","-c","echo hi"]' },
  { message: '[main]     hi\n' },
  { message: '[Success]  Successfully built images' },
  { message: '[Warn]     Something to note' },
  { message: '[Info]     Release: abc123 (id: 2468013)' },
];

describe('the balena builder response', () => {
  it('demultiplexes [service] lines to their task, without the label, and general lines to the build log', () => {
    const records = parseAll(builderResponse(interleaved));
    expect(linesOf(records, 'main')).toEqual([
      'Step 1/3 : FROM scratch',
      '---> Running in 1a2b3c',
      'Step 2/3 : RUN ["/bin/busybox","sh","-c","echo hi"]',
      'hi',
    ]);
    expect(linesOf(records, 'web')).toEqual([
      'Step 1/2 : FROM scratch',
      'Pulling 100%',
      'Step 2/2 : COPY caf\u00e9 \u2713 /',
    ]);
    expect(linesOf(records, null)).toEqual([
      '[Info]     Starting build for myorg/myfleet, user me',
      '[Success]  Successfully built images',
      '[Warn]     Something to note',
      '[Info]     Release: abc123 (id: 2468013)',
    ]);
  });

  it('keeps the buildLogId metadata as the release id', () => {
    const records = parseAll(builderResponse(interleaved));
    expect(records).toContainEqual({ kind: 'release', releaseId: '2468013' });
    // A numeric value is kept too.
    expect(parseAll(builderResponse([{ type: 'metadata', resource: 'buildLogId', value: 42 }]))).toEqual([
      { kind: 'release', releaseId: '42' },
    ]);
  });

  it('reads Step n/m off a service line as that task’s progress', () => {
    const records = parseAll(builderResponse(interleaved));
    const steps = records.filter((record) => record.kind === 'step');
    expect(steps).toEqual([
      { kind: 'step', service: 'main', step: 1, steps: 3 },
      { kind: 'step', service: 'web', step: 1, steps: 2 },
      { kind: 'step', service: 'web', step: 2, steps: 2 },
      { kind: 'step', service: 'main', step: 2, steps: 3 },
    ]);
  });

  it('collapses replace lines into their last state, kept when the next line comes or the stream ends', () => {
    const records = parseAll(
      builderResponse([
        { message: '[Info]     Uploading 1/3', replace: true },
        { message: '[Info]     Uploading 2/3', replace: true },
        { message: '[Info]     Uploading 3/3', replace: true },
        { message: '[Success]  Uploaded' },
        { message: '[main]     layer 50%\rlayer 90%', replace: true },
      ]),
    );
    expect(linesOf(records, null)).toEqual(['[Info]     Uploading 3/3', '[Success]  Uploaded']);
    expect(linesOf(records, 'main')).toEqual(['layer 90%']);
  });

  it('drops a replace line the builder erases with cursor metadata', () => {
    const records = parseAll(
      builderResponse([
        { message: '[web]      Pulling 40%', replace: true },
        { type: 'metadata', resource: 'cursor', value: 'erase' },
        { type: 'metadata', resource: 'cursor', value: 'up2' },
        { message: '[web]      Pulled' },
        { message: '[Info]     Uploading 70%', replace: true },
        { type: 'metadata', resource: 'cursor', value: 'erase1' },
      ]),
    );
    expect(linesOf(records, 'web')).toEqual(['Pulled']);
    expect(linesOf(records, null)).toEqual([]);
  });

  it('reports isError lines as errors of their task or of the build, flagged in the log', () => {
    const records = parseAll(
      builderResponse([
        { message: '[main]     exit status 3', isError: true },
        { message: '[Error]    Some services failed to build:', isError: true },
        { message: '[Error]      Service: main' },
        { isError: true },
      ]),
    );
    expect(records.filter((record) => record.kind === 'error')).toEqual([
      { kind: 'error', service: 'main', message: 'exit status 3' },
      { kind: 'error', service: null, message: '[Error]    Some services failed to build:' },
      { kind: 'error', service: null, message: 'The builder reported an error.' },
    ]);
    expect(records).toContainEqual({
      kind: 'line',
      service: 'main',
      line: { text: 'exit status 3', flags: LineFlag.error },
    });
    expect(records).toContainEqual({
      kind: 'line',
      service: null,
      line: { text: '[Error]      Service: main', flags: 0 },
    });
  });

  it('routes labels wrapped in colour codes, and keeps unknown labels in the build log with their label', () => {
    const records = parseAll(
      builderResponse([
        { message: '\u001b[36m[main]\u001b[39m     \u001b[1mbold\u001b[0m' },
        { message: '[other]    not a service of this project' },
        { message: 'no label at all' },
      ]),
    );
    expect(linesOf(records, 'main')).toEqual(['\u001b[1mbold\u001b[0m']);
    expect(linesOf(records, null)).toEqual(['[other]    not a service of this project', 'no label at all']);
  });

  it('gives general labels precedence over a service of the same name', () => {
    const parser = new BalenaBuildParser(new Set(['Info']));
    const records = [...parser.push(Buffer.from(builderResponse([{ message: '[Info] general' }]))), ...parser.end()];
    expect(linesOf(records, null)).toEqual(['[Info] general']);
  });

  it('reads the headless answer: started with a release id, or refused with an error', () => {
    expect(parseAll('{"started":true,"releaseId":"1357","message":"Build has been started"}')).toEqual([
      { kind: 'headless', started: true, releaseId: '1357', error: null, message: 'Build has been started' },
      { kind: 'line', service: null, line: { text: 'Build has been started', flags: 0 } },
    ]);
    const refused = parseAll('{"started":false,"error":"Unauthorized","message":"Fleet not found"}\n');
    expect(refused[0]).toEqual({
      kind: 'headless',
      started: false,
      releaseId: null,
      error: 'Unauthorized',
      message: 'Fleet not found',
    });
  });

  it('knows whether the array was closed, so a cut-off response is not taken for a finished build', () => {
    const whole = new BalenaBuildParser(services);
    whole.push(Buffer.from(builderResponse(interleaved)));
    expect(whole.complete).toBe(true);
    const cut = new BalenaBuildParser(services);
    const text = builderResponse(interleaved);
    cut.push(Buffer.from(text.slice(0, text.length / 2)));
    const rest = cut.end();
    expect(cut.complete).toBe(false);
    expect(rest).toContainEqual(
      expect.objectContaining({
        kind: 'line',
        service: null,
        line: expect.objectContaining({ flags: LineFlag.invalid }),
      }),
    );
  });

  it('keeps a response that is not JSON as text lines flagged invalid', () => {
    const records = parseAll('<html>\r\n<body>Bad gateway</body>\n</html>');
    expect(records).toEqual([
      { kind: 'line', service: null, line: { text: '<html>', flags: LineFlag.invalid } },
      { kind: 'line', service: null, line: { text: '<body>Bad gateway</body>', flags: LineFlag.invalid } },
      { kind: 'line', service: null, line: { text: '</html>', flags: LineFlag.invalid } },
    ]);
  });

  it('keeps values that are not message objects as invalid lines and goes on', () => {
    const records = parseAll('[42, "text", {"message":"[main] after"}, [1], null, }, {"message":"[main] last"}]');
    expect(linesOf(records, null)).toEqual(['42', '"text"', '[1]', 'null', '}']);
    expect(linesOf(records, 'main')).toEqual(['after', 'last']);
  });

  it('always ends, holding no more than the cap, whatever bytes the builder sends', () => {
    const alphabet = Buffer.from('[]{}",:\\ \n\rax\u00e9');
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let run = 0; run < 300; run++) {
      const bytes = Buffer.alloc(2000, 0);
      for (let i = 0; i < bytes.length; i++) bytes[i] = alphabet[Math.floor(random() * alphabet.length)] as number;
      const records = parseAll(bytes, 1 + Math.floor(random() * 50), 256);
      for (const record of records) {
        // The cap counts bytes held, or characters of a text line: at most 3 bytes each (U+FFFD).
        if (record.kind === 'line') expect(Buffer.byteLength(record.line.text)).toBeLessThanOrEqual(3 * 256);
      }
    }
  });

  it('parses the same records whatever byte the chunks split at, multi-byte characters included', () => {
    const response = Buffer.from(
      builderResponse([
        ...interleaved,
        { message: '[main]     \u00e9\u00e8 \u{1f680} \u4e2d\u6587 {"nested": "[brackets] and \\"quotes\\""}' },
        { message: '[main]     bad', isError: true },
      ]),
    );
    const whole = parseAll(response);
    for (let at = 1; at < response.length; at++) {
      const parser = new BalenaBuildParser(services);
      const split = [...parser.push(response.subarray(0, at)), ...parser.push(response.subarray(at)), ...parser.end()];
      expect(split, `split at byte ${at}`).toEqual(whole);
    }
    expect(parseAll(response, 1)).toEqual(whole);
    expect(linesOf(whole, 'main')).toContain(
      '\u00e9\u00e8 \u{1f680} \u4e2d\u6587 {"nested": "[brackets] and \\"quotes\\""}',
    );
  });

  it('never holds a message past the cap: an over-long one comes out in pieces, and the next parses', () => {
    const long = { message: `[main]     ${'\u00e9\u2713\u{1f680}'.repeat(1000)}` };
    const response = builderResponse([long, { message: '[main]     next' }]);
    for (const chunkBytes of [1, 7, 1000, response.length]) {
      const records = parseAll(response, chunkBytes, 1024);
      const pieces = records.filter((record) => record.kind === 'line' && record.service === null);
      expect(pieces.length).toBeGreaterThan(5);
      for (const piece of pieces) {
        if (piece.kind !== 'line') continue;
        expect(Buffer.byteLength(piece.line.text)).toBeLessThanOrEqual(1024);
        expect(piece.line.flags & LineFlag.invalid).toBeTruthy();
        expect(piece.line.text).not.toContain('\ufffd');
      }
      const flags = pieces.map((piece) => (piece.kind === 'line' ? piece.line.flags : 0));
      expect(flags.slice(0, -1).every((flag) => flag & LineFlag.continued)).toBe(true);
      expect(flags.at(-1)).toBe(LineFlag.invalid);
      const joined = pieces.map((piece) => (piece.kind === 'line' ? piece.line.text : '')).join('');
      expect(joined).toBe(JSON.stringify(long));
      expect(linesOf(records, 'main')).toEqual(['next']);
    }
  });
});
