import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

// moby.buildkit.v1.StatusResponse and its parts, as moby/buildkit's api/services/control/control.proto
// numbers their fields. Only what Slipway shows is kept; other fields are skipped as protobuf allows.

/** google.protobuf.Timestamp, as milliseconds since the epoch. */
export type TimestampMs = number;

export interface Vertex {
  /** 1: the vertex's digest, its id. */
  digest: string;
  /** 3 */
  name: string;
  /** 4 */
  cached: boolean;
  /** 5 */
  startedMs: TimestampMs | null;
  /** 6 */
  completedMs: TimestampMs | null;
  /** 7 */
  error: string;
}

export interface VertexStatus {
  /** 1 */
  id: string;
  /** 2: the digest of the vertex it belongs to. */
  vertex: string;
  /** 3 */
  name: string;
  /** 4 */
  current: number;
  /** 5 */
  total: number;
  /** 6 */
  timestampMs: TimestampMs | null;
  /** 7 */
  startedMs: TimestampMs | null;
  /** 8 */
  completedMs: TimestampMs | null;
}

export interface VertexLog {
  /** 1 */
  vertex: string;
  /** 2 */
  timestampMs: TimestampMs | null;
  /** 3: 1 stdout, 2 stderr. */
  stream: number;
  /** 4 */
  msg: Uint8Array;
}

export interface VertexWarning {
  /** 1 */
  vertex: string;
  /** 2 */
  level: number;
  /** 3 */
  short: Uint8Array;
  /** 4 */
  detail: Uint8Array[];
  /** 5 */
  url: string;
}

export interface StatusResponse {
  /** 1 */
  vertexes: Vertex[];
  /** 2 */
  statuses: VertexStatus[];
  /** 3 */
  logs: VertexLog[];
  /** 4 */
  warnings: VertexWarning[];
}

/** Reads the fields of one message with `field`, skipping the ones it does not take. */
function readMessage(reader: BinaryReader, end: number, field: (number: number, type: WireType) => boolean): void {
  while (reader.pos < end) {
    const [number, type] = reader.tag();
    if (!field(number, type)) reader.skip(type, number);
  }
}

function messageEnd(reader: BinaryReader): number {
  const length = reader.uint32();
  return reader.pos + length;
}

const toNumber = (value: bigint | string) => Number(value);

function timestamp(reader: BinaryReader): TimestampMs {
  const end = messageEnd(reader);
  let seconds = 0;
  let nanos = 0;
  readMessage(reader, end, (number, type) => {
    if (number === 1 && type === WireType.Varint) seconds = toNumber(reader.int64());
    else if (number === 2 && type === WireType.Varint) nanos = reader.int32();
    else return false;
    return true;
  });
  return seconds * 1000 + nanos / 1e6;
}

const LENGTH = WireType.LengthDelimited;
const VARINT = WireType.Varint;

function vertex(reader: BinaryReader): Vertex {
  const end = messageEnd(reader);
  const result: Vertex = { digest: '', name: '', cached: false, startedMs: null, completedMs: null, error: '' };
  readMessage(reader, end, (number, type) => {
    if (number === 1 && type === LENGTH) result.digest = reader.string();
    else if (number === 3 && type === LENGTH) result.name = reader.string();
    else if (number === 4 && type === VARINT) result.cached = reader.bool();
    else if (number === 5 && type === LENGTH) result.startedMs = timestamp(reader);
    else if (number === 6 && type === LENGTH) result.completedMs = timestamp(reader);
    else if (number === 7 && type === LENGTH) result.error = reader.string();
    else return false;
    return true;
  });
  return result;
}

function vertexStatus(reader: BinaryReader): VertexStatus {
  const end = messageEnd(reader);
  const result: VertexStatus = {
    id: '',
    vertex: '',
    name: '',
    current: 0,
    total: 0,
    timestampMs: null,
    startedMs: null,
    completedMs: null,
  };
  readMessage(reader, end, (number, type) => {
    if (number === 1 && type === LENGTH) result.id = reader.string();
    else if (number === 2 && type === LENGTH) result.vertex = reader.string();
    else if (number === 3 && type === LENGTH) result.name = reader.string();
    else if (number === 4 && type === VARINT) result.current = toNumber(reader.int64());
    else if (number === 5 && type === VARINT) result.total = toNumber(reader.int64());
    else if (number === 6 && type === LENGTH) result.timestampMs = timestamp(reader);
    else if (number === 7 && type === LENGTH) result.startedMs = timestamp(reader);
    else if (number === 8 && type === LENGTH) result.completedMs = timestamp(reader);
    else return false;
    return true;
  });
  return result;
}

function vertexLog(reader: BinaryReader): VertexLog {
  const end = messageEnd(reader);
  const result: VertexLog = { vertex: '', timestampMs: null, stream: 0, msg: new Uint8Array(0) };
  readMessage(reader, end, (number, type) => {
    if (number === 1 && type === LENGTH) result.vertex = reader.string();
    else if (number === 2 && type === LENGTH) result.timestampMs = timestamp(reader);
    else if (number === 3 && type === VARINT) result.stream = toNumber(reader.int64());
    else if (number === 4 && type === LENGTH) result.msg = reader.bytes();
    else return false;
    return true;
  });
  return result;
}

function vertexWarning(reader: BinaryReader): VertexWarning {
  const end = messageEnd(reader);
  const result: VertexWarning = { vertex: '', level: 0, short: new Uint8Array(0), detail: [], url: '' };
  readMessage(reader, end, (number, type) => {
    if (number === 1 && type === LENGTH) result.vertex = reader.string();
    else if (number === 2 && type === VARINT) result.level = toNumber(reader.int64());
    else if (number === 3 && type === LENGTH) result.short = reader.bytes();
    else if (number === 4 && type === LENGTH) result.detail.push(reader.bytes());
    else if (number === 5 && type === LENGTH) result.url = reader.string();
    else return false;
    return true;
  });
  return result;
}

/** Decodes one moby.buildkit.v1.StatusResponse; throws on bytes that are not one. */
export function decodeStatusResponse(bytes: Uint8Array): StatusResponse {
  const reader = new BinaryReader(bytes);
  const result: StatusResponse = { vertexes: [], statuses: [], logs: [], warnings: [] };
  readMessage(reader, reader.len, (number, type) => {
    if (type !== LENGTH) return false;
    if (number === 1) result.vertexes.push(vertex(reader));
    else if (number === 2) result.statuses.push(vertexStatus(reader));
    else if (number === 3) result.logs.push(vertexLog(reader));
    else if (number === 4) result.warnings.push(vertexWarning(reader));
    else return false;
    return true;
  });
  return result;
}
