import { formatBytes } from '../../../shared/format';
import { DockerBuildParser } from '../../logs/docker-parser';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, startsWithBytes } from '../../logs/line-splitter';
import { type BuildRecord, LineFlag, type LogLine } from '../../logs/log-line';
import { TerminalLines } from '../../logs/terminal-lines';
import { decodeStatusResponse, type StatusResponse, type Vertex, type VertexStatus } from './buildkit-status';

const TRACE_PREFIX = Buffer.from('{"id":"moby.buildkit.trace","aux":"', 'latin1');
const EMPTY_TRACE = Buffer.from('{"id":"moby.buildkit.trace","aux":""}', 'latin1');

/**
 * BuildKit batches a step's output into one trace message: tens of KiB of base64 for a chatty RUN. A
 * message is held whole up to this size (the lines in it are still capped); a longer one is kept as
 * text pieces, flagged invalid.
 */
export const MAX_TRACE_MESSAGE_BYTES = 8 * 1024 * 1024;

// A Dockerfile step as BuildKit names its vertex: "[2/3] RUN ...", "[stage-1 2/3] COPY ...".
const STEP_PATTERN = /^\[(?:[^\]\s]+ )?(\d+)\/(\d+)\]/;

/** What the parser keeps of a vertex while the build runs: its number in the log and its own terminal. */
interface VertexState {
  number: number;
  name: string;
  startedMs: number | null;
  printed: boolean;
  done: boolean;
  text: TerminalLines | null;
}

/** A vertex's times as a record: sent before its header when it starts, and when it ends. */
function timing(state: VertexState, vertex: Vertex): BuildRecord {
  const { startedMs } = state;
  return {
    kind: 'vertex',
    vertex: vertex.digest,
    name: state.name,
    startedMs,
    completedMs: vertex.completedMs,
    cached: vertex.cached,
    error: vertex.error !== '',
  };
}

