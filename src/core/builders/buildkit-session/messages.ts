import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

// The messages of BuildKit's session services, with the field numbers of moby/buildkit's
// session/filesync/filesync.proto, session/auth/auth.proto, session/secrets/secrets.proto,
// session/sshforward/ssh.proto, grpc's health/v1/health.proto, and tonistiigi/fsutil's
// types/wire.proto and types/stat.proto. Only the fields Slipway reads or writes are named; others
// are skipped on reading, as protobuf allows.

/** fsutil.types.Packet.PacketType */
export const PacketType = { stat: 0, req: 1, data: 2, fin: 3, err: 4 } as const;

/** fsutil.types.Stat, with the entry's mode as Go's os.FileMode (see goFileMode). */
export interface Stat {
  /** 1 */
  path: string;
  /** 2 */
  mode: number;
  /** 3, 4: the docker CLI sends the context as owned by root. */
  uid: number;
  gid: number;
  /** 5 */
  size: number;
  /** 6: nanoseconds since the epoch. */
  modTimeNs: bigint;
  /** 7 */
  linkname: string;
}

/** fsutil.types.Packet as the receiver sends it: a type, an id (REQ), data (ERR). */
export interface Packet {
  /** 1 */
  type: number;
  /** 3 */
  id: number;
  /** 4 */
  data: Uint8Array;
}

function readFields(bytes: Uint8Array, field: (reader: BinaryReader, number: number, type: WireType) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [number, type] = reader.tag();
    if (!field(reader, number, type)) reader.skip(type, number);
  }
}

function writeStat(writer: BinaryWriter, stat: Stat): void {
  writer.tag(1, WireType.LengthDelimited).string(stat.path);
  if (stat.mode) writer.tag(2, WireType.Varint).uint32(stat.mode);
  if (stat.uid) writer.tag(3, WireType.Varint).uint32(stat.uid);
  if (stat.gid) writer.tag(4, WireType.Varint).uint32(stat.gid);
  if (stat.size) writer.tag(5, WireType.Varint).int64(stat.size);
  if (stat.modTimeNs) writer.tag(6, WireType.Varint).int64(stat.modTimeNs);
  if (stat.linkname) writer.tag(7, WireType.LengthDelimited).string(stat.linkname);
}

/** A STAT packet; without a stat, the one that ends the walk. */
export function encodeStatPacket(stat: Stat | null): Uint8Array {
  const writer = new BinaryWriter();
  // PACKET_STAT is 0, proto3's default: the type field is left out.
  if (stat) {
    writer.tag(2, WireType.LengthDelimited).fork();
    writeStat(writer, stat);
    writer.join();
  }
  return writer.finish();
}

/** The head of a DATA packet carrying `dataBytes` bytes, written before the bytes themselves. */
export function encodeDataPacketHead(id: number, dataBytes: number): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(1, WireType.Varint).int32(PacketType.data);
  if (id) writer.tag(3, WireType.Varint).uint32(id);
  // A DATA packet with no bytes (the end of a file) has no data field.
  if (dataBytes > 0) writer.tag(4, WireType.LengthDelimited).uint32(dataBytes);
  return writer.finish();
}

export function encodePacket(type: number, data?: Uint8Array): Uint8Array {
  const writer = new BinaryWriter();
  if (type) writer.tag(1, WireType.Varint).int32(type);
  if (data?.length) writer.tag(4, WireType.LengthDelimited).bytes(data);
  return writer.finish();
}

export function decodePacket(bytes: Uint8Array): Packet {
  const packet: Packet = { type: 0, id: 0, data: new Uint8Array(0) };
  readFields(bytes, (reader, number, type) => {
    if (number === 1 && type === WireType.Varint) packet.type = reader.int32();
    else if (number === 3 && type === WireType.Varint) packet.id = reader.uint32();
    else if (number === 4 && type === WireType.LengthDelimited) packet.data = reader.bytes();
    else return false;
    return true;
  });
  return packet;
}

/** grpc.health.v1.HealthCheckResponse { status = 1 }: SERVING is 1. */
export function encodeHealthServing(): Uint8Array {
  return new BinaryWriter().tag(1, WireType.Varint).int32(1).finish();
}

/** moby.buildkit.secrets.v1.GetSecretRequest { ID = 1; annotations = 2 }: the id. */
export function decodeSecretRequest(bytes: Uint8Array): { id: string } {
  let id = '';
  readFields(bytes, (reader, number, type) => {
    if (number === 1 && type === WireType.LengthDelimited) id = reader.string();
    else return false;
    return true;
  });
  return { id };
}

/** A message whose only field 1 holds bytes: GetSecretResponse.data, sshforward.BytesMessage.data. */
export function encodeBytesMessage(data: Uint8Array): Uint8Array {
  const writer = new BinaryWriter();
  if (data.length > 0) writer.tag(1, WireType.LengthDelimited).bytes(data);
  return writer.finish();
}

export function decodeBytesMessage(bytes: Uint8Array): Uint8Array {
  let data: Uint8Array = new Uint8Array(0);
  readFields(bytes, (reader, number, type) => {
    if (number === 1 && type === WireType.LengthDelimited) data = reader.bytes();
    else return false;
    return true;
  });
  return data;
}

/** A message whose only field 1 is a string: CheckAgentRequest.ID, auth's CredentialsRequest.Host. */
export function decodeStringField(bytes: Uint8Array): string {
  let text = '';
  readFields(bytes, (reader, number, type) => {
    if (number === 1 && type === WireType.LengthDelimited) text = reader.string();
    else return false;
    return true;
  });
  return text;
}

/** moby.filesync.v1.CredentialsResponse { Username = 1; Secret = 2 }. */
export function encodeCredentials(username: string, secret: string): Uint8Array {
  const writer = new BinaryWriter();
  if (username) writer.tag(1, WireType.LengthDelimited).string(username);
  if (secret) writer.tag(2, WireType.LengthDelimited).string(secret);
  return writer.finish();
}

// Go's os.FileMode bits, which fsutil's Stat.mode carries (not the unix st_mode).
const GO_DIR = 0x80000000;
const GO_SYMLINK = 1 << 27;
const GO_DEVICE = 1 << 26;
const GO_NAMED_PIPE = 1 << 25;
const GO_SOCKET = 1 << 24;
const GO_SETUID = 1 << 23;
const GO_SETGID = 1 << 22;
const GO_CHAR_DEVICE = 1 << 21;
const GO_STICKY = 1 << 20;

/** Go's os.FileMode of a unix st_mode, as fsutil sends it. */
export function goFileMode(mode: number): number {
  let go = mode & 0o777;
  if (mode & 0o4000) go |= GO_SETUID;
  if (mode & 0o2000) go |= GO_SETGID;
  if (mode & 0o1000) go |= GO_STICKY;
  switch (mode & 0o170000) {
    case 0o040000:
      go |= GO_DIR;
      break;
    case 0o120000:
      go |= GO_SYMLINK;
      break;
    case 0o010000:
      go |= GO_NAMED_PIPE;
      break;
    case 0o140000:
      go |= GO_SOCKET;
      break;
    case 0o020000:
      go |= GO_DEVICE | GO_CHAR_DEVICE;
      break;
    case 0o060000:
      go |= GO_DEVICE;
      break;
  }
  return go >>> 0;
}
