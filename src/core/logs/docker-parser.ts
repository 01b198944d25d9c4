import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './line-splitter';
import { type BuildRecord, LineFlag, parseStep } from './log-line';
import { TerminalLines, type TextLine } from './terminal-lines';

const STREAM_PREFIX = '{"stream":"';

function parseJsonString(text: string): string | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
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

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.messages = new LineSplitter(maxLineBytes);
    this.text = new TerminalLines(maxLineBytes);
  }

  push(chunk: Buffer): BuildRecord[] {
    const records: BuildRecord[] = [];
    for (const message of this.messages.push(chunk)) this.message(message.bytes, message.continued, records);
    return records;
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
    const raw = bytes.toString('utf8');
    // Messages start with "{"; only something else can be blank.
    if (raw.charCodeAt(0) !== 123 && raw.trim() === '') return;
    if (raw.startsWith(STREAM_PREFIX) && raw.endsWith('"}')) {
      // Most messages are {"stream":"..."}: parsing just the string is cheaper. If the slice is not one
      // JSON string, the message had other keys and is parsed whole below.
      const text = parseJsonString(raw.slice(STREAM_PREFIX.length - 1, -1));
      if (text !== null) {
        this.addText(this.text.push(text), 0, records);
        return;
      }
    }
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

  private addText(lines: TextLine[], flags: number, records: BuildRecord[]): void {
    for (const line of lines) {
      records.push({
        kind: 'line',
        line: { text: line.text, flags: flags | (line.continued ? LineFlag.continued : 0) },
      });
      const step = line.continued ? null : parseStep(line.text);
      if (step) records.push({ kind: 'step', ...step });
    }
  }
}