const seconds = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)}s`;

/**
 * Parses the answer of POST /build?version=2: JSON lines whose `moby.buildkit.trace` records carry
 * base64 protobuf StatusResponses, the image id as `moby.image.id`, errors as `errorDetail`. Writes the
 * log as `docker build --progress=plain` prints it: "#N name", "#N 0.123 output", "#N DONE 0.3s",
 * "#N CACHED", "#N ERROR: ...". Step lines carry BuildKit's start time, so step durations are
 * BuildKit's own. Other messages go through the classic parser; lines stay capped.
 */
export class BuildKitParser {
  private readonly messages: LineSplitter;
  private readonly classic: DockerBuildParser;
  private readonly vertexes = new Map<string, VertexState>();
  private last: VertexState | null = null;
  private insideLongMessage = false;
  /** Complete messages read so far: a trace that prints nothing (a pull's progress) is still a sign of life. */
  messagesRead = 0;
  /** The first vertex that failed, with its error: the step a failed build names. */
  failedStep: { name: string; error: string } | null = null;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.messages = new LineSplitter(Math.max(maxLineBytes, MAX_TRACE_MESSAGE_BYTES));
    this.classic = new DockerBuildParser(maxLineBytes);
  }

  push(chunk: Buffer): BuildRecord[] {
    const records: BuildRecord[] = [];
    for (const message of this.messages.push(chunk)) this.onMessage(message.bytes, message.continued, records);
    return records;
  }

  end(): BuildRecord[] {
    const records: BuildRecord[] = [];
    for (const message of this.messages.end()) this.onMessage(message.bytes, false, records);
    for (const state of this.vertexes.values()) this.flushText(state, records);
    this.classic.endText(records);
    return records;
  }

  private onMessage(bytes: Buffer, continued: boolean, records: BuildRecord[]): void {
    const wasLong = this.insideLongMessage;
    this.insideLongMessage = continued;
    if (!continued) this.messagesRead += 1;
    // The engine ends its messages with "\r\n".
    const end = bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    if (!continued && !wasLong) {
      // An empty trace ({"id":"moby.buildkit.trace","aux":""}): the engine floods a client that reads
      // slower than the build prints with millions of them, so they are skipped without a string.
      if (end === EMPTY_TRACE.length && startsWithBytes(bytes, EMPTY_TRACE)) return;
      if (
        end > TRACE_PREFIX.length + 2 &&
        startsWithBytes(bytes, TRACE_PREFIX) &&
        bytes[end - 1] === 0x7d &&
        bytes[end - 2] === 0x22
      ) {
        let status: StatusResponse;
        try {
          status = decodeStatusResponse(Buffer.from(bytes.toString('latin1', TRACE_PREFIX.length, end - 2), 'base64'));
        } catch {
          records.push({ kind: 'line', line: { text: bytes.toString('utf8'), flags: LineFlag.invalid } });
          return;
        }
        this.onStatus(status, records);
        return;
      }
    }
    // Anything else (the image id, errors, a stream message) is the classic parser's, as it was cut here.
    const from = records.length;
    this.classic.message(bytes, continued, records);
    if (!this.failedStep) return;
    for (let i = from; i < records.length; i++) {
      const record = records[i] as BuildRecord;
      if (record.kind === 'error') records[i] = { ...record, message: `${this.failedStep.name}: ${record.message}` };
    }
  }

  private vertex(digest: string): VertexState {
    let state = this.vertexes.get(digest);
    if (!state) {
      state = { number: this.vertexes.size + 1, name: '', startedMs: null, printed: false, done: false, text: null };
      this.vertexes.set(digest, state);
    }
    return state;
  }

  /** Prints a vertex's header "#N name" once, with a blank line whenever another vertex spoke last. */
  private header(state: VertexState, records: BuildRecord[]): void {
    this.switchTo(state, records);
    if (state.printed) return;
    state.printed = true;
    const line: LogLine = { text: `#${state.number} ${state.name}`, flags: 0 };
    const step = STEP_PATTERN.exec(state.name);
    if (!step) {
      records.push({ kind: 'line', line });
      return;
    }
    const figures = { step: Number(step[1]), steps: Number(step[2]) };
    line.step = { ...figures, atMs: state.startedMs ?? Date.now() };
    records.push({ kind: 'line', line }, { kind: 'step', ...figures });
  }

  /** Prints one "#N text" line of a vertex, after its header. */
  private say(state: VertexState, text: string, records: BuildRecord[], flags = 0): void {
    this.header(state, records);
    records.push({ kind: 'line', line: { text: `#${state.number} ${text}`, flags } });
  }

  private switchTo(state: VertexState, records: BuildRecord[]): void {
    if (this.last === state) return;
    if (this.last !== null) records.push({ kind: 'line', line: { text: '', flags: 0 } });
    this.last = state;
  }

  private onStatus(status: StatusResponse, records: BuildRecord[]): void {
    for (const vertex of status.vertexes) this.onVertex(vertex, records, 'start');
    for (const item of status.statuses) this.onProgress(item, records);
    for (const log of status.logs) {
      const state = this.vertex(log.vertex);
      state.text ??= new TerminalLines(this.maxLineBytes);
      const text = Buffer.from(log.msg.buffer, log.msg.byteOffset, log.msg.byteLength).toString('utf8');
      // Each line carries BuildKit's time since the step started, as --progress=plain prints it.
      const offset =
        log.timestampMs !== null && state.startedMs !== null
          ? (Math.max(0, log.timestampMs - state.startedMs) / 1000).toFixed(3)
          : '0.000';
      for (const line of state.text.push(text)) {
        this.say(state, `${offset} ${line.text}`, records, line.continued ? LineFlag.continued : 0);
      }
    }
    for (const warning of status.warnings) {
      const state = this.vertex(warning.vertex);
      const short = Buffer.from(warning.short).toString('utf8');
      this.say(state, `WARNING: ${short}`, records);
      for (const detail of warning.detail) this.say(state, Buffer.from(detail).toString('utf8'), records);
      if (warning.url) this.say(state, `More info: ${warning.url}`, records);
    }
    for (const vertex of status.vertexes) this.onVertex(vertex, records, 'end');
  }

  /** A vertex's start (its header, when it started or was cached) or end (CACHED, DONE, ERROR). */
  private onVertex(vertex: Vertex, records: BuildRecord[], phase: 'start' | 'end'): void {
    const state = this.vertex(vertex.digest);
    if (vertex.name) state.name = vertex.name;
    if (vertex.startedMs !== null) state.startedMs ??= vertex.startedMs;
    if (phase === 'start') {
      if (!state.printed && (vertex.startedMs !== null || vertex.cached)) {
        records.push(timing(state, vertex));
        this.header(state, records);
      }
      return;
    }
    if (state.done || (vertex.completedMs === null && !vertex.cached && !vertex.error)) return;
    state.done = true;
    records.push(timing(state, vertex));
    this.flushText(state, records);
    if (vertex.error) {
      this.failedStep ??= { name: state.name, error: vertex.error };
      this.say(state, `ERROR: ${vertex.error}`, records, LineFlag.error);
    } else if (vertex.cached) this.say(state, 'CACHED', records);
    else
      this.say(
        state,
        `DONE ${seconds((vertex.completedMs ?? 0) - (state.startedMs ?? vertex.completedMs ?? 0))}`,
        records,
      );
    state.text = null;
  }

  /** Transfers and pulls: printed once they complete, as "#N <name> <size> done". */
  private onProgress(item: VertexStatus, records: BuildRecord[]): void {
    if (item.completedMs === null) return;
    const state = this.vertex(item.vertex);
    const name = item.name || item.id;
    const size =
      item.total > 0
        ? ` ${formatBytes(item.current)} / ${formatBytes(item.total)}`
        : item.current > 0
          ? ` ${formatBytes(item.current)}`
          : '';
    const took = item.startedMs !== null ? ` ${seconds(item.completedMs - item.startedMs)}` : '';
    this.say(state, `${name}${size}${took} done`, records);
  }

  /** A vertex's last output line, when it did not end with a newline. */
  private flushText(state: VertexState, records: BuildRecord[]): void {
    if (!state.text) return;
    for (const line of state.text.end()) this.say(state, `${line.text}`, records);
  }
}
