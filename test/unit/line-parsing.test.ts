import { describe, expect, it } from 'vitest';
import { DockerBuildParser } from '../../src/core/logs/docker-parser';
import { LineSplitter } from '../../src/core/logs/line-splitter';
import { type BuildRecord, LineFlag, parseStep } from '../../src/core/logs/log-line';
import { TerminalLines } from '../../src/core/logs/terminal-lines';

const texts = (records: BuildRecord[]) =>
  records.flatMap((record) => (record.kind === 'line' ? [record.line.text] : []));

describe('line splitting', () => {
  it('joins a multi-byte character split across chunks', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('caf\u00e9 \u2713\n');
    const lines = [
      ...splitter.push(bytes.subarray(0, 4)),
      ...splitter.push(bytes.subarray(4, 7)),
      ...splitter.push(bytes.subarray(7)),
    ];
    expect(lines.map((line) => line.bytes.toString('utf8'))).toEqual(['caf\u00e9 \u2713']);
  });

  it('never holds more than the cap of a line without newline, and never cuts a character', () => {
    const splitter = new LineSplitter(10);
    const long = '\u00e9'.repeat(30);
    const pieces = [...splitter.push(Buffer.from(long)), ...splitter.end()];
    expect(pieces.every((piece) => piece.bytes.length <= 10)).toBe(true);
    expect(pieces.slice(0, -1).every((piece) => piece.continued)).toBe(true);
    expect(pieces.at(-1)?.continued).toBe(false);
    expect(pieces.map((piece) => piece.bytes.toString('utf8')).join('')).toBe(long);
  });
});

describe('terminal lines', () => {
  it('collapses carriage-return progress into its last state', () => {
    const lines = new TerminalLines();
    const out = [...lines.push('Downloading 10%\rDownloading 50%\r'), ...lines.push('Downloading 100%\nnext\r\n')];
    expect(out.map((line) => line.text)).toEqual(['Downloading 100%', 'next']);
  });

  it('keeps ANSI colour codes for the viewer', () => {
    expect(new TerminalLines().push('\u001b[31mred\u001b[0m\n')[0]?.text).toBe('\u001b[31mred\u001b[0m');
  });
});

describe('the Docker build protocol', () => {
  it('turns stream messages into lines, steps and the image id', () => {
    const parser = new DockerBuildParser();
    const response = [
      { stream: 'STEP 1/2: FROM scratch\n' },
      { stream: 'STEP 2/2: RUN echo hi\nhi\n' },
      { aux: { ID: 'sha256:abc' } },
    ]
      .map((message) => `${JSON.stringify(message)}\n`)
      .join('');
    const records = [...parser.push(Buffer.from(response)), ...parser.end()];
    expect(texts(records)).toEqual(['STEP 1/2: FROM scratch', 'STEP 2/2: RUN echo hi', 'hi']);
    expect(records).toContainEqual({ kind: 'step', step: 2, steps: 2 });
    expect(records).toContainEqual({ kind: 'image', imageId: 'sha256:abc' });
  });

  it('reports errorDetail as an error line and an error record', () => {
    const parser = new DockerBuildParser();
    const records = parser.push(Buffer.from('{"errorDetail":{"message":"exit status 3"},"error":"exit status 3"}\n'));
    expect(records).toContainEqual({ kind: 'error', message: 'exit status 3' });
    expect(records).toContainEqual({ kind: 'line', line: { text: 'exit status 3', flags: LineFlag.error } });
  });

  it('keeps text that is not JSON, flagged invalid', () => {
    const parser = new DockerBuildParser();
    const records = parser.push(Buffer.from('<html>oops</html>\n'));
    expect(records).toEqual([{ kind: 'line', line: { text: '<html>oops</html>', flags: LineFlag.invalid } }]);
  });

  it('splits a message longer than the cap into marked pieces instead of holding it', () => {
    const parser = new DockerBuildParser(1024);
    const records = [...parser.push(Buffer.alloc(5000, 'x')), ...parser.push(Buffer.from('\n')), ...parser.end()];
    const lines = records.flatMap((record) => (record.kind === 'line' ? [record.line] : []));
    expect(lines.length).toBe(5);
    expect(lines.every((line) => line.text.length <= 1024)).toBe(true);
    expect(lines.slice(0, -1).every((line) => line.flags & LineFlag.continued)).toBe(true);
    expect(lines.every((line) => line.flags & LineFlag.invalid)).toBe(true);
  });
});

describe('build steps', () => {
  it('are read from Podman, Podman multi-stage and BuildKit-less Docker lines, and nothing else', () => {
    expect(parseStep('STEP 2/5: COPY . /ctx/')).toEqual({ step: 2, steps: 5 });
    expect(parseStep('[1/2] STEP 2/2: COPY busybox /bin/busybox')).toEqual({ step: 2, steps: 2 });
    expect(parseStep('Step 3/7 : RUN make')).toEqual({ step: 3, steps: 7 });
    expect(parseStep('echo STEP 1/2: not a step')).toBeNull();
    expect(parseStep('[1/2] building')).toBeNull();
  });
});
