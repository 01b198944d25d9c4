import { wellFormedRun } from './line-run';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, startsWithBytes } from './line-splitter';
import { type BuildRecord, LineFlag, parseStep } from './log-line';
import { StreamRunBuilder } from './stream-run';
import { TerminalLines, type TextLine } from './terminal-lines';

const STREAM_PREFIX = Buffer.from('{"stream":"', 'latin1');

function parseJsonString(text: string): string | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

export interface DockerBuildParserOptions {
  /**
   * Give runs of plain lines as `run` records (bytes ready for the spool) instead of a `line` record
   * each: what the build session takes. Off, every line is a `line` record (default).
   */
  lineRuns?: boolean;
}

/**
 * Parses the Docker Engine API's build response: one JSON message per line, with `stream`, `status`,
 * `aux` and `errorDetail`. Never holds more than one capped line; text that is not JSON is kept,
 * flagged invalid.
 */
export class DockerBuildParser {
  private readonly messages: LineSplitter;
  private readonly text: TerminalLines;
  private insideLongMessage = false;
  private readonly runs: StreamRunBuilder | null;

  constructor(
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    options: DockerBuildParserOptions = {},
  ) {
    this.messages = new LineSplitter(maxLineBytes);
    this.text = new TerminalLines(maxLineBytes);
    this.runs = options.lineRuns ? new StreamRunBuilder(maxLineBytes) : null;
  }

  push(chunk: Buffer): BuildRecord[] {
    const records: BuildRecord[] = [];
    const runs = this.runs;
    if (!runs) {
      this.split(chunk, records);
      return records;
    }
    let start = 0;
    if (this.messages.holding) {
      // The message the last chunk ended inside is joined by the splitter, and parsed on its own.
      const newline = chunk.indexOf(10);
      start = newline === -1 ? chunk.length : newline + 1;
      this.split(chunk.subarray(0, start), records);
    }
    runs.reserve(chunk.length - start);
    while (start < chunk.length) {
      if (!this.insideLongMessage && this.text.idle) {
        start = runs.addMessages(chunk, start);
        if (start === chunk.length) break;
      }
      // A message the run cannot take exactly as the line-by-line path would goes that path, in order.
      const newline = chunk.indexOf(10, start);
      if (newline === -1) break;
      this.takeRun(records);
      this.split(chunk.subarray(start, newline + 1), records);
      start = newline + 1;
    }
    this.takeRun(records);
    if (start < chunk.length) this.split(chunk.subarray(start), records);
    return records;
  }

  private split(bytes: Buffer, records: BuildRecord[]): void {
    for (const message of this.messages.push(bytes)) this.message(message.bytes, message.continued, records);
  }

  private takeRun(records: BuildRecord[]): void {
    const run = this.runs?.take();
    if (run) records.push({ kind: 'run', run: wellFormedRun(run) });
  }

  end(): BuildRecord[] {
    const records: BuildRecord[] = [];
    for (const message of this.messages.end()) this.message(message.bytes, false, records);
    this.endText(records);
    return records;
  }

  /**
   * Parses one message already cut at its newline (or a piece of a longer one, `continued`), for a
   * parser that splits the stream itself (BuildKit's): no copy, no second split.
   */
  message(bytes: Buffer, continued: boolean, records: BuildRecord[]): void {
    const wasLong = this.insideLongMessage;
    this.insideLongMessage = continued;
    if (continued || wasLong) {
      // A message too long to hold cannot be parsed; keep its text in pieces.
      const text = bytes.toString('utf8');
      const flags = LineFlag.invalid | (continued ? LineFlag.continued : 0);
      records.push({ kind: 'line', line: { text, flags } });
      return;
    }
    // The engine ends its messages with "\r\n".
    const end = bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    const open = STREAM_PREFIX.length;
    if (
      end >= open + 2 &&
      bytes[end - 1] === 0x7d &&
      bytes[end - 2] === 0x22 &&
      startsWithBytes(bytes, STREAM_PREFIX)
    ) {
      // Most messages are {"stream":"..."}: parsing just the string is cheaper, and most of those are
      // one line with nothing escaped but its newline, which is just decoded.
      const close = end - 2;
      const backslash = bytes.indexOf(0x5c, open);
      if (backslash === close - 2 && bytes[close - 1] === 0x6e && bytes.indexOf(0x22, open) === close) {
        this.addLine(bytes.toString('utf8', open, backslash), records);
        return;
      }
      // If the slice is not one JSON string, the message had other keys and is parsed whole below.
      const text = parseJsonString(bytes.toString('utf8', open - 1, close + 1));
      if (text !== null) {
        this.addText(this.text.push(text), 0, records);
        return;
      }
    }
    const raw = bytes.toString('utf8');
    // Messages start with "{"; only something else can be blank.
    if (raw.charCodeAt(0) !== 123 && raw.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      records.push({ kind: 'line', line: { text: raw, flags: LineFlag.invalid } });
      return;
    }
    if (typeof message !== 'object' || message === null) {
      records.push({ kind: 'line', line: { text: raw, flags: LineFlag.invalid } });
      return;
    }
    this.onJson(message as Record<string, unknown>, records);
  }

  /** The last line of text, when the stream ended without a newline. */
  endText(records: BuildRecord[]): void {
    this.addText(this.text.end(), 0, records);
  }

  private onJson(message: Record<string, unknown>, records: BuildRecord[]): void {
    const errorDetail = message.errorDetail as { message?: unknown } | undefined;
    if (typeof message.error === 'string' || errorDetail) {
      const text = typeof errorDetail?.message === 'string' ? errorDetail.message : String(message.error);
      this.addText(this.text.end(), 0, records);
      this.addText(new TerminalLines().push(text.endsWith('\n') ? text : `${text}\n`), LineFlag.error, records);
      records.push({ kind: 'error', message: text.trim() });
      return;
    }
    if (typeof message.stream === 'string') {
      this.addText(this.text.push(message.stream), 0, records);
    }
    if (typeof message.status === 'string') {
      const progress = typeof message.progress === 'string' ? ` ${message.progress}` : '';
      const id = typeof message.id === 'string' ? `${message.id}: ` : '';
      this.addText(this.text.push(`${id}${message.status}${progress}\n`), 0, records);
    }
    const aux = message.aux as { ID?: unknown } | undefined;
    if (aux && typeof aux.ID === 'string') records.push({ kind: 'image', imageId: aux.ID });
  }

  /** One whole line of text (it had its newline), as `this.text.push(text + "\n")` would give it. */
  private addLine(text: string, records: BuildRecord[]): void {
    if (text.length > this.maxLineBytes || !this.text.idle) {
      this.addText(this.text.push(`${text}\n`), 0, records);
      return;
    }
    records.push({ kind: 'line', line: { text, flags: 0 } });
    const step = mayBeStep(text) ? parseStep(text) : null;
    if (step) records.push({ kind: 'step', ...step });
  }

  private addText(lines: TextLine[], flags: number, records: BuildRecord[]): void {
    for (const line of lines) {
      records.push({
        kind: 'line',
        line: { text: line.text, flags: flags | (line.continued ? LineFlag.continued : 0) },
      });
      const step = line.continued || !mayBeStep(line.text) ? null : parseStep(line.text);
      if (step) records.push({ kind: 'step', ...step });
    }
  }
}

/** Step lines start with "S" ("Step", "STEP") or "[" (Podman's stage): others skip the pattern. */
function mayBeStep(text: string): boolean {
  const first = text.charCodeAt(0);
  return first === 83 || first === 91;
}
