import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { BuildKitParser } from '../../src/core/builders/docker/buildkit-parser';
import { decodeStatusResponse } from '../../src/core/builders/docker/buildkit-status';
import { type BuildRecord, LineFlag } from '../../src/core/logs/log-line';

// A StatusResponse encoded by hand with the field numbers of moby/buildkit's control.proto, as the
// engine sends them: the test does not share the parser's field table.
interface TestVertex {
  digest: string;
  name?: string;
  cached?: boolean;
  startedMs?: number;
  completedMs?: number;
  error?: string;
}

function timestamp(writer: BinaryWriter, field: number, ms: number): void {
  writer.tag(field, WireType.LengthDelimited).fork();
  writer.tag(1, WireType.Varint).int64(Math.floor(ms / 1000));
  writer.tag(2, WireType.Varint).int32((ms % 1000) * 1e6);
  writer.join();
}

function status(parts: {
  vertexes?: TestVertex[];
  statuses?: {
    id: string;
    vertex: string;
    name?: string;
    current: number;
    total?: number;
    startedMs?: number;
    completedMs?: number;
  }[];
  logs?: { vertex: string; ms: number; text: string }[];
  warnings?: { vertex: string; short: string; detail?: string[]; url?: string }[];
}): string {
  const writer = new BinaryWriter();
  for (const vertex of parts.vertexes ?? []) {
    writer.tag(1, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(vertex.digest);
    writer.tag(2, WireType.LengthDelimited).string('sha256:input');
    if (vertex.name) writer.tag(3, WireType.LengthDelimited).string(vertex.name);
    if (vertex.cached) writer.tag(4, WireType.Varint).bool(true);
    if (vertex.startedMs !== undefined) timestamp(writer, 5, vertex.startedMs);
    if (vertex.completedMs !== undefined) timestamp(writer, 6, vertex.completedMs);
    if (vertex.error) writer.tag(7, WireType.LengthDelimited).string(vertex.error);
    writer.join();
  }
  for (const item of parts.statuses ?? []) {
    writer.tag(2, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(item.id);
    writer.tag(2, WireType.LengthDelimited).string(item.vertex);
    if (item.name) writer.tag(3, WireType.LengthDelimited).string(item.name);
    writer.tag(4, WireType.Varint).int64(item.current);
    if (item.total) writer.tag(5, WireType.Varint).int64(item.total);
    timestamp(writer, 6, item.completedMs ?? item.startedMs ?? 0);
    if (item.startedMs !== undefined) timestamp(writer, 7, item.startedMs);
    if (item.completedMs !== undefined) timestamp(writer, 8, item.completedMs);
    writer.join();
  }
  for (const log of parts.logs ?? []) {
    writer.tag(3, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(log.vertex);
    timestamp(writer, 2, log.ms);
    writer.tag(3, WireType.Varint).int64(1);
    writer.tag(4, WireType.LengthDelimited).bytes(Buffer.from(log.text));
    writer.join();
  }
  for (const warning of parts.warnings ?? []) {
    writer.tag(4, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(warning.vertex);
    writer.tag(2, WireType.Varint).int64(1);
    writer.tag(3, WireType.LengthDelimited).bytes(Buffer.from(warning.short));
    for (const detail of warning.detail ?? []) writer.tag(4, WireType.LengthDelimited).bytes(Buffer.from(detail));
    if (warning.url) writer.tag(5, WireType.LengthDelimited).string(warning.url);
    // A field this version of control.proto does not have: skipped, as protobuf allows.
    writer.tag(99, WireType.LengthDelimited).string('from the future');
    writer.join();
  }
  return `${JSON.stringify({ id: 'moby.buildkit.trace', aux: Buffer.from(writer.finish()).toString('base64') })}\r\n`;
}

const T = Date.UTC(2026, 11, 1, 21, 0, 0);

function parse(messages: string[], chunkBytes = 0): BuildRecord[] {
  const parser = new BuildKitParser();
  const bytes = Buffer.from(messages.join(''));
  const records: BuildRecord[] = [];
  if (chunkBytes === 0) records.push(...parser.push(bytes));
  else
    for (let at = 0; at < bytes.length; at += chunkBytes)
      records.push(...parser.push(bytes.subarray(at, at + chunkBytes)));
  records.push(...parser.end());
  return records;
}

const texts = (records: BuildRecord[]) =>
  records.flatMap((record) => (record.kind === 'line' ? [record.line.text] : []));

const run = { digest: 'sha256:run', name: '[2/3] RUN make' };

describe('the BuildKit trace, read as docker build --progress=plain prints it', () => {
  it('decodes every field Slipway shows, and skips the ones it does not know', () => {
    const line = JSON.parse(
      status({
        vertexes: [{ ...run, startedMs: T, completedMs: T + 1500, cached: true }],
        warnings: [{ vertex: 'v', short: 'w' }],
      }),
    );
    const decoded = decodeStatusResponse(Buffer.from(line.aux, 'base64'));
    expect(decoded.vertexes).toEqual([
      { digest: 'sha256:run', name: '[2/3] RUN make', cached: true, startedMs: T, completedMs: T + 1500, error: '' },
    ]);
    expect(decoded.warnings[0]).toMatchObject({ vertex: 'v', level: 1, url: '' });
  });

  it('prints a step, its output with BuildKit’s time since the step began, and DONE with its duration', () => {
    const records = parse([
      status({ vertexes: [{ ...run }] }),
      status({ vertexes: [{ ...run, startedMs: T }] }),
      status({ logs: [{ vertex: run.digest, ms: T + 250, text: 'compiling\nlinking' }] }),
      status({ logs: [{ vertex: run.digest, ms: T + 1250, text: ' done\n' }] }),
      status({ vertexes: [{ ...run, startedMs: T, completedMs: T + 1520 }] }),
    ]);
    expect(texts(records)).toEqual([
      '#1 [2/3] RUN make',
      '#1 0.250 compiling',
      '#1 1.250 linking done',
      '#1 DONE 1.5s',
    ]);
    expect(records.filter((record) => record.kind === 'step')).toEqual([{ kind: 'step', step: 2, steps: 3 }]);
    const header = records.find((record) => record.kind === 'line') as Extract<BuildRecord, { kind: 'line' }>;
    expect(header.line.step).toEqual({ step: 2, steps: 3, atMs: T });
  });

  it('gives the same lines whatever the chunks the answer arrives in', () => {
    const messages = [
      status({ vertexes: [{ ...run, startedMs: T }], logs: [{ vertex: run.digest, ms: T + 5, text: 'a\nb\n' }] }),
      status({ vertexes: [{ ...run, startedMs: T, completedMs: T + 10 }] }),
    ];
    expect(texts(parse(messages, 7))).toEqual(texts(parse(messages)));
  });

  it('reads a trace message far longer than a log line whole: a chatty step’s batched output', () => {
    const output = Array.from({ length: 20_000 }, (_, index) => `line ${index}`).join('\n');
    const message = status({
      vertexes: [{ ...run, startedMs: T }],
      logs: [{ vertex: run.digest, ms: T, text: `${output}\n` }],
    });
    expect(message.length).toBeGreaterThan(128 * 1024);
    const records = parse([message], 64 * 1024);
    expect(records.some((record) => record.kind === 'line' && record.line.flags & LineFlag.invalid)).toBe(false);
    expect(texts(records)).toHaveLength(20_001);
    expect(texts(records).at(-1)).toBe('#1 0.000 line 19999');
  });

  it('prints CACHED for a cached step, a blank line between steps, and stages in step names', () => {
    const base = { digest: 'sha256:base', name: '[base 1/2] COPY busybox /bin/busybox' };
    const records = parse([
      status({ vertexes: [{ ...base, startedMs: T, completedMs: T, cached: true }] }),
      status({ vertexes: [{ ...run, startedMs: T + 1 }] }),
    ]);
    expect(texts(records)).toEqual(['#1 [base 1/2] COPY busybox /bin/busybox', '#1 CACHED', '', '#2 [2/3] RUN make']);
  });

  it('prints a transfer once it completes, with its size and time', () => {
    const context = { digest: 'sha256:ctx', name: '[internal] load remote build context' };
    const records = parse([
      status({ vertexes: [{ ...context, startedMs: T }] }),
      status({
        statuses: [
          {
            id: 'transferring',
            vertex: context.digest,
            name: 'transferring context:',
            current: 2048,
            startedMs: T,
            completedMs: T + 300,
          },
        ],
      }),
    ]);
    expect(texts(records)).toContain('#1 transferring context: 2.0 KiB 0.3s done');
    expect(records.filter((record) => record.kind === 'step')).toEqual([]);
  });

  it('prints warnings with their detail and link', () => {
    const records = parse([
      status({ vertexes: [{ ...run, startedMs: T }] }),
      status({
        warnings: [
          { vertex: run.digest, short: 'FROM uses a moving tag', detail: ['pin it'], url: 'https://docs.example/w' },
        ],
      }),
    ]);
    expect(texts(records)).toEqual([
      '#1 [2/3] RUN make',
      '#1 WARNING: FROM uses a moving tag',
      '#1 pin it',
      '#1 More info: https://docs.example/w',
    ]);
  });

  it('flags the failing step’s ERROR line and names the step in the build’s error', () => {
    const error = 'process "/bin/sh -c make" did not complete successfully: exit code: 2';
    const records = parse([
      status({ vertexes: [{ ...run, startedMs: T }] }),
      status({ vertexes: [{ ...run, startedMs: T, completedMs: T + 100, error }] }),
      `${JSON.stringify({ errorDetail: { message: error }, error })}\r\n`,
    ]);
    const errorLine = records.find((record) => record.kind === 'line' && record.line.text.startsWith('#1 ERROR'));
    expect(errorLine).toEqual({ kind: 'line', line: { text: `#1 ERROR: ${error}`, flags: LineFlag.error } });
    expect(records.find((record) => record.kind === 'error')).toEqual({
      kind: 'error',
      message: `[2/3] RUN make: ${error}`,
    });
  });

  it('passes the engine’s other messages to the classic parser as they are, a long one with its lines capped', () => {
    const long = 'y'.repeat(100_000);
    const records = parse([
      `${JSON.stringify({ stream: 'before\n' })}\r\n`,
      status({ vertexes: [{ ...run, startedMs: T }] }),
      `${JSON.stringify({ stream: `${long}\n` })}\r\n`,
      `${JSON.stringify({ errorDetail: { message: 'it broke' }, error: 'it broke' })}\r\n`,
    ]);
    const lines = records.flatMap((record) => (record.kind === 'line' ? [record.line] : []));
    expect(lines.map((line) => line.text.slice(0, 12))).toEqual([
      'before',
      '#1 [2/3] RUN',
      'y'.repeat(12),
      'y'.repeat(12),
      'it broke',
    ]);
    expect(lines[2]?.text.length).toBe(64 * 1024);
    expect(lines[2]?.flags).toBe(LineFlag.continued);
    expect(lines[3]?.text.length).toBe(100_000 - 64 * 1024);
    expect(lines.some((line) => line.flags & LineFlag.invalid)).toBe(false);
    expect(records.at(-1)).toEqual({ kind: 'error', message: 'it broke' });
  });

  it('takes the image id from moby.image.id and keeps a trace that is not protobuf as an invalid line', () => {
    const records = parse([
      `${JSON.stringify({ id: 'moby.image.id', aux: { ID: 'sha256:abc' } })}\r\n`,
      `${JSON.stringify({ id: 'moby.buildkit.trace', aux: Buffer.from([0x0a, 0xff, 0xff]).toString('base64') })}\r\n`,
    ]);
    expect(records[0]).toEqual({ kind: 'image', imageId: 'sha256:abc' });
    expect(parse([`${JSON.stringify({ id: 'moby.buildkit.trace', aux: '' })}\r\n`])).toEqual([]);
    expect(records[1]).toMatchObject({ kind: 'line', line: { flags: LineFlag.invalid } });
  });

  it('gives each vertex its times when it starts and ends, before its header, for the timeline', () => {
    const base = { digest: 'sha256:base', name: '[base 1/2] COPY busybox /bin/busybox' };
    const records = parse([
      status({
        vertexes: [
          { ...base, startedMs: T, completedMs: T, cached: true },
          { ...run, startedMs: T + 5 },
        ],
      }),
      status({ vertexes: [{ ...run, startedMs: T + 5, completedMs: T + 900 }] }),
    ]);
    const vertexes = records.filter((record) => record.kind === 'vertex');
    const timing = (vertex: TestVertex, startedMs: number, completedMs: number | null, cached = false) => ({
      kind: 'vertex',
      vertex: vertex.digest,
      name: vertex.name,
      startedMs,
      completedMs,
      cached,
      error: false,
    });
    expect(vertexes).toEqual([
      timing(base, T, T, true),
      timing(run, T + 5, null),
      timing(base, T, T, true),
      timing(run, T + 5, T + 900),
    ]);
    // The start record comes before the header line, so the line it is spooled beside is the header's.
    const runStart = records.findIndex((record) => record.kind === 'vertex' && record.vertex === 'sha256:run');
    expect(records[runStart + 2]).toMatchObject({ kind: 'line', line: { text: '#2 [2/3] RUN make' } });
  });
});
