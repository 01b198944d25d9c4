import { DEFAULT_MAX_LINE_BYTES } from './line-splitter';
import { LineFlag, type LogLine, parseStep } from './log-line';
import { TerminalLines } from './terminal-lines';

/**
 * What the balena builder's response turns into. `service` is the task a line belongs to, or null for
 * the build's own log (the builder's `[Info]`, `[Success]`, `[Warn]`, `[Error]` output and anything
 * labelled with a name that is not one of the project's services).
 */
export type BalenaRecord =
  | { kind: 'line'; service: string | null; line: LogLine }
  | { kind: 'step'; service: string; step: number; steps: number }
  | { kind: 'release'; releaseId: string }
  | { kind: 'error'; service: string | null; message: string }
  | { kind: 'headless'; started: boolean; releaseId: string | null; error: string | null; message: string | null };

/** Labels the builder gives its own output; they win over a service of the same name. */
export const GENERAL_LABELS: ReadonlySet<string> = new Set(['Info', 'Success', 'Warn', 'Error', 'Debug', 'Build']);

// A label may come wrapped in colour codes: "\x1b[36m[main]\x1b[39m     Step 1/3 : FROM scratch".
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is matched.
const LABEL_PATTERN = /^(?:\x1b\[[0-9;]*m)*\[([^\]\s]{1,200})\](?:\x1b\[[0-9;]*m)*[ \t]*/;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Where the scanner stands in the response. */
type Place =
  | 'start' // before the first value: '[' for a streamed build, '{' for a headless answer
  | 'between' // inside the array, between messages
  | 'value' // inside a message
  | 'after' // after the closing ']' or the headless object
  | 'text'; // the response is not JSON at all: kept as text lines

function stringField(message: Record<string, unknown>, key: string): string | null {
  const value = message[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

/** One log's terminal: '\r' progress collapses, long lines are cut, a replace line waits to be redrawn. */
class LogTerminal {
  readonly lines: TerminalLines;
  /** A `replace` line is showing and the next message would overwrite it. */
  progressShowing = false;

  constructor(maxLineChars: number) {
    this.lines = new TerminalLines(maxLineChars);
  }
}

/**
 * Parses the balena builder's response incrementally: a JSON array of messages `{message, type,
 * replace, isError, resource, value}` streamed over minutes, or (headless) one object `{started,
 * releaseId, error, message}`. It holds at most one message of at most `maxMessageBytes`; a longer one
 * cannot be parsed and is kept as text pieces flagged invalid, as the Docker parser does. Works on bytes,
 * so a message or a character split across chunks anywhere is joined before it is decoded.
 */
export class BalenaBuildParser {
  /** True once the array (or the headless object) was closed: a response cut short never sets it. */
  complete = false;
  private place: Place = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** The message being scanned went past the cap: its bytes are handed out as text, not held. */
  private overflowing = false;
  private readonly overflowDecoder = new TextDecoder('utf-8');
  private readonly textDecoder = new TextDecoder('utf-8');
  private textLine = '';
  private headless = false;
  private readonly terminals = new Map<string | null, LogTerminal>();
  /** The log whose `replace` line a cursor `erase` would clear. */
  private lastProgress: string | null | undefined;

  /**
   * @param services the project's service names: a `[name]` label routes a line to that task.
   */
  constructor(
    private readonly services: ReadonlySet<string>,
    private readonly maxMessageBytes = DEFAULT_MAX_LINE_BYTES,
  ) {}

  /** Feeds a chunk of the response; returns what it completed. */
  push(chunk: Buffer): BalenaRecord[] {
    const records: BalenaRecord[] = [];
    let index = 0;
    while (index < chunk.length) {
      switch (this.place) {
        case 'start':
        case 'between':
        case 'after':
          index = this.skipToValue(chunk, index);
          break;
        case 'value':
          index = this.scanValue(chunk, index, records);
          break;
        case 'text':
          this.onText(chunk.subarray(index), records);
          index = chunk.length;
          break;
      }
    }
    return records;
  }

  /** Ends the response; returns what was still held (a cut-off message as text, pending progress lines). */
  end(): BalenaRecord[] {
    const records: BalenaRecord[] = [];
    if (this.place === 'value') {
      const bytes = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      const text = this.overflowing
        ? this.overflowDecoder.decode(bytes)
        : this.textDecoder.decode(bytes) + this.textDecoder.decode();
      if (text.length > 0) records.push({ kind: 'line', service: null, line: { text, flags: LineFlag.invalid } });
      this.overflowing = false;
      this.place = 'after';
    }
    if (this.place === 'text') {
      const text = this.textLine + this.textDecoder.decode();
      this.textLine = '';
      if (text.length > 0) records.push({ kind: 'line', service: null, line: { text, flags: LineFlag.invalid } });
    }
    for (const [service, terminal] of this.terminals) {
      this.addLines(service, terminal.lines.end(), 0, records);
      terminal.progressShowing = false;
    }
    return records;
  }

  /** Skips whitespace and commas up to the next value, the array's end, or text that is not JSON. */
  private skipToValue(chunk: Buffer, from: number): number {
    let index = from;
    while (index < chunk.length) {
      const byte = chunk[index] as number;
      if (isSpace(byte)) {
        index += 1;
        continue;
      }
      if (this.place === 'start') {
        if (byte === OPEN_BRACKET) {
          this.place = 'between';
          return index + 1;
        }
        if (byte === OPEN_BRACE) {
          this.headless = true;
          this.beginValue();
          return index;
        }
        this.place = 'text';
        return index;
      }
      if (this.place === 'between') {
        if (byte === COMMA) {
          index += 1;
          continue;
        }
        if (byte === CLOSE_BRACKET) {
          this.place = 'after';
          this.complete = true;
          return index + 1;
        }
        this.beginValue();
        return index;
      }
      // After the end: whatever follows is not the protocol; keep it as text.
      this.place = 'text';
      return index;
    }
    return index;
  }

  private beginValue(): void {
    this.place = 'value';
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.overflowing = false;
  }

  /** Scans one value's bytes up to its end; holds them (up to the cap) until the value is complete. */
  private scanValue(chunk: Buffer, from: number, records: BalenaRecord[]): number {
    let index = from;
    let end = -1;
    for (; index < chunk.length; index++) {
      const byte = chunk[index] as number;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) {
          this.inString = false;
          if (this.depth === 0) {
            end = index + 1;
            break;
          }
        }
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth += 1;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (this.depth === 0) {
          // A bare value (a number, say) ended by the array's ']'; a stray '}' is a value of its own.
          end = index === from && this.heldBytes === 0 ? index + 1 : index;
          break;
        }
        this.depth -= 1;
        if (this.depth === 0) {
          end = index + 1;
          break;
        }
      } else if (this.depth === 0 && (byte === COMMA || isSpace(byte))) {
        end = index;
        break;
      }
    }
    const piece = chunk.subarray(from, end === -1 ? chunk.length : end);
    this.hold(piece, records);
    if (end === -1) return chunk.length;
    this.finishValue(records);
    return end;
  }

  private hold(piece: Buffer, records: BalenaRecord[]): void {
    if (piece.length === 0) return;
    this.held.push(Buffer.from(piece));
    this.heldBytes += piece.length;
    // The decoder may carry up to 3 bytes of a character from one piece to the next.
    const pieceBytes = Math.max(1, this.maxMessageBytes - 3);
    if (this.heldBytes <= (this.overflowing ? pieceBytes : this.maxMessageBytes)) return;
    // Too long to parse: hand out pieces as they fill, keeping the tail, so the last piece can say
    // that it is the last.
    this.overflowing = true;
    const bytes = Buffer.concat(this.held, this.heldBytes);
    let at = 0;
    for (; bytes.length - at > pieceBytes; at += pieceBytes) {
      const text = this.overflowDecoder.decode(bytes.subarray(at, at + pieceBytes), { stream: true });
      if (text.length > 0) {
        records.push({ kind: 'line', service: null, line: { text, flags: LineFlag.invalid | LineFlag.continued } });
      }
    }
    this.held = [Buffer.from(bytes.subarray(at))];
    this.heldBytes = bytes.length - at;
  }

  private finishValue(records: BalenaRecord[]): void {
    this.place = this.headless ? 'after' : 'between';
    if (this.headless) this.complete = true;
    if (this.overflowing) {
      const rest = this.overflowDecoder.decode(Buffer.concat(this.held, this.heldBytes));
      this.held = [];
      this.heldBytes = 0;
      // The last piece ends the over-long message: it is not continued.
      records.push({ kind: 'line', service: null, line: { text: rest, flags: LineFlag.invalid } });
      this.overflowing = false;
      return;
    }
    const raw = Buffer.concat(this.held, this.heldBytes).toString('utf8');
    this.held = [];
    this.heldBytes = 0;
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      records.push({ kind: 'line', service: null, line: { text: raw, flags: LineFlag.invalid } });
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      records.push({ kind: 'line', service: null, line: { text: raw, flags: LineFlag.invalid } });
      return;
    }
    if (this.headless) this.onHeadless(message as Record<string, unknown>, records);
    else this.onMessage(message as Record<string, unknown>, records);
  }

  private onHeadless(answer: Record<string, unknown>, records: BalenaRecord[]): void {
    const error = stringField(answer, 'error');
    const message = stringField(answer, 'message');
    records.push({
      kind: 'headless',
      started: answer.started === true,
      releaseId: stringField(answer, 'releaseId'),
      error,
      message,
    });
    const text = message ?? error;
    if (text) {
      records.push({
        kind: 'line',
        service: null,
        line: { text, flags: answer.started === true ? 0 : LineFlag.error },
      });
    }
  }

  private onMessage(message: Record<string, unknown>, records: BalenaRecord[]): void {
    if (message.type === 'metadata') {
      const value = stringField(message, 'value');
      if (message.resource === 'buildLogId' && value !== null) records.push({ kind: 'release', releaseId: value });
      else if (message.resource === 'cursor' && /^erase\d*$/.test(value ?? '') && this.lastProgress !== undefined) {
        // The builder erases the progress line it drew; so does the log. Cursor moves ("up2", "down")
        // redraw a multi-line display in a terminal; a log file has no use for them.
        const terminal = this.terminal(this.lastProgress);
        if (terminal.progressShowing) {
          terminal.lines.end();
          terminal.progressShowing = false;
        }
      }
      return;
    }
    const isError = message.isError === true;
    let service: string | null = null;
    let text: string | null = null;
    if (typeof message.message === 'string') {
      text = message.message.replace(/\n+$/, '');
      const label = LABEL_PATTERN.exec(text);
      const name = label?.[1];
      if (label && name !== undefined && !GENERAL_LABELS.has(name) && this.services.has(name)) {
        service = name;
        text = text.slice(label[0].length);
      }
      this.write(service, text, message.replace === true, isError, records);
    }
    if (isError) {
      records.push({ kind: 'error', service, message: text?.trim() || 'The builder reported an error.' });
    }
  }

  private terminal(service: string | null): LogTerminal {
    let terminal = this.terminals.get(service);
    if (!terminal) {
      terminal = new LogTerminal(this.maxMessageBytes);
      this.terminals.set(service, terminal);
    }
    return terminal;
  }

  /** A `replace` line is drawn over by the next message to its log; its last state is kept. */
  private write(service: string | null, text: string, replace: boolean, isError: boolean, records: BalenaRecord[]) {
    const terminal = this.terminal(service);
    const flags = isError ? LineFlag.error : 0;
    if (replace) {
      this.addLines(service, terminal.lines.push(`\r${text}`), flags, records);
      terminal.progressShowing = true;
      this.lastProgress = service;
      return;
    }
    if (terminal.progressShowing) {
      this.addLines(service, terminal.lines.push('\n'), 0, records);
      terminal.progressShowing = false;
    }
    this.addLines(service, terminal.lines.push(`${text}\n`), flags, records);
  }

  private addLines(
    service: string | null,
    lines: { text: string; continued: boolean }[],
    flags: number,
    records: BalenaRecord[],
  ): void {
    for (const line of lines) {
      records.push({
        kind: 'line',
        service,
        line: { text: line.text, flags: flags | (line.continued ? LineFlag.continued : 0) },
      });
      const step = service !== null && !line.continued ? parseStep(line.text) : null;
      if (step && service !== null) records.push({ kind: 'step', service, ...step });
    }
  }

  /** The response is not JSON (a proxy's error page, say): kept as capped text lines, flagged invalid. */
  private onText(bytes: Buffer, records: BalenaRecord[]): void {
    this.textLine += this.textDecoder.decode(bytes, { stream: true });
    let newline = this.textLine.indexOf('\n');
    while (newline !== -1) {
      records.push({
        kind: 'line',
        service: null,
        line: { text: this.textLine.slice(0, newline).replace(/\r$/, ''), flags: LineFlag.invalid },
      });
      this.textLine = this.textLine.slice(newline + 1);
      newline = this.textLine.indexOf('\n');
    }
    while (this.textLine.length > this.maxMessageBytes) {
      records.push({
        kind: 'line',
        service: null,
        line: { text: this.textLine.slice(0, this.maxMessageBytes), flags: LineFlag.invalid | LineFlag.continued },
      });
      this.textLine = this.textLine.slice(this.maxMessageBytes);
    }
  }
}
